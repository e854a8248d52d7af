"""Hearing safety through the seat pipeline: a daily dose that survives a restart, and shocks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seatwatch.contracts.events import Event
from seatwatch.edge.hearing.dose import FileLedger
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sources.base import PIPELINE_RATE, AudioBlock

RATE = PIPELINE_RATE


def earpiece(seconds: float, amp: float, hz: float = 1000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    pcm = np.zeros((len(t), 2), np.int16)
    pcm[:, 1] = (amp * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)
    return pcm


def run(pcm: np.ndarray, ledger: FileLedger, start: int = 0) -> list[Event]:
    events: list[Event] = []
    pipe = SeatPipeline(SeatContext("hq", "A01", "dev", agent="agent-7", file_times=True),
                        load_policy(), events.append, ledger=ledger, day_of=lambda s: "2026-11-25")
    for at in range(0, len(pcm), 1600):
        pipe.feed(AudioBlock(start + at, pcm[at:at + 1600]))
    pipe.finish()
    return events


def test_daily_dose_accumulates_across_restarts(tmp_path: Path) -> None:
    # 0.7 of full scale at 1 kHz on the generic headset: ~113.9 dB(A), so NIOSH allows
    # 8 h / 2^((113.9 - 85) / 3) ~ 36 s: 50 % of the day's dose after ~18 s
    ledger = FileLedger(tmp_path)
    first = run(earpiece(12.0, 0.7), ledger)
    assert [e.type for e in first] == []
    dose, crossed = ledger.load("agent-7", "2026-11-25")
    assert 0.30 < dose < 0.36 and crossed == []
    second = run(earpiece(30.0, 0.7), ledger)          # the daemon restarted; same agent, same day
    marks = [(e.data["mark"], e.t) for e in second if e.type == "earpiece_exposure"]
    assert [m for m, _ in marks] == ["dose_50pct", "dose_100pct"]
    assert marks[0][1] == pytest.approx(6.0, abs=1.0) and marks[1][1] == pytest.approx(24.0, abs=1.5)
    assert all(e.data["agent"] == "agent-7" and e.severity == "warn" for e in second)
    assert run(earpiece(5.0, 0.7), ledger) == []       # each mark once per day


def test_acoustic_shock_on_a_peak_over_the_limit(tmp_path: Path) -> None:
    pcm = np.concatenate([earpiece(1.0, 0.02), earpiece(0.3, 0.98, 3150.0), earpiece(3.0, 0.02),
                          earpiece(0.3, 0.98, 3150.0)])
    events = run(pcm, FileLedger(tmp_path))
    shocks = [e for e in events if e.type == "acoustic_shock"]
    assert [round(e.t or 0, 1) for e in shocks] == [1.0, 4.3]     # one per burst, at its start
    assert shocks[0].data["peak_db_spl"] > shocks[0].data["limit_db_spl"] == 118.0
    assert shocks[0].severity == "alert"


def test_a_speech_peak_over_the_limit_is_no_shock(tmp_path: Path) -> None:
    # loud speech has sample peaks 20 dB over its level: a click of the limit's height in
    # each 10 ms frame of -20 dBFS sound is a crest, not a burst of acoustic energy
    pcm = earpiece(3.0, 0.1 * np.sqrt(2))                  # -20 dBFS RMS
    pcm[80::160, 1] = 32000                                # one -0.2 dBFS sample per frame
    assert [e.type for e in run(pcm, FileLedger(tmp_path)) if e.type == "acoustic_shock"] == []
    pcm[:, 1] = earpiece(3.0, 0.6)[:, 1]                   # -7.4 dBFS RMS: 112.6 dB SPL
    pcm[80::160, 1] = 32000
    assert "acoustic_shock" in [e.type for e in run(pcm, FileLedger(tmp_path))]   # a loud burst is
