"""The 60 s rate figures of the model card: the rule's verdict, not a mean of windows."""

from __future__ import annotations

import numpy as np
import pytest

from seatwatch.edge.dsp.features import logmel
from seatwatch.edge.models.rate import RateEstimator
from seatwatch.models.eval.evaluate import verdict_cpm


def _speechlike(seconds: float, seed: int = 3) -> np.ndarray:
    """Log-mel of amplitude-modulated noise: syllable-like bursts at ~4 Hz."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 16_000)
    t = np.arange(n) / 16_000
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 5) * t) ** 2
    return logmel((0.1 * envelope * rng.standard_normal(n)).astype(np.float32))[: int(seconds * 100)]


def test_verdict_weighs_the_first_reading_by_its_window_and_the_rest_by_a_second() -> None:
    rate = RateEstimator()
    frames = _speechlike(60.0)
    readings = [rate.estimate(frames[end - rate.window:end])
                for end in range(rate.window, len(frames) + 1, 100)]
    assert len(readings) == 46                      # 15 s, then one per new second of speech
    expected = (15 * readings[0] + sum(readings[1:])) / 60
    assert verdict_cpm(rate, frames) == pytest.approx(expected, abs=0.06)   # the rule rounds to 0.1


def test_verdict_refuses_less_speech_than_one_reading() -> None:
    with pytest.raises(ValueError, match="1500 speech frames"):
        verdict_cpm(RateEstimator(), _speechlike(10.0))
