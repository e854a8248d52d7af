"""Evaluate the shipped TFLite models the way the edge runs them.

Keywords: per-keyword recall on held-out voices and sentences (clean, and 10 dB SNR
office babble), false alarms per hour from the streaming spotter on keyword-free
speech, thresholds chosen for <= 0.5 false alarms/hour, a DET table. Rate: MAE and
correlation on 15 s speech windows against the syllable-nuclei baseline. Size and
inference time per window.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.dsp.features import logmel
from seatwatch.edge.models.keywords import KeywordSpotter
from seatwatch.edge.models.rate import RateEstimator
from seatwatch.edge.models.rate_baseline import rate_cpm
from seatwatch.models.synth import corpus
from seatwatch.models.synth.dataset import RATE_FAMILIES, RATE_NOISE, VERDICT_SUFFIX

KEYWORDS = tuple(corpus.KEYWORDS)
FA_PER_HOUR_MAX = 0.5
# A false forbidden-phrase alert on an innocent agent is the costliest error: stricter.
FA_PER_HOUR_FORBIDDEN = 0.1
FORBIDDEN = ("不知道", "没办法", "没关系")
# Held-out sets: (family, noise) names as written by seatwatch.models.synth.dataset
CONDITIONS = ("clean", "babble10", "neural_clean", "neural_babble10")


def _posteriors(spotter: KeywordSpotter, x: np.ndarray) -> np.ndarray:
    return np.stack([spotter.posteriors(window) for window in x.astype(np.float32)])


def stream_scores(spotter: KeywordSpotter, audio: np.ndarray) -> np.ndarray:
    """Smoothed posteriors of every inference over a long keyword-free stream."""
    return feature_scores(spotter, logmel(audio))


def feature_scores(spotter: KeywordSpotter, feats: np.ndarray) -> np.ndarray:
    """Row k: the smoothed posteriors of the inference whose window ends at frame
    window + k * hop, as the streaming spotter computes them."""
    return spotter.scores(feats.astype(np.float32))


def false_alarms(scores: np.ndarray, threshold: float, refractory_inferences: int) -> int:
    """Detections a streaming spotter would fire on this score track."""
    count, quiet_until = 0, -1
    for index in np.flatnonzero(scores >= threshold):
        if index >= quiet_until:
            count += 1
            quiet_until = index + refractory_inferences
    return count


# Candidate thresholds: 0.50-0.99 by 0.01, then 1 - 10^-2.05 .. 1 - 10^-5 (the model's
# output is int8 logits, so scores near 1 still differ)
STEPS = tuple([round(0.5 + 0.01 * i, 2) for i in range(50)] +
              [round(1 - 10 ** (-k / 20), 6) for k in range(41, 101)])
# A detection counts for a keyword utterance when the spotter fires that keyword between
# the keyword's first frame and this long after its last (the edge stops inferring 1.2 s
# after the agent's last speech, seatwatch.edge.models.agent_channel.ACTIVE_AFTER_SPEECH).
LATE_FRAMES = 120


def choose_thresholds(tracks: list[tuple[np.ndarray, float]], refractory: int,
                      labels: tuple[str, ...]) -> dict[str, float]:
    """The lowest threshold per keyword whose false alarms over every held-out
    keyword-free stream (both voice families, clean and in babble) stay <= 0.5 per hour,
    <= 0.1 per hour for the forbidden phrases."""
    out = {}
    hours = sum(h for _, h in tracks)
    for label in KEYWORDS:
        limit = FA_PER_HOUR_FORBIDDEN if label in FORBIDDEN else FA_PER_HOUR_MAX
        allowed = int(np.floor(limit * hours))
        columns = [scores[:, labels.index(label)] for scores, _ in tracks]
        out[label] = next((t for t in STEPS
                           if sum(false_alarms(c, t, refractory) for c in columns) <= allowed), STEPS[-1])
    return out


def utterance_peaks(spotter: KeywordSpotter, streams: Any) -> np.ndarray:
    """Per keyword utterance, the best smoothed score of its own keyword inside its
    detection span: the utterance counts as detected at any threshold at or below it."""
    cfg = spotter.cfg
    peaks = np.zeros(len(streams["y"]), np.float64)
    for i, (start, end) in enumerate(zip(streams["starts"], streams["ends"], strict=True)):
        if start < 0:
            continue
        feats = streams["feats"][streams["offsets"][i]:streams["offsets"][i + 1]].astype(np.float32)
        scores = feature_scores(spotter, feats)
        ends = cfg.window + cfg.hop * np.arange(len(scores))
        inside = (ends > start) & (ends <= end + LATE_FRAMES)
        peaks[i] = scores[inside, streams["y"][i]].max() if inside.any() else 0.0
    return peaks


def evaluate(data: Path, model_dir: Path) -> dict[str, Any]:
    spotter = KeywordSpotter(model_dir / "kws.tflite")
    labels = spotter.cfg.labels
    refractory = max(1, spotter.cfg.refractory_frames // spotter.cfg.hop)
    report: dict[str, Any] = {"keywords": {}, "rate": {}, "size_bytes": {}, "speed_ms": {}}

    fa = {}
    conditions = [c for c in CONDITIONS if (data / f"fa_{c}.npz").exists()]
    for condition in conditions:
        audio = np.load(data / f"fa_{condition}.npz")["audio"]
        fa[condition] = (stream_scores(spotter, audio), len(audio) / 16000 / 3600)
    thresholds = choose_thresholds(list(fa.values()), refractory, labels)
    report["keywords"]["thresholds"] = thresholds
    report["keywords"]["fa_hours"] = {c: round(h, 3) for c, (_, h) in fa.items()}
    report["keywords"]["conditions"] = conditions

    for condition in conditions:
        test = np.load(data / f"kws_test_{condition}.npz")
        post = _posteriors(spotter, test["x"])
        streams = np.load(data / f"kws_stream_{condition}.npz")
        peaks = utterance_peaks(spotter, streams)
        scores, hours = fa[condition]
        rows = {}
        for label in KEYWORDS:
            index = labels.index(label)
            positives = test["y"] == index
            spoken = streams["y"] == index
            fas = false_alarms(scores[:, index], thresholds[label], refractory)
            window_recall = float((post[positives, index] >= thresholds[label]).mean())
            rows[label] = {"recall": round(float((peaks[spoken] >= thresholds[label]).mean()), 3),
                           "utterances": int(spoken.sum()), "window_recall": round(window_recall, 3),
                           "windows": int(positives.sum()),
                           "false_alarms": fas, "fa_per_hour": round(fas / hours, 2)}
        recalls = [r["recall"] for r in rows.values()]
        top = post.argmax(axis=1)
        report["keywords"][condition] = {
            "per_keyword": rows, "mean_recall": round(float(np.mean(recalls)), 3),
            "min_recall": round(float(np.min(recalls)), 3),
            "mean_window_recall": round(float(np.mean([r["window_recall"] for r in rows.values()])), 3),
            "window_accuracy": round(float((top == test["y"]).mean()), 3),
            # mean per-class recall: chance is 1 / number of classes whatever the class mix
            "balanced_accuracy": round(float(np.mean([(top[test["y"] == c] == c).mean()
                                                      for c in np.unique(test["y"])])), 3),
            "chance": round(1 / len(labels), 3),
            "fa_per_hour_total": round(sum(r["false_alarms"] for r in rows.values()) / hours, 2)}
        # DET table: pooled over keywords, miss rate vs false alarms/hour per threshold
        det = []
        for threshold in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999):
            miss = [float((peaks[streams["y"] == labels.index(k)] < threshold).mean()) for k in KEYWORDS]
            fas = sum(false_alarms(scores[:, labels.index(k)], threshold, refractory) for k in KEYWORDS)
            det.append({"threshold": threshold, "miss_rate": round(float(np.mean(miss)), 3),
                        "fa_per_hour": round(fas / hours, 2)})
        report["keywords"][condition]["det"] = det

    for key, part in rate_report(data, model_dir).items():
        report.setdefault(key, {}).update(part)
    report["vad"] = vad_figures()
    report["size_bytes"]["kws"] = (model_dir / "kws.tflite").stat().st_size
    window = np.zeros(spotter.model.input_shape[1:], np.float32)
    began = time.perf_counter()
    for _ in range(200):
        spotter.posteriors(window)
    report["speed_ms"]["kws_per_window"] = round((time.perf_counter() - began) / 200 * 1000, 3)
    report["backend"] = spotter.model.backend
    return report


def rate_report(data: Path, model_dir: Path) -> dict[str, dict[str, Any]]:
    """The rate model's parts of the report: figures per held-out family and condition,
    size, time per window."""
    rate = RateEstimator(model_dir / "rate.tflite")
    rows, verdicts = {}, {}
    for family in RATE_FAMILIES:            # the sets synth_all builds (rate_test_sets)
        for condition in RATE_NOISE:
            name = family if condition == "clean" else f"{family}_{condition}"
            path = data / f"rate2_test_{family}_{condition}.npz"
            if path.exists():
                rows[name] = rate_figures(rate, np.load(path))
            path = data / f"rate2_test_{family}_{condition}{VERDICT_SUFFIX}.npz"
            if path.exists():
                verdicts[name] = rate_figures(rate, np.load(path), verdict=True)
    began = time.perf_counter()
    for _ in range(50):
        rate.estimate(np.zeros((rate.window, 40), np.float32))
    out: dict[str, Any] = {"rate": rows}
    if verdicts:
        out["rate_60s"] = verdicts
    return {**out, "size_bytes": {"rate": (model_dir / "rate.tflite").stat().st_size},
            "speed_ms": {"rate_per_window": round((time.perf_counter() - began) / 50 * 1000, 3)}}


def verdict_cpm(rate: RateEstimator, frames: np.ndarray) -> float:
    """The rate rule's verdict on 60 s of agent speech frames: the estimator's readings
    (one per new second of speech once 15 s are in) weighed by the rule itself."""
    from seatwatch.edge.policy import SpeechRate
    from seatwatch.edge.rules.base import RateReading
    from seatwatch.edge.rules.rate import SpeechRateRule

    if len(frames) < rate.window:
        raise ValueError(f"a verdict needs at least {rate.window} speech frames, got {len(frames)}")
    rule = SpeechRateRule(lambda *_: None, SpeechRate(judge_speech_s=len(frames) / 100.0))
    rate.reset()
    for _, estimate in rate.push(frames):
        rule.rate(RateReading(estimate.cpm, estimate.window_s, estimate.frame * 160))
    card: dict[str, Any] = {}
    rule.call_ended(len(frames) * 160, card)
    if card["rate_judged_min_cpm"] != card["rate_judged_max_cpm"]:
        raise AssertionError(f"one verdict expected over {len(frames)} frames, got {card}")
    return float(card["rate_judged_min_cpm"])


def vad_figures(seed: int = 2) -> dict[str, Any]:
    """Frame accuracy of the edge's VAD on a held-out monologue with exact frame truth,
    clean and in steady and babble noise at 10 and 20 dB SNR (seatwatch.models.eval.vadset)."""
    from seatwatch.edge.dsp.vad import NoiseVad
    from seatwatch.edge.policy import Vad
    from seatwatch.models.eval import vadset

    policy = Vad()
    track = vadset.speech_track(seed=seed)
    want = vadset.truth(track, policy.hangover_s)
    noises: dict[str, np.ndarray] = {}
    rows: dict[str, Any] = {}
    conditions = [vadset.Condition(None, None, -29.0)] + [
        vadset.Condition(kind, snr, -29.0) for kind in ("pink", "hum", "babble") for snr in (10.0, 20.0)]
    for cond in conditions:
        frames = vadset.frames(vadset.mix(track, cond, noises, seed=seed))
        vad = NoiseVad(policy)
        decided = np.concatenate([vad.process(frames[i:i + 100]) for i in range(0, len(frames), 100)])
        rows[cond.name] = {k: round(v, 3) for k, v in vadset.score(decided, want).items()}
    return rows


def rate_figures(rate: RateEstimator, test: Any, *, verdict: bool = False) -> dict[str, Any]:
    """MAE, bias and correlation of 15 s windows (`verdict`: of the rule's verdicts on 60 s
    windows), beside the syllable-nuclei baseline, over all windows and over 70-220 cpm
    (the band the norm is judged in)."""
    read = (lambda x: verdict_cpm(rate, x)) if verdict else rate.estimate
    model_cpm = np.array([read(x) for x in test["x"].astype(np.float32)])
    base_cpm = np.array([rate_cpm(z) for z in test["z"]])
    truth = test["y"]
    band = (truth >= 70) & (truth <= 220)
    mae, base_mae = float(np.abs(model_cpm - truth).mean()), float(np.abs(base_cpm - truth).mean())
    return {"windows": int(len(truth)),
            "truth_range_cpm": [round(float(truth.min()), 1), round(float(truth.max()), 1)],
            "mae_cpm": round(mae, 2), "bias_cpm": round(float((model_cpm - truth).mean()), 2),
            "mae_70_220_cpm": round(float(np.abs(model_cpm - truth)[band].mean()), 2) if band.any() else None,
            "bias_70_220_cpm": round(float((model_cpm - truth)[band].mean()), 2) if band.any() else None,
            "corr": round(float(np.corrcoef(model_cpm, truth)[0, 1]), 3),
            "baseline_mae_cpm": round(base_mae, 2),
            "baseline_bias_cpm": round(float((base_cpm - truth).mean()), 2),
            "baseline_corr": round(float(np.corrcoef(base_cpm, truth)[0, 1]), 3),
            "error_reduction_vs_baseline": round(1 - mae / base_mae, 3)}


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
