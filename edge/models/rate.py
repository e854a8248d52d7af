"""Speaking rate of the agent: characters per minute over the last 15 s of speech.

Only frames the VAD calls agent speech are kept (a bounded deque), so pauses and the
caller's turns do not dilute the rate; the model runs once per `every` new speech
frames after the window has filled.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.models.loader import TfliteModel

MODEL_DIR = Path(__file__).resolve().parents[2] / "models"
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
        self.every = every
        self._frames: deque[np.ndarray] = deque(maxlen=self.window)
        self._since = 0
        self.speech_frames = 0

    def reset(self) -> None:
        self._frames.clear()
        self._since = 0

    def estimate(self, frames: np.ndarray) -> float:
        """cpm of a (window, 40) block of speech frames."""
        x = frames.astype(np.float32)
        x = x - x.mean()
        return float(self.model.run(x[None])[0][0]) * SCALE

    def push(self, frame: np.ndarray) -> RateEstimate | None:
        """Add one speech frame; an estimate when the window is full and one is due."""
        self._frames.append(frame)
        self._since += 1
        self.speech_frames += 1
        if len(self._frames) < self.window or self._since < self.every:
            return None
        self._since = 0
        return RateEstimate(self.estimate(np.stack(self._frames)), self.window / 100.0,
                            self.speech_frames)
