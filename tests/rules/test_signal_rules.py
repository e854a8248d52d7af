"""Pure signal pieces of the rule engine: busy tone, A-weighting, dose, LED feedback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seatwatch.edge.dsp.aweighting import AWeighting, response_db
from seatwatch.edge.dsp.busytone import BusyToneDetector, tone_share
from seatwatch.edge.feedback import LedFeedback
from seatwatch.edge.hearing.calibration import CalibrationError, load_profile
from seatwatch.edge.hearing.dose import FileLedger, dose_rate_per_s, lex_dba, marks
from seatwatch.edge.policy import Feedback, Hearing
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

RATE = PIPELINE_RATE


def tone(hz: float, seconds: float, amp: float = 0.1) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def run_detector(audio: np.ndarray, on_s: float = 0.35, off_s: float = 0.35) -> int | None:
    frames = audio[: len(audio) // FRAME_SAMPLES * FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
    shares = tone_share(frames * 32768, 450.0)
    levels = 10 * np.log10(np.maximum(np.mean(frames ** 2, axis=1), 1e-12))
    detector = BusyToneDetector(on_s, off_s)
    for index, (share, level) in enumerate(zip(shares, levels, strict=True)):
        found = detector.update((index + 1) * FRAME_SAMPLES, float(share), float(level))
        if found is not None:
            return found
    return None


def busy(cycles: int, on_s: float = 0.35, off_s: float = 0.35) -> np.ndarray:
    return np.concatenate([np.concatenate([tone(450, on_s), np.zeros(int(off_s * RATE), np.float32)])
                           for _ in range(cycles)])


def test_busy_tone_cadence_is_found_at_its_first_burst() -> None:
    lead = np.random.default_rng(0).normal(0, 0.01, RATE * 2).astype(np.float32)
    found = run_detector(np.concatenate([lead, busy(4)]))
    assert found is not None and abs(found / RATE - 2.0) <= 0.02


@pytest.mark.parametrize("audio", [
    tone(450, 3.0),                                             # a steady tone is not busy
    busy(4, on_s=1.0, off_s=1.0),                               # ring-back-like, wrong cadence
    np.random.default_rng(1).normal(0, 0.05, RATE * 3).astype(np.float32),  # noise
    np.concatenate([tone(1000, 0.35), np.zeros(5600, np.float32)] * 4),     # wrong frequency
])
def test_busy_tone_rejects_other_sounds(audio: np.ndarray) -> None:
    assert run_detector(audio) is None


def test_a_weighting_matches_the_standard_in_the_speech_band() -> None:
    # IEC 61672 values: 100 Hz -19.1, 500 Hz -3.2, 1 kHz 0, 2 kHz +1.2 dB
    for hz, expected in ((100, -19.1), (500, -3.2), (1000, 0.0), (2000, 1.2)):
        assert response_db(hz) == pytest.approx(expected, abs=0.3)
    weighted = AWeighting()
    x = tone(100, 1.0, 0.5).astype(np.float64)
    y = np.concatenate([weighted.process(x[i:i + 999]) for i in range(0, len(x), 999)])
    level = 20 * np.log10(np.sqrt(np.mean(y[RATE // 2:] ** 2)) / np.sqrt(np.mean(x[RATE // 2:] ** 2)))
    assert level == pytest.approx(-19.1, abs=0.4)   # block by block, state carried over


def test_niosh_dose_and_eu_action_values() -> None:
    niosh = Hearing()
    # 85 dB(A) for 8 h is exactly 100 %; 88 dB(A) uses it in 4 h
    assert float(dose_rate_per_s(np.array(85.0), niosh)) * 8 * 3600 == pytest.approx(1.0)
    assert float(dose_rate_per_s(np.array(88.0), niosh)) * 4 * 3600 == pytest.approx(1.0)
    assert lex_dba(0.5, niosh) == pytest.approx(82.0)
    assert [m.dose for m in marks(niosh)] == [0.5, 1.0]
    eu = Hearing(standard="eu")
    lower, upper = marks(eu)
    assert lex_dba(lower.dose, eu) == pytest.approx(80.0) and upper.dose == pytest.approx(1.0)


def test_dose_ledger_survives_a_restart_and_a_torn_file(tmp_path: Path) -> None:
    FileLedger(tmp_path).save("agent7", "2026-11-25", 0.42, ["dose_50pct"])
    assert FileLedger(tmp_path).load("agent7", "2026-11-25") == (0.42, ["dose_50pct"])
    assert FileLedger(tmp_path).load("agent7", "2026-11-26") == (0.0, [])
    (tmp_path / "dose" / "2026-11-25" / "agent7.json").write_text('{"dose": 0.4')
    assert FileLedger(tmp_path).load("agent7", "2026-11-25") == (0.0, [])


def test_calibration_profile_errors_name_the_problem(tmp_path: Path) -> None:
    assert load_profile("generic").ear_db_spl_at_0dbfs > 100
    with pytest.raises(CalibrationError, match="not found.*known: generic"):
        load_profile("nope")
    (tmp_path / "bad.toml").write_text('name = "bad"\near_db_spl_at_0dbfs = 500\nmic_db_spl_at_0dbfs = 120\n')
    with pytest.raises(CalibrationError, match="outside"):
        load_profile("bad", tmp_path)


def test_led_feedback_informs_rather_than_nags() -> None:
    sent: list[str] = []
    led = LedFeedback(Feedback(min_interval_s=20.0), sent.append)
    second = RATE
    led.on_event("speech_rate_high", 1 * second)
    led.on_event("agent_volume_high", 5 * second)        # too soon: held back
    led.nudge("hold_checkin_due", 6 * second)             # urgent: always shown
    led.on_event("agent_volume_high", 27 * second)      # 21 s after the last LED change
    led.on_event("call_started", 28 * second)             # not a nudge
    led.call_scored(95.0, 30 * second)
    assert sent == ["slow_down", "hold_checkin_due", "too_loud", "all_good"]
    assert led.suppressed == 1
    quiet: list[str] = []
    LedFeedback(Feedback(enabled=False), quiet.append).on_event("speech_rate_high", 0)
    assert quiet == []
