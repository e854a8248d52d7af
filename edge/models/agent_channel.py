"""The models' view of the agent microphone: log-mel once, then keywords and speaking rate.

Keyword inference only runs while agent speech is inside the model's 2 s window (a
silent window cannot hold a keyword), and the rate model only sees speech frames; so
an idle or listening seat costs the feature extraction alone. `hear` goes one step
further: it computes the log-mel of the frames something reads (the windows of the
keyword inferences due in the block, the speech frames, and the block's last window-1
frames, which the next block's windows may reach back to), the same bits for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seatwatch.edge.dsp.features import StreamingLogMel
from seatwatch.edge.models.keywords import MODEL_DIR, KeywordHit, KeywordSpotter
from seatwatch.edge.models.rate import RateEstimate, RateEstimator


@dataclass(frozen=True)
class ModelPaths:
    folder: Path = MODEL_DIR

    @property
    def kws(self) -> Path:
        return self.folder / "kws.tflite"

    @property
    def rate(self) -> Path:
        return self.folder / "rate.tflite"


# A keyword is heard within a second of its last sound (bench_pipeline, words alone:
# p99 ~0.6-0.8 s; bench_latency, words ending sentences: p99 ~1.0 s), and the last speech
# frame comes the VAD's 0.3 s hangover after it; so the spotter stops this long after the
# agent's last speech frame instead of the 2 s its window would allow: fewer inferences
# on pauses and listening, same detections (bench_latency's calls: identical with the
# gate off).
ACTIVE_AFTER_SPEECH = 120           # frames (1.2 s)


class AgentChannel:
    def __init__(self, paths: ModelPaths = ModelPaths(),
                 thresholds: dict[str, float] | None = None) -> None:
        self.spotter = KeywordSpotter(paths.kws, thresholds=thresholds)
        self.rate = RateEstimator(paths.rate)
        self._logmel = StreamingLogMel()
        self._since_speech = 1 << 30        # frames since the last agent speech frame

    def reset(self) -> None:
        self._logmel = StreamingLogMel()
        self.spotter.reset()
        self.rate.reset()
        self._since_speech = 1 << 30

    def features(self, mic: np.ndarray) -> np.ndarray:
        """int16 mic samples of whole frames -> one log-mel row per 10 ms frame."""
        return self._logmel.push(mic)

    def process(self, feats: np.ndarray, speech: np.ndarray
                ) -> tuple[list[tuple[int, KeywordHit]], list[tuple[int, RateEstimate]]]:
        """A block of feature frames and the agent VAD per frame -> keyword hits and rate
        estimates, each with the index of the frame (in this block) where it happened."""
        speech = np.asarray(speech, bool)
        return self._models(feats, speech, self._active(speech))

    def hear(self, mic: np.ndarray, speech: np.ndarray
             ) -> tuple[list[tuple[int, KeywordHit]], list[tuple[int, RateEstimate]]]:
        """`features` then `process` on int16 mic samples of whole frames, computing only
        the feature frames the models read (the others are never looked at)."""
        speech = np.asarray(speech, bool)
        n = len(speech)
        active = self._active(speech)
        window, hop = self.spotter.cfg.window, self.spotter.cfg.hop
        if n < window:                  # a short (live) block: the next windows read it all
            return self._models(self._logmel.push(mic), speech, active)
        counts = self.spotter.frames_seen + 1 + np.arange(n)
        ends = np.flatnonzero(active & (counts % hop == 0))     # inferences due in the block
        cover = np.zeros(n + 1, np.int64)
        np.add.at(cover, np.maximum(ends - window + 1, 0), 1)
        np.add.at(cover, ends + 1, -1)
        needed = speech | (np.cumsum(cover[:n]) > 0)
        needed[max(0, n - window + 1):] = True
        return self._models(self._logmel.push(mic, needed), speech, active)

    def _active(self, speech: np.ndarray) -> np.ndarray:
        """Per frame of the block: agent speech within ACTIVE_AFTER_SPEECH frames."""
        n = len(speech)
        last = np.where(speech, np.arange(n), -1)
        last = np.maximum.accumulate(last)
        since = np.where(last >= 0, np.arange(n) - last, self._since_speech + 1 + np.arange(n))
        self._since_speech = int(since[-1]) if n else self._since_speech
        return np.asarray(since < ACTIVE_AFTER_SPEECH)

    def _models(self, feats: np.ndarray, speech: np.ndarray, active: np.ndarray
                ) -> tuple[list[tuple[int, KeywordHit]], list[tuple[int, RateEstimate]]]:
        first = self.spotter.frames_seen + 1
        hits = [(hit.frame - first, hit) for hit in self.spotter.push(feats, active=active)]
        where = np.flatnonzero(speech)
        estimates = [(int(where[i]), est) for i, est in self.rate.push(feats[where])]
        return hits, estimates
