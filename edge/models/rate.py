"""Speaking rate of the agent: characters per minute over the last 15 s of speech.

Only frames the VAD calls agent speech are kept (a bounded deque), so pauses and the
caller's turns do not dilute the rate; the model runs once per `every` new speech
frames after the window has filled.

A regression trained on mean squared error pulls its answers toward the middle of the
training range (read 0.89 x the true rate + 8-10 cpm on the benchmark's calls of both
voice families): `rate.json` may carry a linear `calibration` {slope, intercept} of the
raw output against the truth, fitted on calls the benchmark does not score
(`seatwatch eval --fit-rate`), which the estimator inverts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seatwatch.edge.dsp.features import remove_window_mean
from seatwatch.edge.models.loader import TfliteModel
from seatwatch.edge.resources import data_dir

MODEL_DIR = data_dir("models")
SCALE = 100.0


@dataclass(frozen=True)
class RateEstimate:
    cpm: float
    window_s: float
    frame: int              # speech frames seen when estimated


class RateEstimator:
    def __init__(self, model: Path = MODEL_DIR / "rate.tflite", every: int = 100) -> None:
        self.model = TfliteModel(model)
        self.window = self.model.input_shape[1]
        self.slope, self.intercept = raw_calibration(model.with_suffix(".json"))
        self.every = every
        self._tail = np.zeros((0, 0), np.float32)    # the last `window` speech frames
        self._since = 0
        self.speech_frames = 0

    def reset(self) -> None:
        self._tail = np.zeros((0, 0), np.float32)
        self._since = 0

    def estimate(self, frames: np.ndarray) -> float:
        """cpm of a (window, 40) block of speech frames."""
        return self.calibrated(float(self.model.run(remove_window_mean(frames)[None])[0][0]) * SCALE)

    def calibrated(self, raw_cpm: float) -> float:
        return (raw_cpm - self.intercept) / self.slope

    def push(self, frames: np.ndarray) -> list[tuple[int, RateEstimate]]:
        """Add speech frames; (index into `frames`, estimate) whenever one is due: the
        window is full and `every` speech frames came since the last estimate."""
        if not len(frames):
            return []
        data = frames if not len(self._tail) else np.concatenate([self._tail, frames])
        n, base = len(frames), len(data) - len(frames)
        # frame `index` is due when the window ending there is full and `every` frames
        # came since the last estimate (the counter restarts at each estimate)
        due = list(range(max(self.every - self._since - 1, self.window - base - 1, 0), n, self.every))
        self._since = n - 1 - due[-1] if due else self._since + n
        first = self.speech_frames + 1
        self.speech_frames += n
        self._tail = data[-self.window:]
        if not due:
            return []
        windows = np.stack([data[base + index + 1 - self.window:base + index + 1] for index in due])
        out = self.model.run_batch(remove_window_mean(windows))
        return [(index, RateEstimate(self.calibrated(float(value[0]) * SCALE), self.window / 100.0,
                                     first + index))
                for index, value in zip(due, out, strict=True)]


def raw_calibration(config: Path) -> tuple[float, float]:
    """(slope, intercept) of the raw output against the true rate, from the model's JSON
    (identity when it has none). A bad one is refused by name: a rate is a verdict."""
    if not config.exists():
        return 1.0, 0.0
    doc = json.loads(config.read_text(encoding="utf-8")).get("calibration")
    if doc is None:
        return 1.0, 0.0
    slope, intercept = float(doc["slope"]), float(doc["intercept"])
    if not 0.5 <= slope <= 2.0 or abs(intercept) > 100:
        raise ValueError(f"{config}: calibration slope {slope} / intercept {intercept} out of range "
                         "(0.5-2.0, +-100 cpm)")
    return slope, intercept


def composed(old: tuple[float, float], fit: tuple[float, float]) -> tuple[float, float]:
    """A calibration fitted on already calibrated output, composed with the one in use:
    raw = a0 * x + b0 with x = a1 * truth + b1."""
    (a0, b0), (a1, b1) = old, fit
    return a0 * a1, b0 + a0 * b1
