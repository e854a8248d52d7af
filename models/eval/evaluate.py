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

from edge.dsp.features import logmel
from edge.models.keywords import KeywordSpotter
from edge.models.rate import RateEstimator
from edge.models.rate_baseline import rate_cpm
from models.synth import corpus

KEYWORDS = tuple(corpus.KEYWORDS)
FA_PER_HOUR_MAX = 0.5


def _posteriors(spotter: KeywordSpotter, x: np.ndarray) -> np.ndarray:
    return np.stack([spotter.posteriors(window) for window in x.astype(np.float32)])


def stream_scores(spotter: KeywordSpotter, audio: np.ndarray) -> np.ndarray:
    """Smoothed posteriors of every inference over a long keyword-free stream."""
    return feature_scores(spotter, logmel(audio))


def feature_scores(spotter: KeywordSpotter, feats: np.ndarray) -> np.ndarray:
    """Row k: the smoothed posteriors of the inference whose window ends at frame
    window + k * hop, as the streaming spotter computes them."""
    cfg = spotter.cfg
    raw = np.stack([spotter.posteriors(feats[end - cfg.window:end])
                    for end in range(cfg.window, len(feats) + 1, cfg.hop)])
    kernel = np.ones(cfg.smooth) / cfg.smooth
    return np.stack([np.convolve(raw[:, i], kernel, mode="full")[: len(raw)]
                     for i in range(raw.shape[1])], axis=1)


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
# after the agent's last speech, edge.models.agent_channel.ACTIVE_AFTER_SPEECH).
LATE_FRAMES = 120


def choose_thresholds(fa_scores: np.ndarray, hours: float, refractory: int,
                      labels: tuple[str, ...]) -> dict[str, float]:
    """The lowest threshold per keyword whose false alarms stay <= 0.5 per hour."""
    out = {}
    allowed = int(np.floor(FA_PER_HOUR_MAX * hours))
    for label in KEYWORDS:
        column = fa_scores[:, labels.index(label)]
        out[label] = next((t for t in STEPS if false_alarms(column, t, refractory) <= allowed), STEPS[-1])
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
    for condition in ("clean", "babble10"):
        audio = np.load(data / f"fa_{condition}.npz")["audio"]
        fa[condition] = (stream_scores(spotter, audio), len(audio) / 16000 / 3600)
    thresholds = choose_thresholds(*fa["clean"], refractory, labels)
    report["keywords"]["thresholds"] = thresholds
    report["keywords"]["fa_hours"] = {c: round(h, 3) for c, (_, h) in fa.items()}

    for condition in ("clean", "babble10"):
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

    rate = RateEstimator(model_dir / "rate.tflite")
    test = np.load(data / "rate_test.npz")
    model_cpm = np.array([rate.estimate(x) for x in test["x"].astype(np.float32)])
    base_cpm = np.array([rate_cpm(z) for z in test["z"]])
    truth = test["y"]
    mae, base_mae = float(np.abs(model_cpm - truth).mean()), float(np.abs(base_cpm - truth).mean())
    report["rate"] = {"windows": int(len(truth)), "truth_range_cpm": [round(float(truth.min()), 1),
                                                                     round(float(truth.max()), 1)],
                      "mae_cpm": round(mae, 2), "corr": round(float(np.corrcoef(model_cpm, truth)[0, 1]), 3),
                      "baseline_mae_cpm": round(base_mae, 2),
                      "baseline_corr": round(float(np.corrcoef(base_cpm, truth)[0, 1]), 3),
                      "error_reduction_vs_baseline": round(1 - mae / base_mae, 3)}

    for name in ("kws", "rate"):
        report["size_bytes"][name] = (model_dir / f"{name}.tflite").stat().st_size
    window = np.zeros(spotter.model.input_shape[1:], np.float32)
    began = time.perf_counter()
    for _ in range(200):
        spotter.posteriors(window)
    report["speed_ms"]["kws_per_window"] = round((time.perf_counter() - began) / 200 * 1000, 3)
    began = time.perf_counter()
    for _ in range(50):
        rate.estimate(np.zeros((rate.window, 40), np.float32))
    report["speed_ms"]["rate_per_window"] = round((time.perf_counter() - began) / 50 * 1000, 3)
    report["backend"] = spotter.model.backend
    return report


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
