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

from edge.dsp.features import remove_window_mean
from edge.models.loader import ModelError, TfliteModel

MODEL_DIR = Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class KeywordHit:
    label: str
    score: float
    frame: int          # feature frame index (10 ms) at which it fired
    confirmed: bool = True  # False: over the label's floor only, below its calibrated threshold


@dataclass(frozen=True)
class KwsConfig:
    labels: tuple[str, ...]
    window: int                     # frames per inference
    hop: int                        # frames between inferences
    smooth: int                     # inferences averaged
    thresholds: dict[str, float]
    refractory_frames: int
    output: str = "posteriors"      # "logits": the model leaves the softmax to us

    @classmethod
    def load(cls, path: Path) -> KwsConfig:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(doc["labels"]), int(doc["window"]), int(doc["hop"]),
                       int(doc["smooth"]), {k: float(v) for k, v in doc["thresholds"].items()},
                       int(doc["refractory_frames"]), _output_kind(doc.get("output", "posteriors")))
        except FileNotFoundError:
            raise ModelError(f"keyword config {path} is missing (run `seatwatch models train`)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"keyword config {path} is invalid ({exc})") from None


def _output_kind(value: object) -> str:
    if value not in ("posteriors", "logits"):
        raise ValueError(f"output must be 'posteriors' or 'logits', not {value!r}")
    return str(value)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


class KeywordSpotter:
    def __init__(self, model: Path = MODEL_DIR / "kws.tflite",
                 config: Path | None = None, thresholds: dict[str, float] | None = None) -> None:
        self.model = TfliteModel(model)
        self.cfg = KwsConfig.load(config or model.with_suffix(".json"))
        self.thresholds = {**self.cfg.thresholds, **(thresholds or {})}
        # Per label, a score below its threshold from which a hit is still reported, as
        # unconfirmed, for the one rule that asks (the greeting, where the word is expected)
        self.floors: dict[str, float] = {}
        self._quiet_floor_until: dict[str, int] = {}
        self._tail = np.zeros((0, 0), np.float32)   # the last window-1 frames seen
        self._post: deque[np.ndarray] = deque(maxlen=self.cfg.smooth)
        self._quiet_until: dict[str, int] = {}
        self._count = 0                         # frames seen
        self.inferences = 0

    @property
    def frames_seen(self) -> int:
        return self._count

    def reset(self) -> None:
        self._tail = np.zeros((0, 0), np.float32)
        self._post.clear()
        self._quiet_until.clear()
        self._quiet_floor_until.clear()

    def push(self, frames: np.ndarray, active: np.ndarray | bool = True) -> list[KeywordHit]:
        """Add a block of feature frames. `active[i]` False (no speech in the window ending
        at frame i) skips that inference: a silent window cannot hold a keyword."""
        n = len(frames)
        if not n:
            return []
        data = frames if not len(self._tail) else np.concatenate([self._tail, frames])
        first = self._count + 1                  # count of the block's first frame
        self._count += n
        self._tail = data[-(self.cfg.window - 1):]
        flags = np.broadcast_to(np.asarray(active, bool), (n,))
        window, hop = self.cfg.window, self.cfg.hop
        # frames whose count is a multiple of hop, with a full window behind them; the
        # block's active windows go through the model together, then are judged in order
        due = [(count, len(data) - (self._count - count))
               for count in range(-(-first // hop) * hop, self._count + 1, hop)]
        due = [(count, end) for count, end in due if end >= window]
        runs = [end for count, end in due if flags[count - first]]
        posts = iter(self.posteriors_batch(np.stack([data[end - window:end] for end in runs]))
                     if runs else ())
        hits: list[KeywordHit] = []
        for count, _end in due:
            if flags[count - first]:
                hits.extend(self._judge(next(posts), count))
            else:
                self._post.clear()
        return hits

    def posteriors(self, window: np.ndarray) -> np.ndarray:
        return self.posteriors_batch(window[None])[0]

    def posteriors_batch(self, windows: np.ndarray) -> np.ndarray:
        """(n, window, mels) -> (n, labels): the posteriors of each window."""
        self.inferences += len(windows)
        out = self.model.run_batch(remove_window_mean(windows))
        return softmax(out) if self.cfg.output == "logits" else out

    def _judge(self, posteriors: np.ndarray, count: int) -> list[KeywordHit]:
        self._post.append(posteriors)
        smoothed = np.mean(self._post, axis=0)
        hits = []
        for index, label in enumerate(self.cfg.labels):
            threshold = self.thresholds.get(label)
            if threshold is None:
                continue
            score = float(smoothed[index])
            if score >= threshold:
                if count >= self._quiet_until.get(label, 0):
                    self._quiet_until[label] = count + self.cfg.refractory_frames
                    self._quiet_floor_until[label] = count + self.cfg.refractory_frames
                    hits.append(KeywordHit(label, score, count))
            elif score >= self.floors.get(label, threshold):
                if count >= self._quiet_floor_until.get(label, 0):
                    self._quiet_floor_until[label] = count + self.cfg.refractory_frames
                    hits.append(KeywordHit(label, score, count, confirmed=False))
        return hits
