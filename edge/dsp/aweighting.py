"""A-weighting (IEC 61672) as a streaming IIR filter at the pipeline rate.

The analog A curve (poles at 20.6, 107.7, 737.9 and 12194 Hz, four zeros at 0 Hz) goes
through the bilinear transform, then is scaled to 0 dB at 1 kHz. At 16 kHz the
bilinear warping bends the top octave (above ~5 kHz), where an earpiece line carries
little energy; the speech band is within a fraction of a dB of the standard.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal

from seatwatch.edge.sources.base import PIPELINE_RATE

_POLES_HZ = (20.598997, 107.65265, 737.86223, 12194.217)


@functools.lru_cache(maxsize=4)
def a_weighting(rate: int = PIPELINE_RATE) -> tuple[np.ndarray, np.ndarray]:
    f1, f2, f3, f4 = _POLES_HZ
    w = [2 * np.pi * f for f in (f1, f1, f2, f3, f4, f4)]
    zeros = np.zeros(4)
    b, a = signal.zpk2tf(zeros, -np.array(w), 1.0)
    bz, az = signal.bilinear(b, a, rate)
    _, h = signal.freqz(bz, az, worN=[1000.0], fs=rate)
    return bz / abs(h[0]), az


class AWeighting:
    """Filter audio blocks in order; the state carries across blocks."""

    def __init__(self, rate: int = PIPELINE_RATE) -> None:
        self.b, self.a = a_weighting(rate)
        self._zi = np.zeros(max(len(self.a), len(self.b)) - 1)

    def process(self, x: np.ndarray) -> np.ndarray:
        y, self._zi = signal.lfilter(self.b, self.a, x, zi=self._zi)
        return np.asarray(y)


def response_db(hz: float, rate: int = PIPELINE_RATE) -> float:
    b, a = a_weighting(rate)
    _, h = signal.freqz(b, a, worN=[hz], fs=rate)
    return float(20 * np.log10(abs(h[0])))
