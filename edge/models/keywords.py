"""Streaming keyword spotting on the agent channel's log-mel frames.

Every `hop` frames the model sees the last 2 s; its posteriors are smoothed over the
last few inferences (bounded deque), compared with per-keyword thresholds, and a fired
keyword is silent for its refractory time so one utterance gives one detection.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.models.loader import ModelError, TfliteModel

MODEL_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class KeywordHit:
    label: str
    score: float
    frame: int          # feature frame index (10 ms) at which it fired


@dataclass(frozen=True)
class KwsConfig:
    labels: tuple[str, ...]
    window: int                     # frames per inference
    hop: int                        # frames between inferences
    smooth: int                     # inferences averaged
    thresholds: dict[str, float]
    refractory_frames: int

    @classmethod
    def load(cls, path: Path) -> KwsConfig:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(doc["labels"]), int(doc["window"]), int(doc["hop"]),
                       int(doc["smooth"]), {k: float(v) for k, v in doc["thresholds"].items()},
                       int(doc["refractory_frames"]))
        except FileNotFoundError:
            raise ModelError(f"keyword config {path} is missing (run `seatwatch models train`)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"keyword config {path} is invalid ({exc})") from None


class KeywordSpotter:
    def __init__(self, model: Path = MODEL_DIR / "kws.tflite",
                 config: Path | None = None, thresholds: dict[str, float] | None = None) -> None:
        self.model = TfliteModel(model)
        self.cfg = KwsConfig.load(config or model.with_suffix(".json"))
        self.thresholds = {**self.cfg.thresholds, **(thresholds or {})}
        self._frames: deque[np.ndarray] = deque(maxlen=self.cfg.window)
        self._post: deque[np.ndarray] = deque(maxlen=self.cfg.smooth)
        self._quiet_until: dict[str, int] = {}
        self._count = 0                         # frames seen
        self.inferences = 0

    def reset(self) -> None:
        self._frames.clear()
        self._post.clear()
        self._quiet_until.clear()

    def push(self, frames: np.ndarray, active: bool = True) -> list[KeywordHit]:
        """Add feature frames; `active=False` (no speech in the window) skips inference."""
        hits: list[KeywordHit] = []
        for frame in frames:
            self._frames.append(frame)
            self._count += 1
            if len(self._frames) == self.cfg.window and self._count % self.cfg.hop == 0:
                if active:
                    hits.extend(self._infer())
                else:
                    self._post.clear()
        return hits

    def posteriors(self, window: np.ndarray) -> np.ndarray:
        x = window.astype(np.float32)
        x = x - x.mean()
        self.inferences += 1
        return self.model.run(x[None])[0]

    def _infer(self) -> list[KeywordHit]:
        self._post.append(self.posteriors(np.stack(self._frames)))
        smoothed = np.mean(self._post, axis=0)
        hits = []
        for index, label in enumerate(self.cfg.labels):
            threshold = self.thresholds.get(label)
            if threshold is None or smoothed[index] < threshold:
                continue
            if self._count < self._quiet_until.get(label, 0):
                continue
            self._quiet_until[label] = self._count + self.cfg.refractory_frames
            hits.append(KeywordHit(label, float(smoothed[index]), self._count))
        return hits
