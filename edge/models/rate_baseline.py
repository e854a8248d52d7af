"""Classical speech-rate baseline: syllable nuclei as intensity peaks (de Jong & Wempe 2009).

A nucleus is a peak of the smoothed intensity contour that rises at least `min_dip_db`
above the dips on both sides and lies within `below_max_db` of the loudest frame. The
original also asks for voicing (a pitch); the input here is already VAD-gated speech,
so that check is left out.
"""

from __future__ import annotations

import numpy as np


def count_nuclei(levels_db: np.ndarray, *, min_dip_db: float = 2.0, below_max_db: float = 25.0,
                 smooth_frames: int = 5) -> int:
    levels = np.asarray(levels_db, np.float64)
    levels = levels[levels > -119.0]
    if len(levels) < 3:
        return 0
    kernel = np.hanning(smooth_frames + 2)[1:-1]
    contour = np.convolve(levels, kernel / kernel.sum(), mode="same")
    floor = contour.max() - below_max_db
    count, dip, peak = 0, contour[0], None
    for value in contour[1:]:
        if peak is None:
            if value < dip:
                dip = value
            elif value - dip >= min_dip_db and value > floor:
                peak = value
        elif value > peak:
            peak = value
        elif peak - value >= min_dip_db:   # fell back: that peak was a nucleus
            count += 1
            peak, dip = None, value
    return count + (1 if peak is not None else 0)


def rate_cpm(levels_db: np.ndarray, frame_s: float = 0.01) -> float:
    """Syllables per minute over the given speech frames."""
    speech = np.asarray(levels_db)[np.asarray(levels_db) > -119.0]
    if not len(speech):
        return 0.0
    return count_nuclei(speech) / (len(speech) * frame_s) * 60.0
