"""Streaming keyword spotting on the agent channel's feature frames.

The frames are the front end's: 10 ms log-mel rows (`front_end = "logmel"`) or 80 ms
speech embeddings (`"speech_embedding"`, edge/models/embedding.py). Every `hop` frames
the model sees the last ~2 s; its posteriors are smoothed over the
last few inferences (bounded deque), compared with per-keyword thresholds, and a fired
keyword is silent for its refractory time so one utterance gives one detection.

Lazy evaluation, exact: within a block, one active window in `smooth` (those whose
count / hop is `smooth - 1` mod `smooth`) is left out when no smoothed score that
includes it could reach a threshold or floor whatever its posteriors (at most
`p_max`, 1 for a softmax): sum of the known posteriors + p_max, over the deque's
length, under every label's lowest bar. A window that could matter is computed. The
hits and scores are those of evaluating every window; in quiet speech (scores near 0)
about a third of the inferences are saved. A window is only left out when all the
windows smoothed with it fall in the same block, so 100 ms blocks (live) skip none.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seatwatch.edge.dsp.features import remove_window_mean
from seatwatch.edge.models.loader import ModelError, TfliteModel
from seatwatch.edge.resources import data_dir

MODEL_DIR = data_dir("models")
MARGIN = 1e-4       # a left-out window's bound stays this far under a bar (float32 sums)


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
    refractory_frames: int          # in the front end's frames
    output: str = "posteriors"      # "logits": the model leaves the softmax to us
    front_end: str = "logmel"       # or "speech_embedding"
    normalise: str = "window_mean"  # or "none"

    @classmethod
    def load(cls, path: Path) -> KwsConfig:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return cls(tuple(doc["labels"]), int(doc["window"]), int(doc["hop"]),
                       int(doc["smooth"]), {k: float(v) for k, v in doc["thresholds"].items()},
                       int(doc["refractory_frames"]), _output_kind(doc.get("output", "posteriors")),
                       _choice("front_end", doc.get("front_end", "logmel"), FRONT_ENDS),
                       _choice("normalise", doc.get("normalise", "window_mean"), NORMALISE))
        except FileNotFoundError:
            raise ModelError(f"keyword config {path} is missing (run `seatwatch models train`)") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"keyword config {path} is invalid ({exc})") from None


FRONT_ENDS = ("logmel", "speech_embedding")
NORMALISE = ("window_mean", "none")


def _output_kind(value: object) -> str:
    return _choice("output", value, ("posteriors", "logits"))


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
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
        # Per label, a score from which a hit is reported unconfirmed as a second opinion
        # for another spotter's label (AgentChannel), whether or not this one hears it
        self.witness: dict[str, float] = {}
        self._quiet_floor_until: dict[str, int] = {}
        self._tail = np.zeros((0, 0), np.float32)   # the last window-1 frames seen
        # the last `smooth` posteriors since an inactive window (None: left out, see above)
        self._post: deque[np.ndarray | None] = deque(maxlen=self.cfg.smooth)
        self._quiet_until: dict[str, int] = {}
        self._count = 0                         # frames seen
        self.inferences = 0
        self.lazy = True                        # False: evaluate every active window
        # Frames pushed as NaN rows were not computed (an idle stretch); a window that
        # reads them gets them from here, by frame count (1-based), before it runs
        self.frame_source: Callable[[np.ndarray], np.ndarray] | None = None
        self.p_max = self._max_posterior()

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
        window, hop, smooth = self.cfg.window, self.cfg.hop, self.cfg.smooth
        # frames whose count is a multiple of hop, with a full window behind them
        counts = [count for count in range(-(-first // hop) * hop, self._count + 1, hop)
                  if len(data) - (self._count - count) >= window]
        on = [bool(flags[count - first]) for count in counts]
        posts: list[np.ndarray | None] = [None] * len(counts)

        def compute(which: list[int]) -> None:       # the model, on a batch of windows
            if which:
                ends = [len(data) - (self._count - counts[i]) for i in which]
                if self.frame_source is not None:
                    self._fill(data, ends)
                out = self.posteriors_batch(np.stack([data[end - window:end] for end in ends]))
                for i, row in zip(which, out, strict=True):
                    posts[i] = row

        # candidates to leave out: one in `smooth`, every window smoothed with it in this block
        maybe = ([i for i in range(len(counts) - smooth + 1)
                  if on[i] and counts[i] // hop % smooth == smooth - 1] if self.lazy else [])
        later = set(maybe)
        compute([i for i in range(len(counts)) if on[i] and i not in later])
        bars = self._bars()
        compute([i for i in maybe if self._could_matter(i, posts, on, bars)])
        hits: list[KeywordHit] = []
        for i, count in enumerate(counts):
            if not on[i]:
                self._post.clear()
                continue
            self._post.append(posts[i])
            known = [p for p in self._post if p is not None]
            if len(known) < len(self._post):
                continue                    # no bar reachable whatever the left-out window holds
            smoothed = np.mean(known, axis=0)
            if np.all(smoothed < bars):     # nothing to report (the exact test follows)
                continue
            hits.extend(self._judge(smoothed, count))
        return hits

    def _fill(self, data: np.ndarray, ends: list[int]) -> None:
        """Compute the not-yet-computed frames the windows ending at `ends` read (in place:
        the tail is a view of `data`, so the next block sees them too)."""
        rows = np.zeros(len(data), bool)
        for end in ends:
            rows[end - self.cfg.window:end] = True
        missing = np.flatnonzero(rows & np.isnan(data[:, 0]))
        if len(missing) and self.frame_source is not None:
            data[missing] = self.frame_source(self._count - len(data) + 1 + missing)

    def _max_posterior(self) -> float:
        """The largest posterior the model can give (softmax: 1; int8 posteriors: the top
        of their scale; float posteriors: unbounded, so nothing is ever left out)."""
        if self.cfg.output == "logits":
            return 1.0
        scale, zero = self.model.output_quantization
        return float((127 - zero) * scale) if scale else math.inf

    def _bars(self) -> np.ndarray:
        """Per label, the lowest smoothed score that reports anything (threshold or floor)."""
        bars = np.full(len(self.cfg.labels), np.inf)
        for index, label in enumerate(self.cfg.labels):
            threshold = self.thresholds.get(label)
            if threshold is not None:
                bars[index] = min(threshold, self.floors.get(label, threshold))
            bars[index] = min(bars[index], self.witness.get(label, np.inf))
        return bars

    def _could_matter(self, i: int, posts: list[np.ndarray | None], on: list[bool],
                      bars: np.ndarray) -> bool:
        """Whether left-out window i could change a report: some smoothed score that
        includes it (the windows ending at i .. i+smooth-1, back to the last inactive
        one; before this block, the deque) could reach a bar with its posteriors at p_max."""
        smooth = self.cfg.smooth
        before = list(self._post)[::-1]         # the deque as this block found it, newest first
        for end in range(i, i + smooth):
            if not on[end]:
                return False                    # the deque empties here: i is gone
            members: list[np.ndarray | None] = []
            j = end
            while len(members) < smooth:
                if j < 0:                       # the hops before this block
                    members += before[:smooth - len(members)]
                    break
                if not on[j]:
                    break
                members.append(None if j == i else posts[j])
                j -= 1
            known = [m for m in members if m is not None]
            if len(known) != len(members) - 1:
                return True                     # another unknown: no bound (not expected)
            total = np.sum(known, axis=0, dtype=np.float64) if known else 0.0
            if np.any((total + self.p_max) / len(members) >= bars - MARGIN):
                return True
        return False

    def scores(self, frames: np.ndarray, batch: int = 256) -> np.ndarray:
        """Offline scoring of a whole recording's frames, every window evaluated: row k is
        the smoothed posteriors of the inference whose window ends at frame count
        window + k * hop (the first smooth - 1 rows average in zeros)."""
        cfg = self.cfg
        ends = range(cfg.window, len(frames) + 1, cfg.hop)
        if not len(ends):
            return np.zeros((0, len(cfg.labels)))
        raw = np.concatenate([self.posteriors_batch(np.stack([frames[end - cfg.window:end]
                                                              for end in ends[at:at + batch]]))
                              for at in range(0, len(ends), batch)])
        kernel = np.ones(cfg.smooth) / cfg.smooth
        return np.stack([np.convolve(raw[:, i], kernel, mode="full")[:len(raw)]
                         for i in range(raw.shape[1])], axis=1)

    def posteriors(self, window: np.ndarray) -> np.ndarray:
        return self.posteriors_batch(window[None])[0]

    def posteriors_batch(self, windows: np.ndarray) -> np.ndarray:
        """(n, window, mels) -> (n, labels): the posteriors of each window."""
        self.inferences += len(windows)
        out = self.model.run_batch(remove_window_mean(windows) if self.cfg.normalise == "window_mean"
                                   else windows)
        # float64: calibrated thresholds sit as close as 1 - 1e-10 to 1
        return softmax(out.astype(np.float64)) if self.cfg.output == "logits" else out

    def _judge(self, smoothed: np.ndarray, count: int) -> list[KeywordHit]:
        hits = []
        for index, label in enumerate(self.cfg.labels):
            threshold = self.thresholds.get(label)
            if threshold is None:
                score = float(smoothed[index])
                if label in self.witness and score >= self.witness[label] \
                        and count >= self._quiet_floor_until.get(label, 0):
                    self._quiet_floor_until[label] = count + self.cfg.refractory_frames
                    hits.append(KeywordHit(label, score, count, confirmed=False))
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
