"""Music on hold on the earpiece (edge/dsp/music.py) and what the pipeline does with it.

The music is bench/bench_music.py's (its own timbres, tempos, chords, vibrato, decays),
plus the call benchmark's hold_music() it was not tuned on; the speech is the caller's
(espeak-ng variants and, when the training extra is installed, the neural voice) on the
phone line in noise. The floors here sit under what bench_music measures (held-out seed).
"""

from __future__ import annotations

import numpy as np
import pytest

from bench import bench_music as bm
from seatwatch.edge.dsp.music import MusicDetector
from seatwatch.edge.policy import DeadAir, Hold
from seatwatch.edge.rules.base import Frame
from seatwatch.edge.rules.hold import HoldRule
from seatwatch.edge.rules.silence import DeadAirRule
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

RATE = PIPELINE_RATE
AFTER = 250                 # frames: the flag rises within 2.5 s of the music's start


def flags(frames: np.ndarray, block: int = 10) -> np.ndarray:
    return bm.detect(frames, block)


def on_line(x: np.ndarray, mulaw: bool, level: float = -26.0, noise: str | None = None,
            seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return bm.pcm_frames(bm.add_noise(bm.phone(x, level, mulaw), rng, noise, 20.0, []))


@pytest.mark.parametrize("piece", [0, 4, 8, 9, 12, 14], ids=lambda i: bm.PIECES[i][0] + str(i))
def test_hold_music_of_several_kinds_is_music(piece: int) -> None:
    timbre, bpm, chords, vibrato, drums, legato = bm.PIECES[piece]
    rng = np.random.default_rng(100 + piece)
    x = bm.music(rng, 12.0, timbre=timbre, bpm=bpm, chords=chords, vibrato=vibrato, drums=drums,
                 legato=legato)
    got = flags(on_line(x, mulaw=bool(piece % 2), noise="steady" if piece % 3 == 0 else None))
    assert got[:100].sum() == 0                     # it takes evidence: not in the first second
    assert got[AFTER:].mean() >= 0.85, (timbre, got[AFTER:].mean())


def test_the_call_benchmark_hold_music_is_music_too() -> None:
    from seatwatch.edge.callbench.render import hold_music

    got = flags(on_line(hold_music(np.random.default_rng(7), 12.0), mulaw=True))
    assert got[AFTER:].mean() >= 0.9


def test_caller_speech_in_noise_is_not_music() -> None:
    """Held-out sentences from 10 espeak-ng variants (and 3 neural voices when the
    training extra is there), each in quiet, steady noise or babble on the phone line."""
    items = bm.items(seed=2, espeak=10, neural=3, pieces=0)
    assert sum(1 for kind, *_ in items if kind == "speech") >= 10
    hit = total = 0
    for _, _, _, frames in items:
        music, speech = flags(frames), bm.vad_speech(frames)
        hit, total = hit + int((music & speech).sum()), total + int(speech.sum())
    assert total >= 100 * 60                         # a minute of speech at least
    assert hit / total <= 0.01, hit / total


@pytest.mark.parametrize("name", ["tone", "speechlike", "busy", "ringback", "noise"])
def test_tones_busy_tone_and_noise_are_not_music(name: str) -> None:
    t = np.arange(8 * RATE) / RATE
    sine = np.sin(2 * np.pi * 450 * t)
    x = {"tone": sine,                                                   # a dial tone: one note
         "speechlike": np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)),
         "busy": sine * ((t % 0.7) < 0.35),                              # 0.35 s on / off
         "ringback": sine * ((t % 5.0) < 1.0),
         "noise": np.random.default_rng(3).standard_normal(len(t))}[name]
    assert not flags(on_line(x.astype(np.float32), mulaw=True)).any()


def test_any_split_into_blocks_gives_the_same_flags() -> None:
    rng = np.random.default_rng(11)
    speech = bm.utterances(5, 1, 0)[0][1]
    x = np.concatenate([bm.music(rng, 9.0, timbre="piano", chords=True), np.zeros(RATE // 2), speech,
                        bm.music(rng, 6.0, timbre="flute", vibrato=0.006)])
    frames = on_line(x.astype(np.float32), mulaw=False)
    whole = MusicDetector().process(frames)
    assert whole.any() and not whole.all()
    for block in (1, 3, 10, 49, 50, 1000):
        assert np.array_equal(flags(frames, block), whole), block


def test_a_melody_with_440hz_notes_is_no_busy_tone_and_a_real_one_is_still_found() -> None:
    got = bm.busy_tone(quick=True)
    assert got["found_in_melodies_old_rule"] >= 3          # the cadence alone is fooled
    assert got["found_in_melodies_quiet_gap_rule"] == 0
    assert got["real_found"] == got["real_busy_tones_in_noise"]


# --- the hold rule told that music plays ------------------------------------------------

def hold_call(music_from: float | None) -> list[tuple[str, float, dict]]:
    """The agent speaks 1-4 s, the caller asks 4.5-8.5 s (takes the floor), then the line
    has music (or silence) from 9 s to 40 s; the agent says nothing more."""
    events: list[tuple[str, float, dict]] = []

    def report(kind: str, sample: int, data: dict) -> None:
        events.append((kind, sample / RATE, data))

    hold = HoldRule(report, Hold(), lambda sample: None)
    dead = DeadAirRule(report, DeadAir(), 0.0, hold=hold)
    for rule in (hold, dead):
        rule.call_started(0)
    for index in range(4000):
        t = (index + 1) / 100
        sample = (index + 1) * FRAME_SAMPLES
        playing = music_from is not None and t >= music_from
        if playing != hold.music_playing:
            hold.music(sample, playing)
        frame = Frame(sample, -30.0, -30.0, 1.0 <= t < 4.0, 4.5 <= t < 8.5, True)
        for rule in (hold, dead):
            rule.frame(frame)
    return events


def test_music_after_the_caller_spoke_is_a_wait_timed_from_the_music_not_dead_air() -> None:
    silent = hold_call(None)
    assert [(kind, round(t, 1)) for kind, t, _ in silent] == [("dead_air", 16.5)]
    music = hold_call(9.0)
    assert [(kind, round(t, 1)) for kind, t, _ in music] == [("hold_checkin_missed", 26.0)]
    assert music[0][2]["wait_from_s"] == pytest.approx(9.0, abs=0.02)
