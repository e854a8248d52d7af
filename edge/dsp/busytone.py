"""Busy-tone detector for the earpiece: the far end hung up (N12).

China's busy tone is 450 Hz, 0.35 s on / 0.35 s off. A frame is "tone" when one
frequency carries most of its energy (a single-bin DFT against the frame's power); the
far end is gone once two tone bursts with the policy's cadence are seen. Speech never
holds 90 % of its energy in one bin for a third of a second, twice, in rhythm.
"""

from __future__ import annotations

import numpy as np

from edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

TONE_SHARE = 0.7           # fraction of frame power in the tone bin
MIN_LEVEL_DBFS = -50.0
TOLERANCE = 0.4            # burst and gap lengths may be off by this fraction


def tone_share(frames: np.ndarray, hz: float, rate: int = PIPELINE_RATE) -> np.ndarray:
    """(n, FRAME_SAMPLES) float frames -> share of each frame's power at `hz` (0..~1)."""
    t = np.arange(frames.shape[1]) / rate
    re = frames @ np.cos(2 * np.pi * hz * t)
    im = frames @ np.sin(2 * np.pi * hz * t)
    tone = 2.0 * (re * re + im * im) / frames.shape[1] ** 2
    power = np.mean(frames * frames, axis=1)
    return np.where(power > 0, tone / np.maximum(power, 1e-20), 0.0)


class BusyToneDetector:
    def __init__(self, on_s: float, off_s: float) -> None:
        frame_s = FRAME_SAMPLES / PIPELINE_RATE
        self._on = (on_s * (1 - TOLERANCE) / frame_s, on_s * (1 + TOLERANCE) / frame_s)
        self._off = (off_s * (1 - TOLERANCE) / frame_s, off_s * (1 + TOLERANCE) / frame_s)
        self.reset()

    def reset(self) -> None:
        self._tone = False
        self._run = 0                      # frames in the current on/off run
        self._bursts: list[int] = []       # start samples of bursts in cadence so far
        self._burst_start = 0

    def update(self, sample: int, share: float, level_dbfs: float) -> int | None:
        """Feed one frame; returns the first burst's start sample once the cadence is confirmed."""
        tone = share >= TONE_SHARE and level_dbfs >= MIN_LEVEL_DBFS
        if tone == self._tone:
            self._run += 1
            if not tone and self._run > self._off[1]:
                self._bursts.clear()       # the gap went on too long: not a cadence
            return None
        ended, length = self._tone, self._run
        self._tone, self._run = tone, 1
        if ended:                          # a burst just ended
            if self._on[0] <= length <= self._on[1]:
                self._bursts.append(self._burst_start)
                if len(self._bursts) >= 2:
                    first = self._bursts[0]
                    self._bursts.clear()
                    return first
            else:
                self._bursts.clear()
        else:                              # a burst just started after a gap
            if self._bursts and not self._off[0] <= length <= self._off[1]:
                self._bursts.clear()
            self._burst_start = sample - FRAME_SAMPLES
        return None
