"""`seatwatch analyze` on generated recordings: the documented contract, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from seatwatch.contracts.events import validate

RATE = 44_100  # deliberately not the pipeline's rate: analyze must resample


def speechlike(seconds: float, amp: float, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return amp * np.sin(2 * np.pi * 300 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t))


def write_call(path: Path, turns: list[tuple[int, float, float, float]], seconds: float,
               rate: int = RATE) -> Path:
    """turns: (channel, start s, end s, amplitude) on a quiet noise floor."""
    audio = np.random.default_rng(1).standard_normal((int(seconds * rate), 2)) * 1e-3
    for channel, start, end, amp in turns:
        seg = speechlike(end - start, amp, rate)
        audio[int(start * rate):int(start * rate) + len(seg), channel] += seg
    sf.write(str(path), audio.astype(np.float32), rate)
    return path


def analyze(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seatwatch.cli", "analyze", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


# These calls are speech-shaped noise, not words: the keyword and rate rules are switched
# off so the test is about levels and silences alone (the scenario tests cover the rest).
LEVELS_ONLY = """
name = "levels-only"
[greeting]
enabled = false
[closing]
enabled = false
[forbidden]
enabled = false
[speech_rate]
enabled = false
[volume]
min_speech_s = 2.0      # the 4 s loud section below is judged (the default wants 10 s of speech)
"""


def levels_only_policy(folder: Path, extra: str = "") -> Path:
    path = folder / "levels-only.toml"
    path.write_text(LEVELS_ONLY + extra, encoding="utf-8")
    return path


# A call with a known loud section (agent, 8-12 s) and a known silence (15.5-25 s) after
# the caller's question (3 s: a question takes the floor, a 好的 does not).
TURNS = [(0, 1.0, 3.0, 0.05), (1, 3.5, 7.5, 0.05), (0, 8.0, 12.0, 0.6), (1, 12.5, 15.5, 0.05),
         (0, 25.0, 27.0, 0.05), (1, 27.5, 29.0, 0.05)]


def test_loud_section_and_silence_yield_exactly_those_events(tmp_path: Path) -> None:
    result = analyze(write_call(tmp_path / "call.wav", TURNS, 30.0), "--seat", "A07",
                     "--policy", levels_only_policy(tmp_path))
    assert result.returncode == 0, result.stderr
    events = [validate(json.loads(line)) for line in result.stdout.splitlines()]
    assert [e.type for e in events] == ["call_started", "agent_volume_high", "dead_air",
                                        "call_ended"]
    assert {e.seat for e in events} == {"A07"} and len({e.call for e in events}) == 1
    started, loud, silence, ended = events
    assert started.t == 0.0 and ended.t == pytest.approx(30.0, abs=0.05)
    # the verdict is the energy mean of the last 2 s of agent speech (policy.volume
    # .min_speech_s): it fires once most of that window is the loud section (onset 8 s)
    assert 8.5 <= loud.t <= 10.5 and loud.data["dbfs"] >= loud.data["limit_dbfs"]
    # dead air is raised once both sides have been silent for 8 s: 15.5 s + 8 s
    assert silence.t == pytest.approx(23.5, abs=0.5) and silence.data["silence_s"] >= 8.0
    assert loud.t_call == loud.t  # off-hook at 0 without a control file
    card = ended.data["scorecard"]
    assert card["violations"] == {"agent_volume_high": 1, "dead_air": 1}
    assert card["longest_silence_s"] == pytest.approx(9.5, abs=0.5)
    assert 0 <= card["score"] < 100


def test_control_file_sets_the_call_window_and_rings(tmp_path: Path) -> None:
    audio = write_call(tmp_path / "call.flac", [(0, 9.0, 11.0, 0.05), (1, 11.5, 13.0, 0.05)],
                       16.0, rate=8000)
    control = tmp_path / "call.json"
    control.write_text(json.dumps({"events": [
        {"t": 0.2, "type": "ring"}, {"t": 3.2, "type": "ring"}, {"t": 6.2, "type": "ring"},
        {"t": 8.0, "type": "off_hook"}, {"t": 14.0, "type": "far_end_hangup"},
        {"t": 15.0, "type": "on_hook"}]}))
    # 12333's answer rule: within 2 rings
    result = analyze(audio, "--control", control,
                     "--policy", levels_only_policy(tmp_path, "[answer]\nmax_rings = 2\n"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["type"] for e in events] == ["call_started", "answer_late", "call_ended"]
    assert events[1]["data"] == {"rings": 3, "max_rings": 2}  # 12333: answer within 2 rings
    assert events[0]["t"] == 8.0 and events[-1]["t"] == 15.0 and events[-1]["t_call"] == 7.0
    assert events[-1]["data"]["scorecard"]["hung_up_first"] == "caller"


@pytest.mark.parametrize("case,reason", [
    ("missing", "no such file"), ("mono", "expected 2 channels"), ("garbage", "not a readable audio"),
    ("bad-control", "type 'hangup' is not one of"), ("control-json", "not a readable JSON"),
    ("no-models", "is missing (run `seatwatch models train`)"),
    ("corrupt-model", "is not a valid TFLite model"),
])
def test_bad_input_exits_non_zero_with_one_line_reason(tmp_path: Path, case: str,
                                                       reason: str) -> None:
    stereo = write_call(tmp_path / "ok.wav", [], 2.0)
    args: list[str | Path] = [stereo]
    if case == "missing":
        args = [tmp_path / "nope.wav"]
    elif case == "mono":
        sf.write(str(tmp_path / "mono.wav"), np.zeros(8000, np.float32), 8000)
        args = [tmp_path / "mono.wav"]
    elif case == "garbage":
        (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00not audio at all")
        args = [tmp_path / "junk.wav"]
    elif case == "bad-control":
        (tmp_path / "c.json").write_text('{"events": [{"t": 1, "type": "hangup"}]}')
        args += ["--control", tmp_path / "c.json"]
    elif case == "no-models":
        args += ["--models", tmp_path / "empty"]
    elif case == "corrupt-model":
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "kws.tflite").write_bytes(b"\x00" * 64)
        args += ["--models", tmp_path / "m"]
    else:
        (tmp_path / "c.json").write_text('{"events": [')
        args += ["--control", tmp_path / "c.json"]
    result = analyze(*args)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], result.stderr


def test_a_wav_cut_short_is_analysed_with_a_warning(tmp_path: Path) -> None:
    """Issue 15: a WAV whose header promises more audio than the file holds (a copy that
    stopped, a full disk) was analysed silently as a shorter call."""
    whole = tmp_path / "whole.wav"
    sf.write(str(whole), np.zeros((16_000 * 10, 2), np.int16), 16_000, subtype="PCM_16")
    data = whole.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) - 16_000 * 4 * 6 + 3])      # 6 s and part of a frame gone
    policy = levels_only_policy(tmp_path)
    result = analyze(cut, "--policy", policy)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == (f"seatwatch analyze: warning: {cut} is cut short: its header "
                                     "declares 10.0 s of audio, the file holds 4.0 s (the rest is "
                                     "analysed as if the call ended there)")
    # whole files, and other formats, say nothing
    assert analyze(whole, "--policy", policy).stderr == ""
    flac = tmp_path / "whole.flac"
    sf.write(str(flac), np.zeros((16_000 * 2, 2), np.int16), 16_000)
    assert analyze(flac, "--policy", policy).stderr == ""


def test_truncation_reads_the_riff_chunks() -> None:
    from seatwatch.edge.analyze import truncation
    assert truncation(Path("/nonexistent.wav")) is None
