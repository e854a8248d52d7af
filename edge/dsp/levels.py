"""Per-channel levels of 10 ms frames: RMS and peak in dBFS (full scale = int16 max)."""

from __future__ import annotations

import numpy as np

from seatwatch.edge.sources.base import FRAME_SAMPLES

FLOOR_DBFS = -120.0  # digital silence is reported as this, not -inf


def frame_levels(pcm: np.ndarray, frame: int = FRAME_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """RMS and peak dBFS per whole frame and channel of int16 (n, ch) audio.

    Returns two float arrays of shape (n // frame, ch); a trailing partial frame is ignored
    (the caller carries it over to the next block).
    """
    count = len(pcm) // frame
    frames = pcm[: count * frame].astype(np.float32).reshape(count, frame, pcm.shape[1]) / 32768.0
    power = np.einsum("fsc,fsc->fc", frames, frames) / frame
    rms = 10.0 * np.log10(np.maximum(power, 10 ** (FLOOR_DBFS / 10)))
    # the largest magnitude per frame, reduced along a contiguous axis (along the strided
    # sample axis numpy takes ~20x longer; a maximum is the same in any order)
    top = np.abs(np.ascontiguousarray(frames.transpose(0, 2, 1))).max(axis=2)
    peak = 20.0 * np.log10(np.maximum(top, 10 ** (FLOOR_DBFS / 20)))
    return rms, peak
