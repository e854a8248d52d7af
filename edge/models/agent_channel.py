"""The models' view of the agent microphone: log-mel once, then keywords and speaking rate.

The keyword spotter reads the log-mel frames too, or, when its config says
`front_end = "speech_embedding"`, speech embeddings (edge/models/embedding.py): the mel
groups of all audio are computed (cheap), an embedding only when an inference due near
agent speech reads it (the spotter asks for it, see KeywordSpotter.frame_source).

Keyword inference only runs while agent speech is inside the model's 2 s window (a
silent window cannot hold a keyword), and the rate model only sees speech frames; so
an idle or listening seat costs the feature extraction alone. `hear` goes one step
further: it computes the log-mel of the frames something reads (the windows of the
keyword inferences due in the block, the speech frames, and the block's last window-1
frames, which the next block's windows may reach back to), the same bits for those.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from seatwatch.edge.dsp.features import StreamingLogMel, logmel
from seatwatch.edge.models.embedding import DIM, SpeechEmbedder, available_at, embed, pcm16
from seatwatch.edge.models.keywords import MODEL_DIR, KeywordHit, KeywordSpotter
from seatwatch.edge.models.phrases import PhraseError
from seatwatch.edge.models.phrases import tokens as phrase_tokens
from seatwatch.edge.models.rate import RateEstimate, RateEstimator
from seatwatch.edge.models.subword import PhraseSpotter, split_form
from seatwatch.edge.policy import Policy, PolicyError


@dataclass(frozen=True)
class ModelPaths:
    folder: Path = MODEL_DIR

    @property
    def kws(self) -> Path:
        return self.folder / "kws.tflite"

    @property
    def rate(self) -> Path:
        """A candidate folder may hold the keyword model alone: then the shipped rate model."""
        own = self.folder / "rate.tflite"
        return own if own.exists() else MODEL_DIR / "rate.tflite"

    @property
    def subword(self) -> Path | None:
        """The sub-word phrase model, where this folder has it (a candidate folder without
        one is a fixed-class spotter alone: the labels it knows are all its own)."""
        own = self.folder / "subword.tflite"
        return own if own.exists() else None

    @property
    def front_end(self) -> Path:
        """The frozen speech-embedding front end (a candidate folder may leave it out)."""
        own = self.folder / "front_end"
        return own if own.is_dir() else MODEL_DIR / "front_end"


def spotter_frames(spotter: KeywordSpotter, audio: np.ndarray,
                   embedder: SpeechEmbedder | None = None) -> np.ndarray:
    """A whole recording (int16, or float in [-1, 1]) -> the frames this spotter reads,
    as streaming computes them: log-mel rows, or speech embeddings."""
    if spotter.cfg.front_end == "logmel":
        return logmel(audio)
    samples = audio if audio.dtype == np.int16 else pcm16(audio)
    return embed(samples, embedder)


def frame_end_s(spotter: KeywordSpotter, counts: np.ndarray) -> np.ndarray:
    """Seconds of audio after which the spotter's frame number `counts` (from 1) exists."""
    if spotter.cfg.front_end == "logmel":
        return np.asarray(counts) / 100.0
    return np.asarray(available_at(np.asarray(counts) - 1)) / 100.0


# A keyword is heard within a second of its last sound (bench_pipeline, words alone:
# p99 ~0.6-0.8 s; bench_latency, words ending sentences: p99 ~1.0 s), and the last speech
# frame comes the VAD's 0.3 s hangover after it; so the spotter stops this long after the
# agent's last speech frame instead of the 2 s its window would allow: fewer inferences
# on pauses and listening, same detections (bench_latency's calls: identical with the
# gate off).
ACTIVE_AFTER_SPEECH = 120           # frames (1.2 s)
# The fixed-class spotter's second opinion counts this far before the phrase spotter's hit:
# that one reports up to ~2 s after the phrase ends, the fixed-class one within ~1 s
AGREE_WITHIN = 400                  # frames (4 s)


def phrase_active_after(spotter: PhraseSpotter) -> int:
    """The phrase spotter keeps only its chunks' centres, so it runs until the chunk whose
    centre holds the agent's last speech frame: window - margin frames after it."""
    return spotter.cfg.window - spotter.cfg.margin


class AgentChannel:
    def __init__(self, paths: ModelPaths = ModelPaths(),
                 thresholds: dict[str, float] | None = None, *, phrases: bool = True) -> None:
        self.spotter = KeywordSpotter(paths.kws, thresholds=thresholds)
        # The sub-word model hears the labels its config lists (the fixed-class spotter
        # keeps the others): chosen per label by measurement (models/MODEL_CARD.md)
        self.phrases: PhraseSpotter | None = None
        if phrases and paths.subword is not None:
            self.phrases = PhraseSpotter(paths.subword, thresholds=thresholds)
            for label in self.phrases.cfg.labels:
                self.spotter.thresholds.pop(label, None)
        # a phrase under its threshold is still heard where the fixed-class model agrees
        # (SubwordConfig.agree): both models' scores are on the same frame counts only
        # with the log-mel front end
        self._witnessed: dict[str, int] = {}     # label -> frame count of the last second opinion
        if self.phrases is not None and self.spotter.cfg.front_end == "logmel":
            for label, (own, fixed) in self.phrases.cfg.agree.items():
                if label in self.spotter.cfg.labels and label not in self.spotter.thresholds:
                    self.phrases.second_opinion[label] = own
                    self.spotter.witness[label] = fixed
        self.rate = RateEstimator(paths.rate)
        self._logmel = StreamingLogMel()
        self._since_speech = 1 << 30        # frames since the last agent speech frame
        self.embedder: SpeechEmbedder | None = None
        if self.spotter.cfg.front_end == "speech_embedding":
            self.embedder = SpeechEmbedder(paths.front_end)
            self.spotter.frame_source = self._embeddings

    def add_phrases(self, policy: Policy) -> None:
        """The policy's own phrases (text) go to the sub-word spotter; refused by name when
        there is none or a phrase cannot be spelled in its tokens."""
        if not policy.phrases and not policy.phrase_scores:
            return
        if self.phrases is None:
            key = "phrases" if policy.phrases else "phrase_scores"
            raise PolicyError(policy.name, key, "these models have no sub-word phrase spotter "
                              "(subword.tflite): phrases as text cannot be heard")
        for label, forms in policy.phrases.items():
            try:
                for form in forms:
                    phrase_tokens(*split_form(form))
            except PhraseError as exc:
                raise PolicyError(policy.name, f"phrases.{label}", str(exc)) from None
        self.phrases.add_phrases(policy.phrases)
        for label in policy.phrases:
            self.spotter.thresholds.pop(label, None)
        for label, score in policy.phrase_scores.items():
            if label not in self.phrases.cfg.labels:
                known = ", ".join(self.phrases.cfg.labels)
                raise PolicyError(policy.name, f"phrase_scores.{label}", "not a phrase the sub-word "
                                  f"model hears (its own: {known}, or a [phrases] label)")
            if not 0.0 < score <= 1.0:
                raise PolicyError(policy.name, f"phrase_scores.{label}", f"{score} is outside 0..1 (a score)")
            self.phrases.thresholds[label] = score

    def flush(self) -> list[KeywordHit]:
        """At the end of a call: phrases said in its last seconds (the sub-word spotter
        reports up to 2 s late), before the rules judge the call."""
        if self.phrases is None or self._since_speech >= phrase_active_after(self.phrases):
            return []                   # every speech frame has been in a chunk's centre
        return [self._with_opinion(hit) for hit in self.phrases.flush()]

    @property
    def spotters(self) -> list[KeywordSpotter | PhraseSpotter]:
        return [self.spotter] + ([self.phrases] if self.phrases is not None else [])

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label some spotter hears."""
        return tuple(dict.fromkeys(label for s in self.spotters for label in s.cfg.labels))

    def reset(self) -> None:
        self._logmel = StreamingLogMel()
        if self.embedder is not None:
            self.embedder.reset()
        self.spotter.reset()
        if self.phrases is not None:
            self.phrases.reset()
        self._witnessed.clear()
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
        since = self._since(speech)
        return self._models(feats, speech, since)

    def hear(self, mic: np.ndarray, speech: np.ndarray
             ) -> tuple[list[tuple[int, KeywordHit]], list[tuple[int, RateEstimate]]]:
        """`features` then `process` on int16 mic samples of whole frames, computing only
        the feature frames the models read (the others are never looked at)."""
        speech = np.asarray(speech, bool)
        n = len(speech)
        since = self._since(speech)
        active = self._fixed_active(since)
        phrase_frames = self._phrase_needed(since)
        if self.embedder is not None:
            # the rate model reads the speech frames' log-mel, the spotter embeddings
            feats = self._logmel.push(mic, speech | phrase_frames)
            hits = self._spot_embeddings(mic, active) + self._spot_phrases(feats, since)
            return sorted(hits, key=lambda h: h[0]), self._rate(feats, speech)
        window, hop = self.spotter.cfg.window, self.spotter.cfg.hop
        if n < window:                  # a short (live) block: the next windows read it all
            return self._models(self._logmel.push(mic), speech, since)
        needed = speech | phrase_frames | _window_frames(self.spotter.frames_seen, active, window, hop)
        return self._models(self._logmel.push(mic, needed), speech, since)

    def _since(self, speech: np.ndarray) -> np.ndarray:
        """Per frame of the block: frames since the last agent speech frame."""
        n = len(speech)
        last = np.where(speech, np.arange(n), -1)
        last = np.maximum.accumulate(last)
        since = np.where(last >= 0, np.arange(n) - last, self._since_speech + 1 + np.arange(n))
        self._since_speech = int(since[-1]) if n else self._since_speech
        return since

    def _fixed_active(self, since: np.ndarray) -> np.ndarray:
        """Where the fixed-class spotter infers: near agent speech, and only while it still
        hears a label (the sub-word model may own them all: then it costs nothing)."""
        return (since < ACTIVE_AFTER_SPEECH) & bool(self.spotter.thresholds or self.spotter.witness)

    def _phrase_needed(self, since: np.ndarray) -> np.ndarray:
        if self.phrases is None:
            return np.zeros(len(since), bool)
        cfg = self.phrases.cfg
        if len(since) < cfg.window:
            return np.ones(len(since), bool)
        active = since < phrase_active_after(self.phrases)
        return _window_frames(self.phrases.frames_seen, active, cfg.window, cfg.hop)

    def _models(self, feats: np.ndarray, speech: np.ndarray, since: np.ndarray
                ) -> tuple[list[tuple[int, KeywordHit]], list[tuple[int, RateEstimate]]]:
        first = self.spotter.frames_seen + 1
        hits = [(hit.frame - first, hit)
                for hit in self._opinions(self.spotter.push(feats, active=self._fixed_active(since)))]
        hits += self._spot_phrases(feats, since)
        return sorted(hits, key=lambda h: h[0]), self._rate(feats, speech)

    def _spot_phrases(self, feats: np.ndarray, since: np.ndarray) -> list[tuple[int, KeywordHit]]:
        if self.phrases is None:
            return []
        first = self.phrases.frames_seen + 1
        active = since < phrase_active_after(self.phrases)
        return [(hit.frame - first, self._with_opinion(hit))
                for hit in self.phrases.push(feats, active=active)]

    def _opinions(self, hits: list[KeywordHit]) -> list[KeywordHit]:
        """The fixed-class spotter's hits: second opinions are remembered, not reported."""
        for hit in hits:
            if not hit.confirmed and hit.label in self.spotter.witness:
                self._witnessed[hit.label] = hit.frame
        return [hit for hit in hits if hit.confirmed or hit.label not in self.spotter.witness]

    def _with_opinion(self, hit: KeywordHit) -> KeywordHit:
        """A phrase hit under its threshold, confirmed where the fixed-class spotter agreed
        within AGREE_WITHIN frames before it."""
        if hit.confirmed or self.phrases is None or hit.label not in self.phrases.second_opinion:
            return hit
        seen = self._witnessed.get(hit.label)
        if seen is None or not hit.frame - AGREE_WITHIN <= seen <= hit.frame:
            return hit
        return replace(hit, confirmed=True)

    def _rate(self, feats: np.ndarray, speech: np.ndarray) -> list[tuple[int, RateEstimate]]:
        where = np.flatnonzero(speech)
        return [(int(where[i]), est) for i, est in self.rate.push(feats[where])]

    def _spot_embeddings(self, mic: np.ndarray, active: np.ndarray) -> list[tuple[int, KeywordHit]]:
        """Embeddings that became available in this block go to the spotter as NaN rows
        (computed when a window reads them); an inference is active as the frame where
        its last embedding became available. Hits at that frame's index in the block."""
        embedder = self.embedder
        assert embedder is not None
        before, old = embedder.frames_in, embedder.ready
        # a window reaches back window-1 embeddings: older mel frames are never read again
        embedder.push(mic, keep=max(0, old - self.spotter.cfg.window + 1))
        new = np.arange(old, embedder.ready)
        at = np.asarray(available_at(new)) - 1 - before      # frame index in this block
        frames = np.full((len(new), DIM), np.nan, np.float32)
        hits = self.spotter.push(frames, active=active[at])
        return [(int(at[hit.frame - 1 - old]), hit) for hit in hits]

    def _embeddings(self, counts: np.ndarray) -> np.ndarray:
        assert self.embedder is not None
        return self.embedder.embeddings(counts - 1)


def _window_frames(frames_seen: int, active: np.ndarray, window: int, hop: int) -> np.ndarray:
    """The frames of a block that the inferences due in it read (every hop frames where
    `active`, over the last `window` frames), and the block's last window-1 frames, which
    the next block's windows may reach back to."""
    n = len(active)
    counts = frames_seen + 1 + np.arange(n)
    ends = np.flatnonzero(active & (counts % hop == 0))
    cover = np.zeros(n + 1, np.int64)
    np.add.at(cover, np.maximum(ends - window + 1, 0), 1)
    np.add.at(cover, ends + 1, -1)
    needed = np.cumsum(cover[:n]) > 0
    needed[max(0, n - window + 1):] = True
    return needed
