"""Design E (issues 12 and 16): a sub-word acoustic model and keyword scoring from text.

The fixed-class spotter learns eleven keywords from a few hundred examples each and does
not separate them from call speech (您请讲 scores 您好 at 0.5). This design learns every
syllable of every training sentence instead: a small convolutional network over the
edge's 40-band log-mel outputs, every 40 ms, posteriors over toneless pinyin initials
and finals (plus the CTC blank), trained with CTC on whole sentences whose pinyin is
exact (synthesized from text). A keyword is then any text: its token sequence is scored
against the posteriors by `seatwatch.edge.models.phrases` (an ordered chain of token
peaks), so a center's own phrases need no retraining.

    synth  render training sentences (train templates only) by the training voices of
           both families, through the capture chain, to log-mel + token ids (no
           TensorFlow in this process: the neural voice cannot load after it)
    train  CTC training (TensorFlow), int8 export with float logits
    calls  per agent utterance of the benchmark's rendered calls, every keyword's score
           from the posteriors, beside the shipped spotter's (`seatwatch eval --keywords`
           rows): the same table, so the designs compare on call speech

    python -m seatwatch.models.experiments.syllable_ctc synth|train|calls
"""

from __future__ import annotations

import argparse
import json
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.dsp.features import logmel
from seatwatch.edge.models import phrases
from seatwatch.edge.models.subword import normalise
from seatwatch.models.synth import augment, corpus, mellotron
from seatwatch.models.synth.dataset import NEURAL_TRAIN_WARPS, RATE, TRAIN_VOICES
from seatwatch.models.synth.neural import NeuralVoice, speak_neural
from seatwatch.models.synth.speech import cache_dir, speak

WORK = cache_dir() / "experiments" / "syllable_ctc"
OUT = Path(__file__).resolve().parent
REPORT = OUT / "design_e_syllable_ctc_eval.json"
NEURAL_NATURAL_CPM = 300.0


# --- synth ------------------------------------------------------------------------------

ESPEAK_WARPS = (0.88, 1.12)      # formant (vocal-tract-length) warps of espeak-ng with --warp


def _formant_warp(audio: np.ndarray, warp: float) -> np.ndarray:
    """Resample as if played `warp` times faster: formants and pitch move by `warp` (a
    shorter or longer vocal tract), the tempo too (the caller asks espeak-ng for a
    compensating speed)."""
    from scipy.signal import resample_poly

    return resample_poly(audio, 1000, round(1000 * warp)).astype(np.float32)


def _word_string(rng: random.Random) -> str:
    """2-6 dictionary words (pypinyin's phrase table, 2-4 characters) run together: every
    syllable pair of the language in any order, so the model hears syllables outside the
    corpus's service sentences (the independent calls say things the corpus never did)."""
    words = _dictionary_words()
    picked = [rng.choice(words) for _ in range(rng.randint(2, 6))]
    return "".join(w + ("，" if rng.random() < 0.2 else "") for w in picked).rstrip("，")


_WORDS: list[str] = []


def _dictionary_words() -> list[str]:
    if not _WORDS:
        from pypinyin.phrases_dict import phrases_dict

        _WORDS.extend(sorted(w for w in phrases_dict if 2 <= len(w) <= 4))
    return _WORDS


NEURAL_CPM = {"normal": (90.0, 280.0), "slow": (55.0, 95.0)}     # --tempo
ESPEAK_SPEED = {"normal": (85, 230), "slow": (55, 90)}
MELLOTRON_WARPS = (0.92, 1.08)


def _voice_audio(text: str, rng: random.Random, neural: bool, warp: bool = False,
                 tempo: str = "normal") -> np.ndarray:
    if neural:
        cpm = rng.uniform(*NEURAL_CPM[tempo])
        duration = min(3.5, max(0.9, NEURAL_NATURAL_CPM / cpm))
        duration = round(float(np.exp(round(np.log(duration) / 0.06) * 0.06)), 3)
        lo, hi = rng.choice(NEURAL_TRAIN_WARPS)
        voice = NeuralVoice(duration, rng.choice((0.75, 0.87, 1.0, 1.12, 1.25)), 1.0,
                            round(rng.uniform(lo, hi), 3))
        return speak_neural(text, voice)
    factor = rng.uniform(*ESPEAK_WARPS) if warp and rng.random() < 0.7 else 1.0
    speed = round(rng.randint(*ESPEAK_SPEED[tempo]) / factor)
    audio = speak(text, voice=rng.choice(TRAIN_VOICES), speed=speed,
                  pitch=rng.randint(25, 75), gap=rng.choice((0, 0, 0, 2, 5, 10)))
    return audio if factor == 1.0 else _formant_warp(audio, factor)


def _job(args: tuple[int, str, bool, int, bool, str]) -> tuple[np.ndarray, np.ndarray] | None:
    index, text, neural, seed, warp, tempo = args
    rng = random.Random(seed)
    try:
        audio = _voice_audio(text, rng, neural, warp, tempo)
    except Exception:       # a sentence the synthesizer refuses is simply left out
        return None
    lead = np.zeros(int(rng.uniform(0.1, 0.5) * RATE), np.float32)
    tail = np.zeros(int(rng.uniform(0.1, 0.5) * RATE), np.float32)
    return np.concatenate([lead, audio, tail]), np.array(phrases.token_ids(text), np.int16)


def _mellotron_utterances(jobs: list[tuple[str, int]], tempo: str,
                          workers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The Mellotron family's training speakers (models/synth/mellotron.py): paced like the
    Baker voice's utterances by stretching the mel frames, half of them formant-warped."""
    voices, warps = [], []
    for _, seed in jobs:
        rng = random.Random(seed)
        cpm = rng.uniform(*NEURAL_CPM[tempo])
        warps.append(rng.uniform(*MELLOTRON_WARPS) if rng.random() < 0.5 else 1.0)
        stretch = round(max(0.9, mellotron.NATURAL_CPM / cpm) * warps[-1], 2)
        voices.append(mellotron.MellotronVoice(rng.choice(mellotron.TRAIN_SPEAKERS), stretch))
    started = time.time()
    rendered = mellotron.render_many([(text, voice) for (text, _), voice in zip(jobs, voices, strict=True)],
                                     workers)
    out = []
    for (text, seed), audio, factor in zip(jobs, rendered, warps, strict=True):
        if audio is None:
            continue
        rng = random.Random(seed + 1)
        audio = audio if factor == 1.0 else _formant_warp(audio, factor)
        lead = np.zeros(int(rng.uniform(0.1, 0.5) * RATE), np.float32)
        tail = np.zeros(int(rng.uniform(0.1, 0.5) * RATE), np.float32)
        out.append((np.concatenate([lead, audio, tail]), np.array(phrases.token_ids(text), np.int16)))
    print(f"Mellotron: {len(out)} of {len(jobs)} utterances kept in {time.time() - started:.0f} s")
    return out


def synth(count: int, neural_share: float, seed: int, workers: int, words_share: float = 0.0,
          warp: bool = False, tempo: str = "normal", mellotron_share: float = 0.0) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    ms_jobs: list[tuple[str, int]] = []
    sentences = corpus.rate_sentences(held_out=False)
    forms = [form for forms in corpus.KEYWORDS.values() for form in forms]
    jobs = []
    for index in range(count):
        # one in ten: a keyword alone or two sentences run together (short and long turns)
        roll = rng.random()
        if roll < 0.05:
            text = rng.choice(forms)
        elif roll < 0.05 + words_share:
            text = _word_string(rng)
        elif roll < 0.12 + words_share:
            text = rng.choice(sentences) + "，" + rng.choice(sentences)
        else:
            text = rng.choice(sentences)
        if rng.random() < mellotron_share:
            ms_jobs.append((text, rng.randrange(1 << 30)))
        else:
            jobs.append((index, text, rng.random() < neural_share, rng.randrange(1 << 30), warp, tempo))
    started = time.time()
    with ProcessPoolExecutor(workers) as pool:
        spoken = [r for r in pool.map(_job, jobs, chunksize=8) if r is not None]
    spoken += _mellotron_utterances(ms_jobs, tempo, workers)
    print(f"rendered {len(spoken)} utterances in {time.time() - started:.0f} s")
    nrng = np.random.default_rng(seed)
    pool_audio = [a for a, _ in spoken[:200]]
    feats, tokens = [], []
    for audio, ids in spoken:
        y = audio
        if nrng.random() < 0.3:
            y = augment.mix_at_snr(y, augment.steady_noise(nrng, len(y)), float(nrng.uniform(5, 30)))
        y = augment.channel(y, nrng, pool_audio, babble_p=0.45, babble_snr_db=(3.0, 25.0))
        feats.append(logmel(y).astype(np.float16))
        tokens.append(ids)
    lengths = np.array([len(f) for f in feats])
    np.savez(WORK / f"train_{seed}.npz", feats=np.concatenate(feats), lengths=lengths,
             tokens=np.concatenate(tokens), token_lengths=np.array([len(t) for t in tokens]))
    print(f"{len(feats)} utterances, {lengths.sum() / 100 / 3600:.2f} h -> {WORK}")


# --- train ------------------------------------------------------------------------------

CHUNK = 300          # 10 ms frames per edge inference (3 s); offline the model runs on any length
STRIDE = 4           # output every 40 ms


def _utterances(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    data = np.load(path)
    feats = np.split(data["feats"], np.cumsum(data["lengths"])[:-1])
    toks = np.split(data["tokens"], np.cumsum(data["token_lengths"])[:-1])
    return [normalise(f) for f in feats], [t.astype(np.int32) for t in toks]


def build_model(width: int = 128, dilations: tuple[int, ...] = (1, 2, 4, 1, 2)) -> Any:
    import tensorflow as tf

    inp = tf.keras.Input((None, 40))
    x = tf.keras.layers.Conv1D(64, 3, padding="same", activation="relu")(inp)
    x = tf.keras.layers.Conv1D(96, 5, strides=2, padding="same", use_bias=False)(x)
    x = tf.keras.layers.ReLU()(tf.keras.layers.BatchNormalization()(x))
    x = tf.keras.layers.Conv1D(width, 5, strides=2, padding="same", use_bias=False)(x)
    x = tf.keras.layers.ReLU()(tf.keras.layers.BatchNormalization()(x))
    for d in dilations:
        y = tf.keras.layers.SeparableConv1D(width, 5, dilation_rate=d, padding="same", use_bias=False)(x)
        y = tf.keras.layers.ReLU()(tf.keras.layers.BatchNormalization()(y))
        x = tf.keras.layers.Add()([x, y])
    x = tf.keras.layers.Dropout(0.1)(x)
    out = tf.keras.layers.Dense(len(phrases.TOKENS) + 1)(x)
    return tf.keras.Model(inp, out)


def _spec_augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = x.copy()
    for _ in range(2):
        f = int(rng.integers(0, 7))
        f0 = int(rng.integers(0, 40 - f))
        x[:, f0:f0 + f] = x.mean()
    for _ in range(max(1, len(x) // 300)):
        t = int(rng.integers(0, 12))
        t0 = int(rng.integers(0, max(1, len(x) - t)))
        x[t0:t0 + t] = x.mean()
    return x


def train(seeds: list[int], minutes: float, batch: int, resume: bool = False, lr: float = 2e-3) -> None:
    import tensorflow as tf

    feats: list[np.ndarray] = []
    toks: list[np.ndarray] = []
    for seed in seeds:
        f, t = _utterances(WORK / f"train_{seed}.npz")
        feats += f
        toks += t
    keep = [i for i in range(len(feats)) if len(toks[i]) * 2 < len(feats[i]) // STRIDE]
    feats, toks = [feats[i] for i in keep], [toks[i] for i in keep]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(feats))
    val = set(order[: max(20, len(order) // 25)].tolist())
    train_ix = [i for i in range(len(feats)) if i not in val]
    print(f"{len(train_ix)} training utterances, {len(val)} validation")
    model = tf.keras.models.load_model(WORK / "model.keras") if resume else build_model()
    print(f"{model.count_params()} parameters")
    opt = tf.keras.optimizers.Adam(lr)

    def pad(ix: list[int], augment_: bool) -> tuple[np.ndarray, ...]:
        frames = max(len(feats[i]) for i in ix)
        frames = int(np.ceil(frames / 100) * 100)
        x = np.full((len(ix), frames, 40), -8.0, np.float32)
        labels = np.zeros((len(ix), max(len(toks[i]) for i in ix)), np.int32)
        for row, i in enumerate(ix):
            f = _spec_augment(feats[i], rng) if augment_ else feats[i]
            x[row, : len(f)] = f
            labels[row, : len(toks[i])] = toks[i]
        lengths = np.array([-(-len(feats[i]) // STRIDE) for i in ix], np.int32)
        return x, labels, np.array([len(toks[i]) for i in ix], np.int32), lengths

    def step(x: Any, labels: Any, label_len: Any, logit_len: Any, training: bool) -> Any:
        return (train_step if training else val_step)(x, labels, label_len, logit_len)

    signature = [tf.TensorSpec((None, None, 40), tf.float32), tf.TensorSpec((None, None), tf.int32),
                 tf.TensorSpec((None,), tf.int32), tf.TensorSpec((None,), tf.int32)]

    @tf.function(input_signature=signature)
    def train_step(x: Any, labels: Any, label_len: Any, logit_len: Any) -> Any:
        return loss_of(x, labels, label_len, logit_len, True)

    @tf.function(input_signature=signature)
    def val_step(x: Any, labels: Any, label_len: Any, logit_len: Any) -> Any:
        return loss_of(x, labels, label_len, logit_len, False)

    def loss_of(x: Any, labels: Any, label_len: Any, logit_len: Any, training: bool) -> Any:
        with tf.GradientTape() as tape:
            logits = model(x, training=training)
            loss = tf.reduce_mean(tf.nn.ctc_loss(labels, logits, label_len, logit_len,
                                                 logits_time_major=False, blank_index=-1))
        if training:
            grads = tape.gradient(loss, model.trainable_variables)
            grads, _ = tf.clip_by_global_norm(grads, 5.0)
            opt.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    by_length = sorted(train_ix, key=lambda i: len(feats[i]))
    batches = [by_length[k:k + batch] for k in range(0, len(by_length), batch)]
    val_ix = sorted(val, key=lambda i: len(feats[i]))
    val_batches = [val_ix[k:k + batch] for k in range(0, len(val_ix), batch)]
    started, epoch, best = time.time(), 0, np.inf
    deadline = started + minutes * 60
    while time.time() < deadline:
        epoch += 1
        if epoch in (12, 18) and not resume:
            opt.learning_rate.assign(opt.learning_rate * 0.4)
        losses = [float(step(*pad(batches[j], True), True)) for j in rng.permutation(len(batches))]
        val_loss = float(np.mean([float(step(*pad(b, False), False)) for b in val_batches]))
        print(f"epoch {epoch}: train {np.mean(losses):.3f} val {val_loss:.3f} "
              f"({(time.time() - started) / 60:.1f} min)", flush=True)
        if val_loss < best:
            best = val_loss
            model.save(WORK / "model.keras")


# --- export and calls ---------------------------------------------------------------------

CANDIDATE = WORK / "candidate"


# N4's taboo phrases that no training sentence says (NORMS.md: 不归我管): heard as text, as
# design E promises, and calibrated with the model's own labels (the taboo rule)
TEXT_ONLY_TABOO: dict[str, tuple[str, ...]] = {"不归我管": ("不归我管",)}
# N2's greetings by the time of the call, which the norms document allows beside 您好
# (首问语的灵活使用: "早上好!"、"中午好!"...): heard as text too
TEXT_ONLY_GREETINGS: dict[str, tuple[str, ...]] = {g: (g,) for g in ("早上好", "中午好", "下午好", "晚上好")}


# Readings the model hears beside the dictionary's, measured on held-out voices: the neural
# voice's light-toned 法 in 没办法 (bàn·fa) has a plosive onset to the model (@d a or @b a in
# 8 of 12 utterances, models/experiments/README.md); the readings' false scores on the
# calibration streams stay under the label's threshold, which they share.
HEARD_AS: dict[str, tuple[str, ...]] = {"没办法": ("没办法|mei ban da", "没办法|mei ban ba")}


def phrase_table() -> dict[str, list[str]]:
    """The config's phrases: the corpus's keywords with their spoken forms and the readings
    heard as well, then the text-only taboos and greetings."""
    from seatwatch.edge.callbench.keywords import spoken_forms

    table = {label: [*forms, *HEARD_AS.get(label, ())] for label, forms in spoken_forms().items()}
    text_only = {**TEXT_ONLY_TABOO, **TEXT_ONLY_GREETINGS}
    return {**table, **{label: list(forms) for label, forms in text_only.items()}}


def export(default_threshold: float, max_gap: int, gap_weight: float = 1.0) -> Path:
    """model.keras -> CANDIDATE/subword.tflite (int8, logits out) + subword.json with the
    corpus's keywords as phrases, and the shipped fixed-class models beside it."""
    import shutil

    import tensorflow as tf

    from seatwatch.edge.models.keywords import MODEL_DIR
    from seatwatch.models.train.convert import to_int8_tflite

    trained = tf.keras.models.load_model(WORK / "model.keras")
    fixed = build_model()
    fixed = tf.keras.Model(*_fixed_shape(fixed, tf))
    fixed.set_weights(trained.get_weights())
    feats, _ = _utterances(sorted(WORK.glob("train_*.npz"))[0])
    chunks = np.stack([f[:CHUNK] for f in feats if len(f) >= CHUNK][:400])
    CANDIDATE.mkdir(parents=True, exist_ok=True)
    (CANDIDATE / "subword.tflite").write_bytes(to_int8_tflite(fixed, chunks))
    doc = {"tokens": list(phrases.TOKENS), "window": CHUNK, "hop": 100, "stride": STRIDE,
           "margin": 100, "max_gap": max_gap, "spread": 1, "refractory_frames": 150,
           "gap_weight": gap_weight, "gap_floor": 0.01,
           "default_threshold": default_threshold, "long_phrase_tokens": 10, "long_phrase_threshold": 0.2,
           "thresholds": {},
           "phrases": phrase_table()}
    (CANDIDATE / "subword.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                                           encoding="utf-8")
    for name in ("kws.tflite", "kws.json", "rate.tflite", "rate.json"):
        shutil.copy(MODEL_DIR / name, CANDIDATE / name)
    print(f"exported {CANDIDATE} ({(CANDIDATE / 'subword.tflite').stat().st_size // 1024} KiB)")
    return CANDIDATE


def _fixed_shape(model: Any, tf: Any) -> tuple[Any, Any]:
    inp = tf.keras.Input((CHUNK, 40), batch_size=1)
    return inp, model(inp)


def e_rows(job: tuple[str, str, str, list[int], list[int]]) -> dict[str, list[dict[str, Any]]]:
    """Worker: (audio, truth, candidate folder, max gaps, spreads) -> per decoder setting
    ("E<gap>s<spread>"), per agent utterance, every keyword's peak score from the sub-word
    model, as `seatwatch eval --keywords` rows."""
    from seatwatch.edge.callbench.keywords import LATE_S, spoken_forms
    from seatwatch.edge.models.subword import PhraseSpotter
    from seatwatch.edge.sources.wavfile import read_stereo

    audio, truth_path, folder, max_gaps, spreads = job
    forms = spoken_forms()
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    spotter = PhraseSpotter(Path(folder) / "subword.tflite")
    at, logp = spotter.frame_posteriors(logmel(read_stereo(Path(audio))[:, 0]))
    at_s = at / 100.0
    finals = np.exp(logp[:, len(phrases.INITIALS):phrases.BLANK]).sum(axis=1)   # soft count
    labels = spotter.cfg.labels
    out: dict[str, list[dict[str, Any]]] = {}
    for gap in max_gaps:
        for spread in spreads:
            object.__setattr__(spotter.cfg, "max_gap", gap)
            object.__setattr__(spotter.cfg, "spread", spread)
            scores = np.stack([spotter._label_scores(logp, label) for label in labels], axis=1)
            rows = out.setdefault(f"E{gap}s{spread}", [])
            for utterance in truth["measured"]["utterances"]:
                if utterance["who"] != "agent":
                    continue
                inside = (at_s > utterance["start"]) & (at_s <= utterance["end"] + LATE_S)
                peak = scores[inside].max(axis=0) if inside.any() else np.zeros(len(labels))
                span = (at_s > utterance["start"]) & (at_s <= utterance["end"] + 0.3)
                rows.append({"call": truth["id"], "family": truth["family"], "noise": truth["noise"],
                             "present": [k for k in labels if any(f in utterance["text"] for f in forms[k])],
                             "peak": {k: float(peak[i]) for i, k in enumerate(labels)},
                             "chars": corpus.han_chars(utterance["text"]),
                             "finals": float(finals[span].sum()),
                             "seconds": utterance["end"] - utterance["start"]})
    return out


def calls(root: Path, max_gaps: list[int], limit: int, with_b: bool, spreads: list[int]) -> None:
    import multiprocessing

    from seatwatch.edge.callbench.keywords import keyword_table, peaks_job, print_table, spoken_forms

    forms = spoken_forms()
    pairs = [(t, t.with_name(t.name.replace(".truth.json", ".wav")))
             for t in sorted(root.glob("*.truth.json"))[:limit]]
    pairs = [(t, w) for t, w in pairs if w.exists()]
    rows: dict[str, list[dict[str, Any]]] = {}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        if with_b:
            rows["B"] = [r for part in pool.map(peaks_job, [(str(w), str(t), None) for t, w in pairs])
                         for r in part]
        jobs = [(str(w), str(t), str(CANDIDATE), max_gaps, spreads) for t, w in pairs]
        for part in pool.map(e_rows, jobs):
            for name, found in part.items():
                rows.setdefault(name, []).extend(found)
    report: dict[str, Any] = {"calls": len(pairs), "root": str(root)}
    for name, table_rows in rows.items():
        for family in ("espeak", "neural", None):
            subset = [r for r in table_rows if family is None or r["family"] == family]
            if not subset:
                continue
            print(f"\n== {name} {family or 'all'}: {len(subset)} agent utterances")
            table = keyword_table(subset, {k: 0.5 for k in forms})
            print_table(table)
            report[f"{name}:{family or 'all'}"] = table
    for name, table_rows in rows.items():
        if name.startswith("E"):
            for family in ("espeak", "neural"):
                sub = [r for r in table_rows if r["family"] == family and r["chars"] >= 8]
                ratio = np.array([r["finals"] / r["chars"] for r in sub])
                if len(ratio):
                    report[f"{name}:{family}:syllable_count"] = {
                        "utterances": len(sub), "mean_ratio": round(float(ratio.mean()), 3),
                        "mae_ratio": round(float(np.abs(ratio - 1).mean()), 3)}
                    print(name, family, report[f"{name}:{family}:syllable_count"])
    REPORT.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# --- calibrate --------------------------------------------------------------------------

# candidate thresholds: the sub-word scores (geometric means of posteriors) sit lower
# than the fixed-class softmax, so the steps start at 0.2
STEPS = tuple([round(0.2 + 0.01 * i, 2) for i in range(80)] + [round(1 - 10 ** (-k / 20), 6)
                                                              for k in range(41, 101)])
FLOOR_FA_PER_HOUR = 5.0                # the closing's last ~10 s: ~1.4 % chance if it were random speech
GREETING_FLOOR_FA_PER_HOUR = 100.0     # a 4 s first turn: ~11 % chance if it were random speech
# real text as well (models/eval/real_text.py): minutes per espeak-ng and per neural condition
REAL_TEXT_FIT_MINUTES, REAL_TEXT_FIT_SEED = (180.0, 30.0), 22
# label -> the fixed-class spotter's smoothed score that confirms a taboo phrase under its
# threshold (SubwordConfig.agree; the phrase's own bar there: its threshold on the corpus's
# streams alone). 不知道: the real text takes its threshold to 0.73 (不知当代, 直到: 不知道 less a
# syllable, at 0.72), where the neural voice's 不知道 in babble is heard 0.33; the fixed-class
# model scores 0.2 or less on most of those near-misses and >= 0.9 on most true 不知道
# (models/experiments/README.md, eighth session)
SECOND_OPINION = {"不知道": 0.5}
CONDITIONS = {"clean": ("espeak", None), "babble10": ("espeak", 10.0),
              "neural_clean": ("neural", None), "neural_babble10": ("neural", 10.0)}


def _stream_job(job: tuple[str, float]) -> str:
    """Worker: render a held-out keyword-free stream (no TensorFlow around) -> npz path."""
    from seatwatch.models.synth.dataset import SynthConfig, negative_stream

    name, minutes = job
    path = WORK / f"fa_{name}_{minutes:g}.npz"
    if not path.exists():
        family, snr = CONDITIONS[name]
        audio = negative_stream(SynthConfig(workers=1), snr_db=snr, family=family, minutes=minutes)
        np.savez(path, feats=logmel(audio).astype(np.float16))
    return str(path)


def calibrate(minutes: float) -> dict[str, Any]:
    """Thresholds per keyword on held-out keyword-free speech of held-out voices of both
    families, clean and in 10 dB babble (the corpus's sentences, and real written Chinese:
    half "fit" of models/eval/real_text.py's clauses), by the shipped model's rule (<= 0.5 false
    alarms/hour, 0.1 for the taboo phrases): written into the candidate's subword.json."""
    import multiprocessing

    from seatwatch.edge.models.subword import PhraseSpotter
    from seatwatch.models.eval import real_text
    from seatwatch.models.eval.evaluate import FA_PER_HOUR_FORBIDDEN, FA_PER_HOUR_MAX, FORBIDDEN, false_alarms

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        paths = list(pool.map(_stream_job, [(name, minutes) for name in CONDITIONS]))
    # and real written Chinese (half "fit" of real_text's clauses; its half "eval" is the test)
    fit, _ = real_text.stream_paths("fit", *REAL_TEXT_FIT_MINUTES, seed=REAL_TEXT_FIT_SEED)
    names = [*CONDITIONS, *(f"real_{name}" for name in fit)]
    paths += [str(path) for path in fit.values()]
    spotter = PhraseSpotter(CANDIDATE / "subword.tflite")
    refractory = spotter.cfg.refractory_frames // spotter.cfg.stride
    tracks, floor_tracks, plain_tracks = [], [], []     # each bar on its own chain (PhraseSpotter._chain)
    for path in paths:
        feats = np.load(path)["feats"].astype(np.float32)
        tracks.append((spotter.frame_scores(feats)[1], len(feats) / 100 / 3600))
        floor_tracks.append(spotter.frame_scores(feats, "floor")[1])
        plain_tracks.append(spotter.frame_scores(feats, "plain")[1])
    corpus = len(CONDITIONS)        # the first streams: the corpus's sentences
    labels = spotter.cfg.labels

    def lowest(label: str, per_hour: float, chain: list[np.ndarray] | None = None,
               real: bool = False) -> float:
        """The lowest step whose false alarms over the streams (the corpus's; with `real`
        the real text's too) stay <= per_hour."""
        used = slice(None) if real else slice(0, corpus)
        allowed = int(np.floor(per_hour * sum(h for _, h in tracks[used])))
        columns = [scores[:, labels.index(label)] for scores in (chain or [t for t, _ in tracks])[used]]
        return next((t for t in STEPS if sum(false_alarms(c, t, refractory) for c in columns) <= allowed),
                    STEPS[-1])

    # The taboo phrases answer to the real text as well: a false taboo alert on an innocent
    # agent is the costliest error. The other labels and every floor keep the corpus's
    # streams (measured with all on the real text too: 8 h let 请稍等 fall to 0.2 and 再见
    # to 0.61, and seed 14's neural calls gained a false hold_checkin_missed)
    taboo = (*FORBIDDEN, *TEXT_ONLY_TABOO)
    thresholds = {label: lowest(label, FA_PER_HOUR_FORBIDDEN, real=True) if label in taboo
                  else lowest(label, FA_PER_HOUR_MAX) for label in labels}
    agree = {label: [min(lowest(label, FA_PER_HOUR_FORBIDDEN), thresholds[label]), fixed]
             for label, fixed in SECOND_OPINION.items() if label in labels}
    # where a keyword is expected the rules accept a lower floor: FLOOR_FA_PER_HOUR false
    # alarms on keyword-free speech, on the strict score (the closing's last turns), and on
    # the plain chain for the greeting's one first turn of a few seconds, which allows more
    # for 您好 (the time-of-day greetings keep 5/h: four more at 100/h would often hear a
    # greeting in a first turn without one)
    floors = {label: lowest(label, FLOOR_FA_PER_HOUR, floor_tracks) for label in labels}
    plain_floors = {label: lowest(label, GREETING_FLOOR_FA_PER_HOUR if label == "您好" else FLOOR_FA_PER_HOUR,
                                  plain_tracks) for label in labels}
    # a time-of-day greeting is heard at its threshold only: on the looser chains 中午好 is
    # heard in 我的工号 (工号 ~ 午好, the agent's usual first words; seed 13's c0195)
    for label in TEXT_ONLY_GREETINGS:
        floors.pop(label, None)
        plain_floors.pop(label, None)
    fa = {name: {label: false_alarms(scores[:, i], thresholds[label], refractory)
                 for i, label in enumerate(labels)}
          for name, (scores, _) in zip(names, tracks, strict=True)}
    doc_path = CANDIDATE / "subword.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    doc["thresholds"], doc["floors"], doc["plain_floors"] = thresholds, floors, plain_floors
    doc["agree"] = agree
    doc_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out = {"thresholds": thresholds, "floors": floors, "plain_floors": plain_floors, "agree": agree,
           "hours": round(sum(h for _, h in tracks), 3),
           "false_alarms": fa,
           "top_scores": {name: {label: round(float(scores[:, i].max()), 4)
                                 for i, label in enumerate(labels)}
                          for name, (scores, _) in zip(names, tracks, strict=True)}}
    print(json.dumps(out, ensure_ascii=False, indent=1))
    return out


# --- adopt ------------------------------------------------------------------------------

def adopt(keep_fixed: list[str]) -> None:
    """Ship the candidate: subword.tflite and its config into models/, owning every label
    but `keep_fixed` (those measured better by the fixed-class spotter)."""
    import shutil

    from seatwatch.edge.models.keywords import MODEL_DIR

    doc = json.loads((CANDIDATE / "subword.json").read_text(encoding="utf-8"))
    for key in ("phrases", "thresholds", "floors", "plain_floors", "agree"):
        doc[key] = {label: v for label, v in doc.get(key, {}).items() if label not in keep_fixed}
    shutil.copy(CANDIDATE / "subword.tflite", MODEL_DIR / "subword.tflite")
    (MODEL_DIR / "subword.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                                            encoding="utf-8")
    print(f"{MODEL_DIR / 'subword.tflite'}: owns {', '.join(doc['phrases'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth")
    s.add_argument("--count", type=int, default=6000)
    s.add_argument("--neural-share", type=float, default=0.25)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--words-share", type=float, default=0.0,
                   help="share of utterances that are dictionary words run together")
    s.add_argument("--warp", action="store_true", help="formant-warp 70 %% of the espeak-ng voices")
    s.add_argument("--tempo", choices=sorted(NEURAL_CPM), default="normal",
                   help="slow: 55-95 cpm neural, espeak-ng -s 55-90 (slow agents, the rate norm's low side)")
    s.add_argument("--mellotron-share", type=float, default=0.0,
                   help="share of utterances by the Mellotron family's training speakers (make voices)")
    t = sub.add_parser("train")
    t.add_argument("--seeds", type=int, nargs="+", default=[1])
    t.add_argument("--minutes", type=float, default=40.0)
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--resume", action="store_true", help="go on from model.keras")
    t.add_argument("--lr", type=float, default=2e-3)
    c = sub.add_parser("calls")
    c.add_argument("--root", type=Path, default=cache_dir() / "callbench" / "v2-seed13")
    c.add_argument("--max-gap", type=int, nargs="+", default=[15])
    c.add_argument("--limit", type=int, default=1000)
    c.add_argument("--spread", type=int, nargs="+", default=[1])
    c.add_argument("--no-b", action="store_true", help="skip the shipped spotter's rows")
    x = sub.add_parser("export")
    x.add_argument("--threshold", type=float, default=0.5)
    x.add_argument("--max-gap", type=int, default=20)
    x.add_argument("--gap-weight", type=float, default=1.0,
                   help="cost of a foreign frame between a phrase's tokens (edge/models/phrases.py)")
    a = sub.add_parser("adopt")
    # 谢谢 stays fixed-class (2026-12-03): on the phrase card's carriers the sub-word 谢谢
    # at its closing floor heard 0.08 / 0.00 of neural utterances (clean / babble10), the
    # fixed-class one at 0.99 0.88 / 0.08 (models/experiments/README.md)
    a.add_argument("--keep-fixed", nargs="*", default=["谢谢"],
                   help="labels the fixed-class spotter keeps (measured better there)")
    k = sub.add_parser("calibrate")
    k.add_argument("--minutes", type=float, default=12.0)
    args = parser.parse_args(argv)
    if args.cmd == "synth":
        synth(args.count, args.neural_share, args.seed, args.workers, args.words_share, args.warp,
              args.tempo, args.mellotron_share)
    elif args.cmd == "train":
        train(args.seeds, args.minutes, args.batch, args.resume, args.lr)
    elif args.cmd == "calls":
        calls(args.root, args.max_gap, args.limit, not args.no_b, args.spread)
    elif args.cmd == "adopt":
        adopt(args.keep_fixed)
    elif args.cmd == "calibrate":
        calibrate(args.minutes)
    elif args.cmd == "export":
        export(args.threshold, args.max_gap, args.gap_weight)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

