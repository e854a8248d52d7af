"""The Mellotron voice family's pure parts: the speaker split, voice names, the check that
throws out a failed Tacotron render, and the message when its environment is missing (the
voices themselves need PyTorch, kept out of CI: `make voices`)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from seatwatch.models.synth import mellotron as ms
from seatwatch.models.synth.speech import SynthError


def test_held_out_speakers_never_train_and_names_round_trip() -> None:
    assert not set(ms.TRAIN_SPEAKERS) & set(ms.TEST_SPEAKERS)
    voice = ms.test_voice(random.Random(1), 150.0)
    parsed = ms.parse(voice)
    assert parsed.speaker in ms.TEST_SPEAKERS and parsed.stretch == pytest.approx(2.0)
    assert ms.is_mellotron(voice) and not ms.is_mellotron("nz:1.00:1.00:1.00:1.000")
    with pytest.raises(SynthError, match="ms:SPEAKER:STRETCH"):
        ms.parse("ms:Nobody:1.0")


def _speech(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * ms.RATE)) / ms.RATE
    return (0.2 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)


def test_a_render_whose_pace_no_speaker_has_is_thrown_out() -> None:
    text = "请问有什么可以帮您"                     # 9 characters
    assert ms.plausible(_speech(9 / 300 * 60), text, 1.0)          # 300 cpm: the voices' own pace
    assert ms.plausible(_speech(9 / 150 * 60), text, 2.0)          # stretched to 150: 300 before
    assert not ms.plausible(_speech(0.3), text, 1.0)               # the decoder stopped early
    assert not ms.plausible(_speech(9.0), text, 1.0)               # it babbled on
    assert not ms.plausible(np.zeros(16_000, np.float32), text, 1.0)


def test_a_missing_voice_environment_says_how_to_build_it(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setenv("SEATWATCH_VOICES_PYTHON", str(tmp_path / "none" / "python"))
    monkeypatch.setenv("SEATWATCH_CACHE", str(tmp_path))
    with pytest.raises(SynthError, match="make voices"):
        ms.render_many([("您好", ms.MellotronVoice("Aida"))])


def test_rate_windows_leave_out_the_sentences_a_speaker_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    from seatwatch.models.synth import dataset

    failed = {"坏句一", "坏句二"}
    monkeypatch.setattr(ms, "render_many", lambda jobs, workers=2: [
        None if text in failed else np.zeros(10, np.float32) for text, _voice in jobs])
    rng = random.Random(3)
    train = dataset.mellotron_voice(rng, 100.0, "train")
    test = dataset.mellotron_voice(rng, 100.0, "test")
    assert ms.parse(train).speaker in ms.TRAIN_SPEAKERS and ms.parse(test).speaker in ms.TEST_SPEAKERS
    assert ms.parse(train).stretch == pytest.approx(3.0)
    plans = [("m3", 120, 50, ["坏句一", "好句"], 1, 0),          # espeak-ng: never rendered here
             (train, 0, 0, ["好句", "坏句一", "另一句"], 2, 0),
             (test, 0, 0, ["坏句一", "坏句二", "好句"], 3, 0)]
    kept = dataset.without_failed_renders(plans, workers=1)
    assert kept == [plans[0], (train, 0, 0, ["好句", "另一句"], 2, 0)]
