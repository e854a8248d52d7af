"""Streaming phrase spotting from sub-word posteriors (design E; phrases as text).

The acoustic model (`subword.tflite`, config `subword.json`) reads `chunk` log-mel frames
(level-normalised like training: minus the mean of the louder half) and outputs, every
`stride` frames, logits over seatwatch.edge.models.phrases.TOKENS and the CTC blank. It
sees about a second each way, so each inference keeps only its centre: with hop 100 and
chunk 300, the chunk ending at frame count c contributes the output frames of c-200 ..
c-100, computed with a full second of context on both sides (identical to running the
model on the whole recording, normalisation aside).

Each phrase of the config (label -> its spoken forms as text, or as pinyin for a
polyphone) is scored on those frames by `phrases.chain_scores`; a label fires when a
form's score reaches its threshold, once per refractory time. A hit is reported at the
inference that completed it (at most `chunk - margin` frames after the phrase's last
token), its `at_frame` tells when the phrase ended.

The same surface as KeywordSpotter (cfg.labels/window/hop, thresholds, floors, push,
scores, reset), so the agent channel and the rules use either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from seatwatch.edge.dsp.features import LOG_FLOOR
from seatwatch.edge.models import phrases
from seatwatch.edge.models.keywords import KeywordHit
from seatwatch.edge.models.loader import ModelError, TfliteModel

ChainKind = Literal["threshold", "floor", "plain"]


@dataclass(frozen=True)
class SubwordConfig:
    labels: tuple[str, ...]
    forms: dict[str, tuple[tuple[int, ...], ...]]   # label -> token ids of each spoken form
    thresholds: dict[str, float]
    floors: dict[str, float]        # where a phrase is expected (the closing's last turns)
    window: int = 300               # 10 ms frames per inference (the chunk)
    hop: int = 100                  # frames between inferences
    stride: int = 4                 # 10 ms frames per output frame
    margin: int = 100               # context frames dropped at each side of a chunk
    max_gap: int = 15               # output frames allowed between a phrase's tokens
    spread: int = 1                 # frames each side a token's posterior is summed over (plain chain)
    gap_weight: float = 0.0         # cost of a foreign frame between two tokens (phrases.py)
    gap_floor: float = 0.01
    refractory_frames: int = 150
    front_end: str = "logmel"
    tokens: tuple[str, ...] = field(default=phrases.TOKENS)
    default_threshold: float = 0.5  # for a phrase the calibration never saw
    phrase_text: dict[str, tuple[str, ...]] = field(default_factory=dict)   # label -> its forms
    # a long phrase's chain is a geometric mean over many tokens: running speech rarely
    # reaches it by chance, and true hits sit lower too (models/MODEL_CARD.md, phrase card)
    long_phrase_tokens: int = 10
    long_phrase_threshold: float = 0.3
    # floors on the plain chain (gaps free), for a phrase all but certain where it is judged
    # (the greeting's first turn: a slow talker's 您...好 may carry a stray token between)
    plain_floors: dict[str, float] = field(default_factory=dict)
    # label -> (its score on the threshold chain, the fixed-class spotter's smoothed score):
    # under its threshold a phrase is still heard where both reach these, within seconds
    # (AgentChannel): two models of other designs rarely err on the same sound
    agree: dict[str, tuple[float, float]] = field(default_factory=dict)

    def default_for(self, forms: tuple[tuple[int, ...], ...]) -> float:
        """The threshold of a phrase the calibration never saw, by its shortest form."""
        if forms and min(len(f) for f in forms) >= self.long_phrase_tokens:
            return self.long_phrase_threshold
        return self.default_threshold

    @classmethod
    def load(cls, path: Path, phrases_override: dict[str, list[str]] | None = None) -> SubwordConfig:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if tuple(doc["tokens"]) != phrases.TOKENS:
                raise ValueError("the model's token set is not this release's")
            table: dict[str, list[str]] = phrases_override or doc["phrases"]
            forms = {label: tuple(tuple(phrases.token_ids(*split_form(f))) for f in spoken)
                     for label, spoken in table.items()}
            long_tokens = int(doc.get("long_phrase_tokens", cls.long_phrase_tokens))
            long_threshold = float(doc.get("long_phrase_threshold", cls.long_phrase_threshold))
            default = float(doc["default_threshold"])
            thresholds = {label: float(doc["thresholds"].get(
                label, long_threshold if min(len(f) for f in forms[label]) >= long_tokens else default))
                for label in table}
            # a label without a calibrated floor is heard at its threshold only
            floors = {label: min(float(v), thresholds[label]) for label, v in doc.get("floors", {}).items()
                      if label in table}
            plain_floors = {label: float(v) for label, v in doc.get("plain_floors", {}).items()
                            if label in table}
            agree = {label: (float(own), float(fixed)) for label, (own, fixed) in doc.get("agree", {}).items()
                     if label in table and 0 < float(own) <= thresholds[label] and 0 < float(fixed) <= 1}
            return cls(tuple(table), forms, thresholds, floors, int(doc["window"]), int(doc["hop"]),
                       int(doc["stride"]), int(doc["margin"]), int(doc["max_gap"]),
                       int(doc.get("spread", 1)), float(doc.get("gap_weight", 0.0)),
                       float(doc.get("gap_floor", 0.01)), int(doc["refractory_frames"]),
                       default_threshold=default,
                       phrase_text={label: tuple(spoken) for label, spoken in table.items()},
                       long_phrase_tokens=long_tokens, long_phrase_threshold=long_threshold,
                       plain_floors=plain_floors, agree=agree)
        except FileNotFoundError:
            raise ModelError(f"sub-word config {path} is missing") from None
        except (ValueError, KeyError, TypeError, phrases.PhraseError) as exc:
            raise ModelError(f"sub-word config {path} is invalid ({exc})") from None


def split_form(spoken: str) -> tuple[str, str | None]:
    """"没关系" or "没关系|mei guan xi" (an explicit pinyin reading) -> (text, pinyin)."""
    text, _, pinyin = spoken.partition("|")
    return text, (pinyin or None)


def normalise(feats: np.ndarray) -> np.ndarray:
    """(..., frames, mels) log-mel -> minus the mean of the loudest quarter of each chunk's
    frames (speech, whatever the share of silence or listening): whisper and shout look
    alike."""
    x = np.asarray(feats, np.float32)
    energy = x.mean(axis=-1)
    loud = energy >= np.quantile(energy, 0.75, axis=-1, keepdims=True)
    level = (x * loud[..., None]).sum(axis=(-2, -1)) / (loud.sum(axis=-1) * x.shape[-1])
    return x - level[..., None, None]


def _lead(cfg: SubwordConfig, mels: int) -> np.ndarray:
    """`margin` frames of silence before a stream's first frame, so that its first second
    (an agent who greets right at off-hook) falls in the centre of the first chunk."""
    return np.full((cfg.margin, mels), np.log(LOG_FLOOR), np.float32)


def _inside(short: tuple[tuple[int, ...], ...], long: tuple[tuple[int, ...], ...]) -> bool:
    """A spoken form of `short` is a run of tokens inside a longer form of `long`."""
    def within(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
        return len(a) < len(b) and any(b[i:i + len(a)] == a for i in range(len(b) - len(a) + 1))
    return any(within(a, b) for a in short for b in long)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


class PhraseSpotter:
    def __init__(self, model: Path, config: Path | None = None,
                 thresholds: dict[str, float] | None = None,
                 phrase_table: dict[str, list[str]] | None = None) -> None:
        self.model = TfliteModel(model)
        self.cfg = SubwordConfig.load(config or model.with_suffix(".json"), phrase_table)
        if self.model.input_shape[1] != self.cfg.window:
            raise ModelError(f"{model} reads {self.model.input_shape[1]} frames, its config says "
                             f"{self.cfg.window}")
        self.thresholds = {**self.cfg.thresholds, **(thresholds or {})}
        self.floors: dict[str, float] = {}         # set by the rules (configure_spotter)
        self.plain_floors: dict[str, float] = {}
        # label -> a bar on the threshold chain from which a hit is reported unconfirmed, for
        # a second opinion (AgentChannel; cfg.agree)
        self.second_opinion: dict[str, float] = {}
        self.inferences = 0
        self.reset()

    @property
    def frames_seen(self) -> int:
        return self._count

    @property
    def keep_frames(self) -> int:
        """Output frames of history a phrase's chain may reach back over."""
        return self.cfg.max_gap * 12

    def reset(self) -> None:
        self._count = 0
        self._tail = np.zeros((0, 0), np.float32)
        self._logp = np.zeros((0, len(phrases.TOKENS) + 1))
        self._logp_end = 0              # frame count where the kept log posteriors end
        self._quiet_until: dict[str, int] = {}
        self._quiet_floor_until: dict[str, int] = {}

    def add_phrases(self, table: dict[str, list[str]]) -> None:
        """Labels from a policy (a center's own greeting, a taboo sentence) -> heard from now
        on, at the config's default threshold; a known label gets these forms instead."""
        if not table:
            return
        doc = {label: list(self.cfg.phrase_text[label]) for label in self.cfg.labels}
        doc.update({label: list(forms) for label, forms in table.items()})
        forms = {label: tuple(tuple(phrases.token_ids(*split_form(f))) for f in spoken)
                 for label, spoken in doc.items()}
        new = [label for label in doc if label not in self.cfg.labels]
        thresholds = {**self.cfg.thresholds, **{label: self.cfg.default_for(forms[label]) for label in new}}
        self.cfg = replace(self.cfg, labels=tuple(doc), forms=forms, thresholds=thresholds,
                           phrase_text={label: tuple(v) for label, v in doc.items()})
        for label in new:
            self.thresholds.setdefault(label, thresholds[label])

    def log_posteriors(self, chunks: np.ndarray) -> np.ndarray:
        """(n, window, mels) -> (n, window // stride, tokens + 1) log posteriors."""
        self.inferences += len(chunks)
        return log_softmax(self.model.run_batch(normalise(chunks)))

    def push(self, frames: np.ndarray, active: np.ndarray | bool = True) -> list[KeywordHit]:
        """Add a block of log-mel frames; an inference is due every `hop` frames where
        `active` (agent speech near) holds. Idle stretches reset the phrase chains."""
        n = len(frames)
        if not n:
            return []
        if not self._count:             # the stream starts: silence before it (see _lead)
            self._tail = _lead(self.cfg, frames.shape[1])
        data = frames if not len(self._tail) else np.concatenate([self._tail, frames])
        first = self._count + 1
        self._count += n
        self._tail = data[-(self.cfg.window - 1):]
        flags = np.broadcast_to(np.asarray(active, bool), (n,))
        cfg = self.cfg
        counts = [c for c in range(-(-first // cfg.hop) * cfg.hop, self._count + 1, cfg.hop)
                  if len(data) - (self._count - c) >= cfg.window and flags[c - first]]
        if not counts:
            return []
        ends = [len(data) - (self._count - c) for c in counts]
        logps = self.log_posteriors(np.stack([data[e - cfg.window:e] for e in ends]))
        lo, hi = cfg.margin // cfg.stride, (cfg.window - cfg.margin) // cfg.stride
        hits: list[KeywordHit] = []
        for count, logp in zip(counts, logps, strict=True):
            start = count - cfg.window + cfg.margin       # frame count where the centre begins
            if start != self._logp_end:                   # not contiguous: chains start over
                self._logp = self._logp[:0]
            self._logp = np.concatenate([self._logp, logp[lo:hi]])[-self.keep_frames:]
            self._logp_end = count - cfg.margin
            hits += self._judge(hi - lo, count)
        return hits

    def flush(self) -> list[KeywordHit]:
        """The call is over: the last `window - margin` frames seen have not been in a
        chunk's centre yet; run them with silence after (as the stream's start has before)."""
        if not self._count or not len(self._tail):
            return []
        silence = np.full((self.cfg.window - self.cfg.margin, self._tail.shape[1]), np.log(LOG_FLOOR),
                          np.float32)
        return self.push(silence)

    def _judge(self, new: int, count: int) -> list[KeywordHit]:
        """A hit needs the threshold chain's score over the threshold. Where a phrase is
        expected, a lower floor gives an unconfirmed hit: on the floor chain (`floors`), or
        on the plain chain (`plain_floors`, where the phrase is all but certain)."""
        hits = []
        emit = self._emissions(self._logp)      # once for every label
        reach: dict[int, np.ndarray] = {}
        for label in self.cfg.labels:
            if count < self._quiet_until.get(label, 0) or not self._reachable(emit[1], new, label, reach):
                continue
            score = self._chain(emit, label)[-new:].max()
            threshold = self.thresholds[label]
            if score >= threshold and count >= self._quiet_until.get(label, 0):
                self._quiet_until[label] = self._quiet_floor_until[label] = count + self.cfg.refractory_frames
                hits.append(KeywordHit(label, float(score), count))
                continue
            if count < self._quiet_floor_until.get(label, 0):
                continue
            heard = None
            bars: tuple[tuple[ChainKind, dict[str, float]], ...] = (
                ("threshold", self.second_opinion), ("floor", self.floors), ("plain", self.plain_floors))
            for kind, floors in bars:
                if heard is None and label in floors:
                    value = self._chain(emit, label, kind)[-new:].max()
                    heard = value if value >= floors[label] else None
            if heard is not None:
                self._quiet_floor_until[label] = count + self.cfg.refractory_frames
                hits.append(KeywordHit(label, float(heard), count, confirmed=False))
        return self._longest(hits)

    def _reachable(self, mass: np.ndarray, new: int, label: str, reach: dict[int, np.ndarray]) -> bool:
        """Could any of the label's bars be met in the `new` frames? Every chain's score is
        at most the mean of its tokens' best peak mass where the chain can lie (gaps only
        cost), so a label whose bound is under its lowest bar is skipped, exactly: most
        of running speech, at a fraction of the chains' cost."""
        bar = min(self.thresholds[label], self.floors.get(label, 1.0), self.plain_floors.get(label, 1.0),
                  self.second_opinion.get(label, 1.0))
        if bar <= 0:
            return True
        for ids in self.cfg.forms[label]:
            span = new + (len(ids) - 1) * self.cfg.max_gap
            best = reach.get(span)
            if best is None:
                best = reach[span] = mass[-span:].max(axis=0)
            if best[list(ids)].mean() >= np.log(bar):
                return True
        return False

    def _longest(self, hits: list[KeywordHit]) -> list[KeywordHit]:
        """One saying, one hit: a phrase heard inside a longer one heard at the same time
        (没关系 in 与我没关系) is that one, not a second event."""
        if len(hits) < 2:
            return hits
        forms = self.cfg.forms
        return [h for h in hits if not any(
            other.label != h.label and other.confirmed >= h.confirmed
            and _inside(forms[h.label], forms[other.label]) for other in hits)]

    def _label_scores(self, logp: np.ndarray, label: str) -> np.ndarray:
        return self._chain(self._emissions(logp), label)

    def _emissions(self, logp: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Log posteriors -> (themselves, their peak mass over `spread` frames, posteriors)."""
        return logp, phrases.peak_mass(logp, self.cfg.spread), np.exp(logp)

    def _chain(self, emit: tuple[np.ndarray, np.ndarray, np.ndarray], label: str,
               kind: ChainKind = "threshold") -> np.ndarray:
        """Per output frame, the label's best form's score, by the chain its bar is set on
        (with a gap weight; without one all three are the plain chain):
        - threshold: each token on one frame, the frames between paid for; a token's peak
          mass would let it sit on a neighbour's spike (没关[心]系: @x on the frame of
          "in") and dodge the cost;
        - floor (the closing's last turns): peak mass, the frames between paid for (a slow
          or reverberant 再见 smears over a frame or two);
        - plain (`plain_floors`, the greeting's first turn): peak mass, nothing between."""
        cfg = self.cfg
        weight = cfg.gap_weight if kind != "plain" else 0.0
        scores = emit[0] if kind == "threshold" and weight > 0 else emit[1]
        return np.exp(np.max([phrases.chain_scores(scores, list(ids), cfg.max_gap, emit[2], weight,
                                                   cfg.gap_floor) for ids in cfg.forms[label]], axis=0))

    def frame_posteriors(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offline, a whole recording's log-mel as streaming computes it (every hop):
        (end frame count of each 40 ms output frame, (frames, tokens + 1) log posteriors)."""
        cfg = self.cfg
        feats = np.concatenate([_lead(cfg, feats.shape[1]), feats])
        ends = list(range(cfg.window, len(feats) + 1, cfg.hop))
        if not ends:
            return np.zeros(0), np.zeros((0, len(phrases.TOKENS) + 1))
        lo, hi = cfg.margin // cfg.stride, (cfg.window - cfg.margin) // cfg.stride
        logp = np.concatenate([lp[lo:hi] for at in range(0, len(ends), 64)
                               for lp in self.log_posteriors(np.stack([feats[e - cfg.window:e]
                                                                      for e in ends[at:at + 64]]))])
        first = ends[0] - cfg.window + cfg.margin - cfg.margin      # frame count, lead excluded
        return first + cfg.stride * (np.arange(len(logp)) + 1), logp

    def frame_scores(self, feats: np.ndarray, kind: ChainKind = "threshold") -> tuple[np.ndarray, np.ndarray]:
        """Offline: (end frame count of each 40 ms output frame, (frames, labels) scores) on
        the chain of the thresholds, the floors or the plain floors (`_chain`)."""
        at, logp = self.frame_posteriors(feats)
        if not len(logp):
            return at, np.zeros((0, len(self.cfg.labels)))
        emit = self._emissions(logp)
        return at, np.stack([self._chain(emit, label, kind) for label in self.cfg.labels], axis=1)
