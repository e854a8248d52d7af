"""Seeded data sets for the keyword and rate models, from two voice families.

Families: espeak-ng (formant synthesis, 89 variants) and a neural voice trained on one
real speaker (seatwatch.models.synth.neural), made into many speakers by duration, F0, energy and
vocal-tract-length warping. Speakers are split: espeak-ng variants in TEST_VOICES and
neural speakers drawn from a held-out region of the warp axis are never heard in
training; sentences are split too (corpus held-out templates are never heard in
training). Every held-out set exists per family, so a model can be judged on a family
it never trained on (leave-one-family-out). Everything is cached under the cache dir.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from seatwatch.edge.dsp.features import logmel
from seatwatch.models.synth import corpus, mellotron
from seatwatch.models.synth.augment import babble, channel, mix_at_snr
from seatwatch.models.synth.mellotron import is_mellotron, speak_mellotron
from seatwatch.models.synth.neural import NeuralVoice, is_neural, speak_neural
from seatwatch.models.synth.speech import VARIANTS, cache_dir, speak, syllables

RATE = 16_000
HOP = 160
WINDOW = 200                       # keyword model input: 2.0 s of 10 ms frames
TEST_VOICES = ("m6", "m7", "f4", "f5", "m8", "klatt3", "Andy", "anika", "grandma", "steph2",
               "Mario", "linda", "iven3", "edward2")
TRAIN_VOICES = tuple(v for v in VARIANTS if v not in TEST_VOICES)
FAMILIES = ("espeak", "neural")
# The rate model also learns (and is judged on) the Mellotron family: its speakers pace
# their syllables unlike the Baker voice (read 11.7 cpm slow by a model that never heard them)
RATE_FAMILIES = FAMILIES + ("mellotron",)
# Neural speakers: warp 0.97-1.03 (the recorded speaker's own vocal tract) is held out.
NEURAL_TRAIN_WARPS = ((0.86, 0.965), (1.035, 1.16))
NEURAL_TEST_WARPS = ((0.97, 1.03),)
NEURAL_NATURAL_CPM = 300.0        # the Baker voice at duration 1.0, over VAD speech frames
LEAD_S, TAIL_S = 2.2, 0.8          # silence around each utterance (room for windows)


@dataclass(frozen=True)
class SynthConfig:
    seed: int = 1234
    per_keyword: int = 300          # training utterances per keyword class
    negatives: int = 2600           # training utterances without keywords
    test_per_keyword: int = 15      # held-out utterances per keyword, per family
    fa_minutes: float = 12.0        # held-out keyword-free speech per family for false alarms/hour
    rate_windows: int = 240         # 15 s speech windows for the rate model
    rate_test_windows: int = 24     # per family
    speeds: tuple[int, int] = (100, 200)   # espeak-ng -s for keyword speech
    neural_cpm: tuple[float, float] = (110.0, 280.0)   # neural keyword speech rates
    families: tuple[str, ...] = FAMILIES   # voice families heard in training
    neural_share: float = 0.2              # share of training utterances by the neural family
    babble_p: float = 0.7                  # share of training utterances mixed with office babble
    babble_snr_db: tuple[float, float] = (0.0, 20.0)   # at a uniform SNR in this range
    workers: int = 2

    @classmethod
    def quick(cls) -> SynthConfig:
        return cls(per_keyword=24, negatives=220, test_per_keyword=6, fa_minutes=2.0,
                   rate_windows=120, rate_test_windows=24, neural_share=0.15)

    def key(self) -> str:
        doc = {**asdict(self), "corpus": corpus.fingerprint()}
        return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def data_dir(cfg: SynthConfig) -> Path:
    return cache_dir() / "datasets" / cfg.key()


# --- speech rendering -------------------------------------------------------------------

@dataclass(frozen=True)
class Spoken:
    audio: np.ndarray          # float32 at RATE, with LEAD_S/TAIL_S silence around the speech
    kw_span: tuple[int, int] | None   # keyword samples [start, end)
    label: str
    chars: int


def _say(segments: Iterable[str], voice: str, speed: int, pitch: int, rng: random.Random,
         gap: int = 0) -> tuple[list[np.ndarray], list[int]]:
    parts, gaps = [], []
    for text in segments:
        if is_neural(voice):
            parts.append(speak_neural(text, voice))
        elif is_mellotron(voice):
            parts.append(speak_mellotron(text, voice))
        else:
            parts.append(speak(text, voice=voice, speed=speed, pitch=pitch, gap=gap))
        gaps.append(int(rng.uniform(0.0, 0.08) * RATE))
    return parts, gaps


def render(utt: corpus.Utterance, voice: str, speed: int, pitch: int, seed: int,
           gap: int = 0) -> Spoken:
    rng = random.Random(seed)
    parts, gaps = _say(utt.segments, voice, speed, pitch, rng, gap)
    lead, tail = int(LEAD_S * RATE * rng.uniform(0.9, 1.1)), int(TAIL_S * RATE)
    pieces = [np.zeros(lead, np.float32)]
    cursor, span = lead, None
    for index, (part, gap) in enumerate(zip(parts, gaps, strict=True)):
        if index == utt.keyword_segment:
            span = (cursor, cursor + len(part))
        pieces += [part, np.zeros(gap, np.float32)]
        cursor += len(part) + gap
    pieces.append(np.zeros(tail, np.float32))
    chars = sum(syllables(s) for s in utt.segments)
    return Spoken(np.concatenate(pieces), span, utt.label, chars)


def neural_voice(rng: random.Random, cpm: float, split: str) -> str:
    """A neural speaker at about `cpm` characters per minute: duration on a coarse grid
    (clauses are cached per duration and F0), warp continuous inside the split's region."""
    duration = min(5.0, max(0.9, NEURAL_NATURAL_CPM / cpm))
    duration = round(math.exp(round(math.log(duration) / 0.06) * 0.06), 3)
    f0 = rng.choice((0.75, 0.87, 1.0, 1.12, 1.25))
    energy = 1.0                    # level varies in augmentation
    lo, hi = rng.choice(NEURAL_TRAIN_WARPS if split == "train" else NEURAL_TEST_WARPS)
    return NeuralVoice(duration, f0, energy, round(rng.uniform(lo, hi), 3)).name()


def mellotron_voice(rng: random.Random, cpm: float, split: str) -> str:
    """A Mellotron speaker of the split paced at about `cpm` characters per minute."""
    if split != "train":
        return mellotron.test_voice(rng, cpm)
    stretch = round(max(0.9, mellotron.NATURAL_CPM / cpm), 2)
    return mellotron.MellotronVoice(rng.choice(mellotron.TRAIN_SPEAKERS), stretch).name()


def without_failed_renders(plans: list[tuple], workers: int) -> list[tuple]:  # type: ignore[type-arg]
    """Render the Mellotron plans' sentences first (batched, cached); a sentence the voice
    failed is left out of its window, a window left with fewer than two is dropped."""
    jobs = [(text, mellotron.parse(plan[0])) for plan in plans if is_mellotron(plan[0]) for text in plan[3]]
    if not jobs:
        return plans
    rendered = iter(mellotron.render_many(jobs, workers))
    out = []
    for plan in plans:
        if is_mellotron(plan[0]):
            texts = [text for text in plan[3] if next(rendered) is not None]
            if len(texts) < 2:
                continue
            plan = (*plan[:3], texts, *plan[4:])
        out.append(plan)
    return out


def pick_family(cfg: SynthConfig, rng: random.Random, split: str, family: str | None) -> str:
    if family is not None:
        return family
    if split != "train":
        return "espeak"
    if len(cfg.families) == 1:
        return cfg.families[0]
    return "neural" if rng.random() < cfg.neural_share else "espeak"


def voice_job(cfg: SynthConfig, rng: random.Random, utt: corpus.Utterance, split: str,
              family: str | None = None) -> tuple:  # type: ignore[type-arg]
    """render()'s arguments for one utterance by a random speaker of the split's voices."""
    if pick_family(cfg, rng, split, family) == "neural":
        voice = neural_voice(rng, rng.uniform(*cfg.neural_cpm), split)
        return (utt, voice, 0, 0, rng.randrange(1 << 30))
    voices = TRAIN_VOICES if split == "train" else TEST_VOICES
    return (utt, rng.choice(voices), rng.randint(*cfg.speeds), rng.randint(30, 70),
            rng.randrange(1 << 30))


def render_many(jobs: list[tuple], workers: int,  # type: ignore[type-arg]
                desc: str) -> list[Spoken]:
    with ThreadPoolExecutor(workers) as pool:  # espeak-ng: a subprocess; TFLite releases the GIL
        return list(tqdm(pool.map(lambda job: render(*job), jobs), total=len(jobs), desc=desc,
                         leave=False))


# --- keyword windows --------------------------------------------------------------------

@dataclass
class KwsSet:
    x: np.ndarray      # (n, WINDOW, 40) float16 log-mel
    y: np.ndarray      # (n,) int label index into corpus.LABELS


def _windows(spoken: Spoken, feats: np.ndarray, rng: np.random.Generator, label_index: dict[str, int],
             positives: int) -> list[tuple[np.ndarray, int]]:
    out = []
    n = len(feats)
    if spoken.kw_span is not None:
        s, e = spoken.kw_span[0] // HOP, -(-spoken.kw_span[1] // HOP)
        lo, hi = max(e + 2, WINDOW), min(n, s + WINDOW - 2)
        if hi < lo:  # keyword longer than the window: keep its last 2 s
            lo = hi = min(n, e + 3)
        for _ in range(positives):
            end = int(rng.integers(lo, hi + 1))
            out.append((feats[end - WINDOW:end], label_index[spoken.label]))
        # hard negatives from the same sentence: windows that end before the keyword
        if s - 5 >= WINDOW and rng.random() < 0.5:
            end = int(rng.integers(WINDOW, s - 4))
            speech_inside = end > int(LEAD_S * RATE) // HOP + 20
            out.append((feats[end - WINDOW:end],
                        label_index[corpus.FILLER if speech_inside else corpus.SILENCE]))
    else:
        speech_start = int(LEAD_S * RATE * 0.9) // HOP
        for _ in range(2):
            end = int(rng.integers(max(WINDOW, speech_start + 30), n + 1))
            out.append((feats[end - WINDOW:end], label_index[corpus.FILLER]))
        if rng.random() < 0.3:
            out.append((feats[:WINDOW], label_index[corpus.SILENCE]))
    return out


@dataclass
class KwsStreams:
    """Whole held-out utterances as the streaming spotter hears them, for event-level
    recall: utterance i is feats[offsets[i]:offsets[i + 1]], its keyword (if any) spans
    frames [starts[i], ends[i])."""
    feats: np.ndarray    # (frames, 40) float16 log-mel, utterances back to back
    offsets: np.ndarray  # (n + 1,) int64
    y: np.ndarray        # (n,) label index
    starts: np.ndarray   # (n,) int64, -1 without a keyword
    ends: np.ndarray     # (n,) int64, -1 without a keyword

    def save(self, path: Path) -> None:
        save(path, feats=self.feats, offsets=self.offsets, y=self.y, starts=self.starts, ends=self.ends)


def build_kws(cfg: SynthConfig, split: str, *, snr_db: float | None = None,
              strength: float = 1.0, family: str | None = None,
              aug_pass: int = 0) -> tuple[KwsSet, KwsStreams | None]:
    """Training windows (split="train"), or held-out windows and whole utterances
    (split="test") of one voice family. `aug_pass` > 0 hears the same (cached) speech
    through other channels, noise and window positions: more training windows for no
    synthesis."""
    rng = random.Random(f"{cfg.seed}-{split}" + (f"-{family}" if family and family != "espeak" else ""))
    train = split == "train"
    utts = corpus.keyword_utterances(rng, cfg.per_keyword if train else cfg.test_per_keyword,
                                     held_out=not train)
    utts += corpus.negative_utterances(rng, cfg.negatives if train else cfg.test_per_keyword * 6,
                                       held_out=not train)
    jobs = [voice_job(cfg, rng, u, split, family) for u in utts]
    spoken = render_many(jobs, cfg.workers, f"synth {split} {family or ''}")
    label_index = {label: i for i, label in enumerate(corpus.LABELS)}
    nrng = np.random.default_rng(rng.randrange(1 << 30) + 7919 * aug_pass)
    pool = [s.audio for s in spoken if s.kw_span is None][:200]
    xs, ys = [], []
    tracks: list[np.ndarray] = []
    spans: list[tuple[int, int]] = []
    for item in tqdm(spoken, desc=f"features {split}", leave=False):
        audio = item.audio
        if snr_db is not None:
            audio = mix_at_snr(audio, babble(pool, nrng, len(audio)), snr_db)
        elif strength > 0 and nrng.random() < 0.85:
            audio = channel(audio, nrng, pool, strength=strength, babble_p=cfg.babble_p,
                            babble_snr_db=cfg.babble_snr_db)
        feats = logmel(audio)
        for window, label in _windows(item, feats, nrng, label_index, 2 if train else 1):
            xs.append(window.astype(np.float16))
            ys.append(label)
        if not train:
            tracks.append(feats.astype(np.float16))
            span = item.kw_span
            spans.append((span[0] // HOP, -(-span[1] // HOP)) if span else (-1, -1))
    windows = KwsSet(np.stack(xs), np.array(ys, np.int64))
    if train:
        return windows, None
    streams = KwsStreams(np.concatenate(tracks), np.cumsum([0] + [len(t) for t in tracks]),
                         np.array([label_index[item.label] for item in spoken], np.int64),
                         np.array([a for a, _ in spans], np.int64), np.array([b for _, b in spans], np.int64))
    return windows, streams


KWS_TEST_CONDITIONS: dict[str, dict[str, float]] = {"clean": {"strength": 0.0}, "babble10": {"snr_db": 10.0}}


def condition_name(family: str, condition: str) -> str:
    """Held-out set names: "clean", "babble10" (espeak-ng), "neural_clean", ..."""
    return condition if family == "espeak" else f"{family}_{condition}"


def kws_test_sets(cfg: SynthConfig, out: Path) -> None:
    """Held-out keyword windows and whole utterances per family, clean and in 10 dB babble."""
    for family in FAMILIES:
        for condition, kwargs in KWS_TEST_CONDITIONS.items():
            test, streams = build_kws(cfg, "test", family=family, **kwargs)  # type: ignore[arg-type]
            name = condition_name(family, condition)
            save(out / f"kws_test_{name}.npz", x=test.x, y=test.y)
            assert streams is not None
            streams.save(out / f"kws_stream_{name}.npz")


def negative_stream(cfg: SynthConfig, *, snr_db: float | None = None, split: str = "test",
                    minutes: float | None = None, family: str | None = None) -> np.ndarray:
    """At least `fa_minutes` of keyword-free speech, with pauses and noise: by held-out
    voices of one family for evaluation, or by training voices and sentences for
    hard-negative mining."""
    train = split == "train"
    rng = random.Random((f"{cfg.seed}-fa" if not train else f"{cfg.seed}-mine")
                        + (f"-{family}" if family and family != "espeak" else ""))
    target = int((minutes or cfg.fa_minutes) * 60 * RATE)
    pieces: list[np.ndarray] = []
    pool: list[np.ndarray] = []
    total = 0
    while total < target:   # render in batches until the trimmed speech is long enough
        jobs = []
        for _ in range(max(16, int((target - total) / (2.0 * RATE)))):
            utt = corpus.negative_utterances(rng, 1, held_out=not train and rng.random() < 0.5)[0]
            jobs.append(voice_job(cfg, rng, utt, split, family))
        for item in render_many(jobs, cfg.workers, "synth false-alarm stream"):
            speech = item.audio[int(LEAD_S * RATE * 0.8):]
            pieces.append(speech[: len(speech) - int(TAIL_S * RATE * 0.5)])
            total += len(pieces[-1])
            if len(pool) < 200:
                pool.append(item.audio)
    nrng = np.random.default_rng(7)
    stream = np.concatenate(pieces)[:target]
    if snr_db is not None:
        stream = mix_at_snr(stream, babble(pool, nrng, len(stream)), snr_db)
    stream = stream + nrng.standard_normal(len(stream)).astype(np.float32) * 10 ** (-65 / 20)
    return stream.astype(np.float32)


# --- rate windows -----------------------------------------------------------------------

RATE_WINDOW = 1500                 # 15 s of agent speech frames (policy.speech_rate.window_s)
# (espeak-ng -s, -g): from about 55 cpm (slowest speed plus syllable gaps) to about 260
RATE_SPEAKERS = tuple([(80, g) for g in (12, 10, 8, 6, 4, 2)] + [(s, 0) for s in range(80, 216, 8)])


@dataclass
class RateSet:
    x: np.ndarray      # (n, RATE_WINDOW, 40) float16 log-mel of speech-only frames
    y: np.ndarray      # (n,) float32 characters per minute of speech
    z: np.ndarray      # (n, RATE_WINDOW) float32 frame level in dBFS (for the baseline)


def speech_frames(audio: np.ndarray, *, edge: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Indices of frames the label VAD calls speech (the edge VAD as the labels were made;
    `edge`: the pipeline's VAD today, which picks the frames the rate model reads on the
    device), and every frame's RMS level (dBFS)."""
    from seatwatch.edge.dsp.levels import frame_levels
    from seatwatch.edge.dsp.vad import NoiseVad, label_vad
    from seatwatch.edge.policy import Vad

    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)[:, None]
    rms, _ = frame_levels(np.repeat(pcm, 2, axis=1))
    vad = NoiseVad(Vad()) if edge else label_vad()
    speech = vad.process(pcm[: len(rms) * HOP, 0].reshape(-1, HOP))
    return np.flatnonzero(speech).astype(np.int64), rms[:, 0]


RATE_NOISE = {"clean": None, "steady15": (12.0, 20.0)}   # test conditions: steady noise SNR (dB)
# The norm's unit (N5: characters per minute): 60 s of agent speech, as the rate rule judges
# it (policy.speech_rate.judge_speech_s); test sets only, in the edge's own frames and levels
VERDICT_WINDOW = 4 * RATE_WINDOW
VERDICT_LEVELS_DBFS = (-40.0, -20.0)
VERDICT_SUFFIX = "_60s"


def build_rate(cfg: SynthConfig, split: str, family: str | None = None, *, aug_pass: int = 0,
               condition: str = "clean", window: int = RATE_WINDOW) -> RateSet:
    """15 s windows of speech frames with their rate (characters per minute of speech).

    A window's sentences are said one after another into one stream, as on a call: room
    noise (steady or babble, training only at a random SNR; `condition` for the test
    sets) and the capture channel act on the whole stream, the pipeline's VAD picks the
    speech frames from it, and the model sees their log-mel. The label is the characters
    over the seconds the VAD calls speech in the *clean* sentences, the unit the
    call benchmark's truth and the rate rule use, so noise that hides or adds frames
    cannot move it. `aug_pass` > 0 draws other noise and channels for the same speech.

    `window` = VERDICT_WINDOW (test sets): 60 s windows as the device judges them: four
    times the sentences, the stream at a level of VERDICT_LEVELS_DBFS, the frames the
    pipeline's VAD picks (not the label VAD's); the truth keeps the label VAD's unit."""
    from seatwatch.models.synth.augment import steady_noise

    train = split == "train"
    verdict = window > RATE_WINDOW
    rng = random.Random(f"{cfg.seed}-rate-{split}" + (f"-{family}" if family and family != "espeak" else "")
                        + ("-verdict" if verdict else ""))
    scale = window // RATE_WINDOW           # sentences per window, relative to 15 s
    voices = TRAIN_VOICES if train else TEST_VOICES
    sentences = [s for s in corpus.rate_sentences(held_out=not train)]
    count = cfg.rate_windows if train else cfg.rate_test_windows
    nrng = np.random.default_rng(rng.randrange(1 << 30) + 7919 * aug_pass)
    xs, ys, zs = [], [], []
    plans = []
    for _ in range(count):
        speed, gap = rng.choice(RATE_SPEAKERS)
        voice, pitch = rng.choice(voices), rng.randint(30, 70)
        speed += rng.randint(-3, 3) if speed > 83 else 0
        texts = rng.sample(sentences, 6 * scale)
        chosen = pick_family(cfg, rng, split, family)
        if chosen in ("neural", "mellotron"):   # 62-270 cpm, log-uniform
            cpm = math.exp(rng.uniform(math.log(62), math.log(270)))
            voice = neural_voice(rng, cpm, split) if chosen == "neural" else mellotron_voice(rng, cpm, split)
            # neural speech costs ~0.3 s of CPU per second: say only about what fills the window
            texts = texts[:max(2, min(6 * scale, round(scale * cpm / 4 / 15) + 2 * scale))]
        plans.append((voice, speed, pitch, texts, rng.randrange(1 << 30), gap))
    plans = without_failed_renders(plans, cfg.workers)
    jobs = [(corpus.Utterance((text,), None, corpus.FILLER), v, s, p, seed, g)
            for v, s, p, texts, seed, g in plans for text in texts]
    spoken = iter(render_many(jobs, cfg.workers, f"synth rate {split}"))
    recent: list[np.ndarray] = []           # other windows' speech, for babble
    for _voice, _speed, _pitch, texts, _seed, _gap in tqdm(plans, desc=f"rate windows {split}", leave=False):
        items = [next(spoken) for _ in texts]
        pieces, spans, clean_frames = [], [], []
        at = 0
        for item in items:
            silence = np.zeros(int(nrng.uniform(0.15, 0.7) * RATE), np.float32)
            pieces += [item.audio.astype(np.float32), silence]
            spans.append((at // HOP, (at + len(item.audio)) // HOP))
            at += len(item.audio) + len(silence)
            clean_frames.append(len(speech_frames(item.audio)[0]))
        stream = np.concatenate(pieces)
        if train:
            if len(recent) >= 8 and nrng.random() < 0.65:
                snr = float(nrng.uniform(6.0, 30.0))
                noise = steady_noise(nrng, len(stream)) if nrng.random() < 0.55 else \
                    babble(recent, nrng, len(stream), talkers=int(nrng.integers(3, 7)))
                stream = mix_at_snr(stream, noise, snr)
            stream = channel(stream, nrng, None, strength=1.0)
        elif RATE_NOISE[condition] is not None:
            snr = float(nrng.uniform(*RATE_NOISE[condition]))
            stream = mix_at_snr(stream, steady_noise(nrng, len(stream)), snr)
        if verdict:
            from seatwatch.edge.callbench.render import set_level
            stream = set_level(stream, float(nrng.uniform(*VERDICT_LEVELS_DBFS)))
        recent = (recent + [item.audio for item in items])[-60:]
        idx, rms = speech_frames(stream, edge=verdict)
        if len(idx) < window * (0.95 if verdict else 0.6):
            continue
        taken = idx[:window]
        chars = speech = 0.0
        for item, (first, last), frames in zip(items, spans, clean_frames, strict=True):
            kept = np.count_nonzero((idx >= first) & (idx < last))
            if not kept or not frames:
                continue
            # a cut sentence counts in part
            share = np.count_nonzero((taken >= first) & (taken < last)) / kept
            chars += item.chars * share
            speech += frames * share
        if speech < window * 0.3:
            continue
        x = logmel(stream)[taken]
        z = rms[taken]
        pad = window - len(x)
        x = np.concatenate([x, np.full((pad, x.shape[1]), np.log(1e-6), np.float32)])
        z = np.concatenate([z, np.full(pad, -120.0, np.float32)])
        xs.append(x.astype(np.float16))
        zs.append(z.astype(np.float32))
        ys.append(chars / (speech / 100.0) * 60.0)
    return RateSet(np.stack(xs), np.array(ys, np.float32), np.stack(zs))


def extra_train_passes(cfg: SynthConfig, out: Path, passes: int) -> list[Path]:
    """kws_train_pass{1..passes}.npz beside kws_train.npz (built once, then reused)."""
    paths = []
    for index in range(1, passes + 1):
        path = out / f"kws_train_pass{index}.npz"
        if not path.exists():
            windows, _ = build_kws(cfg, "train", aug_pass=index)
            save(path, x=windows.x, y=windows.y)
        paths.append(path)
    return paths


FULL_RATE_WINDOWS = 200      # from this many base windows on, the extra rate sets are built


def rate_train_sets(cfg: SynthConfig, out: Path) -> list[Path]:
    """The rate model's training windows (built once, then reused): the base windows of
    both families, as many again by espeak-ng voices alone from another seed (cheap to
    synthesize; neural speech costs ~1 s of CPU per sentence), neural-only windows from a
    third seed, Mellotron-only windows (its training speakers) from a fourth, and a second
    noise-and-channel pass over all but the espeak-only ones (the quick configuration:
    its base windows only)."""
    from dataclasses import replace

    sources = [("rate2_train", cfg)]
    if cfg.rate_windows >= FULL_RATE_WINDOWS:     # the quick configuration: its base windows only
        sources += [("rate2_train_espeak", replace(cfg, seed=cfg.seed + 3087, rate_windows=700,
                                                   families=("espeak",))),
                    ("rate2_train_neural", replace(cfg, seed=cfg.seed + 5011,
                                                   rate_windows=cfg.rate_windows, families=("neural",))),
                    ("rate2_train_mellotron", replace(cfg, seed=cfg.seed + 6173,
                                                      rate_windows=cfg.rate_windows,
                                                      families=("mellotron",)))]
    paths = []
    for name, source_cfg in sources:
        # the neural families' windows twice, with other noise and channels (their
        # speech is the costly part: the second pass reuses it)
        passes = (0, 1) if name != "rate2_train_espeak" and len(sources) > 1 else (0,)
        for aug_pass in passes:
            path = out / f"{name}{f'_pass{aug_pass}' if aug_pass else ''}.npz"
            if not path.exists():
                rate = build_rate(source_cfg, "train", aug_pass=aug_pass)
                save(path, x=rate.x, y=rate.y, z=rate.z)
            paths.append(path)
    return paths


def rate_test_sets(cfg: SynthConfig, out: Path) -> dict[tuple[str, str], Path]:
    """Held-out rate windows per (family, condition): clean and in steady noise, 15 s (the
    model's input) and 60 s (the rule's verdict) (the Mellotron family's and the 60 s ones
    with the full configuration only: the quick one trains without Mellotron, its voices
    need their own environment, `make voices`, and CI has no time for 60 s of neural speech)."""
    paths = {}
    full = cfg.rate_windows >= FULL_RATE_WINDOWS
    windows = (("", RATE_WINDOW), (VERDICT_SUFFIX, VERDICT_WINDOW)) if full else (("", RATE_WINDOW),)
    for family in RATE_FAMILIES if full else FAMILIES:
        for condition in RATE_NOISE:
            for suffix, window in windows:
                path = out / f"rate2_test_{family}_{condition}{suffix}.npz"
                if not path.exists():
                    rate = build_rate(cfg, "test", family, condition=condition, window=window)
                    save(path, x=rate.x, y=rate.y, z=rate.z)
                paths[(family, condition + suffix)] = path
    return paths


def synth_rate(cfg: SynthConfig) -> Path:
    """Build (or reuse) the rate model's sets alone (training and evaluating the rate
    model needs nothing else); returns the folder synth_all uses."""
    out = data_dir(cfg)
    rate_train_sets(cfg, out)
    rate_test_sets(cfg, out)
    return out


def save(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)


def synth_all(cfg: SynthConfig) -> Path:
    """Build (or reuse) every data set for `cfg`; returns its folder."""
    out = data_dir(cfg)
    if (out / "done.json").exists():
        if not (out / "kws_stream_clean.npz").exists():    # data sets from before event-level recall
            kws_test_sets(cfg, out)
        rate_train_sets(cfg, out)                       # rate sets from before stream windows
        rate_test_sets(cfg, out)
        return out
    kws_train, _ = build_kws(cfg, "train")
    save(out / "kws_train.npz", x=kws_train.x, y=kws_train.y)
    kws_test_sets(cfg, out)
    for family in FAMILIES:
        for condition, snr in (("clean", None), ("babble10", 10.0)):
            save(out / f"fa_{condition_name(family, condition)}.npz",
                 audio=negative_stream(cfg, snr_db=snr, family=family))
    rate_train_sets(cfg, out)
    rate_test_sets(cfg, out)
    (out / "done.json").write_text(json.dumps(asdict(cfg)))
    return out
