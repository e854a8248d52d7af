"""Busy-tone detector for the earpiece: the far end hung up (N12).

China's busy tone is 450 Hz, 0.35 s on / 0.35 s off. A frame is "tone" when one
frequency carries most of its energy (a single-bin DFT against the frame's power); the
far end is gone once a tone burst, a gap and the start of the next burst follow the
policy's cadence. Speech never
holds 90 % of its energy in one bin for a third of a second, twice, in rhythm.

A melody can: hold music with a 440 Hz note (a 10 ms frame does not tell 440 from
450 Hz), another note, and 440 Hz again is a burst, a gap and a burst. What a busy tone
has and a melody lacks is the silence between its bursts: the gap must be GAP_DROP_DB
quieter (mean power) than the burst before it. The pipeline also gives the detector no
tone during frames the music detector (edge/dsp/music.py) calls music.
"""

from __future__ import annotations

import numpy as np

from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

TONE_SHARE = 0.7           # fraction of frame power in the tone bin
MIN_LEVEL_DBFS = -50.0
TOLERANCE = 0.4            # burst and gap lengths may be off by this fraction
CONFIRM_FRAMES = 5         # 50 ms of the second burst
GAP_DROP_DB = 10.0         # the gap's mean level under the burst's, at least


def tone_share(frames: np.ndarray, hz: float, rate: int = PIPELINE_RATE) -> np.ndarray:
    """(n, FRAME_SAMPLES) float frames -> share of each frame's power at `hz` (0..~1).

    einsum, not BLAS: a frame's share is the same bits whatever the block holding it
    (BLAS picks kernels by matrix size), so a replay in 10 s blocks decides as in 100 ms
    ones."""
    t = np.arange(frames.shape[1]) / rate
    x = frames.astype(np.float64)
    re = np.einsum("ns,s->n", x, np.cos(2 * np.pi * hz * t))
    im = np.einsum("ns,s->n", x, np.sin(2 * np.pi * hz * t))
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
        self._first: int | None = None     # start sample of a burst with the right length
        self._gap_ok = False               # ... followed by a gap with the right length
        self._burst_start = 0
        self._power = 0.0                  # summed frame power of the current run
        self._burst_power = 0.0            # mean frame power of the last burst

    def update(self, sample: int, share: float, level_dbfs: float) -> int | None:
        """Feed one frame; the first burst's start sample once the cadence is confirmed:
        a burst of the right length, a gap of the right length, and the next burst under
        way for CONFIRM_FRAMES (the agent may hang up before it ends)."""
        tone = share >= TONE_SHARE and level_dbfs >= MIN_LEVEL_DBFS
        if tone != self._tone:
            ended, length = self._tone, self._run
            mean = self._power / max(1, length)
            self._tone, self._run, self._power = tone, 0, 0.0
            if ended:                      # a burst just ended
                in_cadence = self._on[0] <= length <= self._on[1]
                self._first = self._burst_start if in_cadence else None
                self._burst_power = mean
                self._gap_ok = False
            else:                          # a burst just started after a gap
                quiet = mean <= self._burst_power * 10 ** (-GAP_DROP_DB / 10)
                self._gap_ok = (self._first is not None and quiet
                                and self._off[0] <= length <= self._off[1])
                if not self._gap_ok:
                    self._first = None
                self._burst_start = sample - FRAME_SAMPLES
        self._run += 1
        self._power += 10 ** (level_dbfs / 10)
        if tone and self._gap_ok and self._run >= CONFIRM_FRAMES and self._first is not None:
            first = self._first
            self.reset()
            return first
        return None

    def skip_silent(self, shares: np.ndarray, levels_dbfs: np.ndarray) -> bool:
        """Frames that `update` would see one by one: when no frame is tone and none was
        before them, the only change is the gap growing. Then take them at once and
        return True; otherwise change nothing and return False (feed `update`)."""
        if self._tone or bool(np.any((shares >= TONE_SHARE) & (levels_dbfs >= MIN_LEVEL_DBFS))):
            return False
        self._run += len(shares)
        self._power += float(np.sum(10 ** (np.asarray(levels_dbfs, np.float64) / 10)))
        return True
