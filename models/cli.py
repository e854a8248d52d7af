"""`seatwatch models synth|train|eval`: the seeded path from espeak-ng to shipped models.

    synth   build the data sets (cached outside git)
    train   train both models, convert to int8 TFLite, write models/*.tflite + *.json
    eval    evaluate, calibrate keyword thresholds (<= 0.5 false alarms/hour), write
            models/eval_report.json and models/MODEL_CARD.md

`--quick` uses a tiny configuration and writes to the cache, never to models/.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from seatwatch.edge.dsp.features import FeatureConfig
from seatwatch.models.synth.speech import SynthError, cache_dir

SHIPPED = Path(__file__).resolve().parent
REFRACTORY_FRAMES = 150        # one detection per keyword per 1.5 s
HOP, SMOOTH = 10, 3            # infer every 100 ms, average the last 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (("synth", "build the seeded data sets"),
                       ("train", "train and convert both models"),
                       ("eval", "evaluate, calibrate thresholds, write the model card")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--quick", action="store_true", help="tiny configuration (minutes)")
        p.add_argument("--seed", type=int, default=1234)
        p.add_argument("--out", type=Path, help="model folder (default: models/, or the cache with --quick)")
        p.add_argument("--only", choices=("kws", "rate") if name == "train" else ("rate",),
                       help="one model (default: both); `rate` builds, trains or evaluates the "
                            "rate model's sets alone")


def model_dir(args: argparse.Namespace) -> Path:
    if args.out:
        return Path(args.out)
    return cache_dir() / "quick-models" if args.quick else SHIPPED


def synth_config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from seatwatch.models.synth.dataset import SynthConfig

    cfg = SynthConfig.quick() if args.quick else SynthConfig()
    return SynthConfig(**{**asdict(cfg), "seed": args.seed})


def train(args: argparse.Namespace, data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    if getattr(args, "only", None) in (None, "kws"):
        train_kws(args, data, out)
    if getattr(args, "only", None) in (None, "rate"):
        train_rate(args, data, out)


def train_kws(args: argparse.Namespace, data: Path, out: Path) -> None:
    import numpy as np

    from seatwatch.edge.dsp.features import logmel
    from seatwatch.models.synth import corpus
    from seatwatch.models.synth.dataset import WINDOW, extra_train_passes, negative_stream, save
    from seatwatch.models.train import kws
    from seatwatch.models.train.convert import to_int8_tflite

    kws_cfg = kws.KwsTrainConfig.quick() if args.quick else kws.KwsTrainConfig()
    parts = [dict(np.load(data / "kws_train.npz"))]
    parts += [dict(np.load(p)) for p in extra_train_passes(synth_config(args), data, kws_cfg.aug_passes)]
    if kws_cfg.steady_share:
        rng = np.random.default_rng(kws_cfg.seed + 7)
        for part in parts[1:]:
            part["x"] = kws.add_steady_noise(part["x"], rng, kws_cfg.steady_share, kws_cfg.steady_snr_db)
    d = {"x": np.concatenate([p["x"] for p in parts]), "y": np.concatenate([p["y"] for p in parts])}
    # keyword-free speech by the training voices for hard-negative mining; synthesized
    # before training, since the neural voice's interpreter cannot load once TensorFlow is
    mine = data / "kws_mine.npz"
    if not mine.exists():
        cfg = synth_config(args)
        save(mine, audio=negative_stream(cfg, split="train", minutes=cfg.fa_minutes * 1.5))
    model = kws.train(d["x"], d["y"], kws_cfg)
    hard = kws.hard_negatives(model, logmel(np.load(mine)["audio"]))
    print(f"mined {len(hard)} false-alarm windows; fine-tuning")
    model = kws.fine_tune(model, d["x"], d["y"], hard, kws_cfg, epochs=2 if args.quick else 5)
    (out / "kws.tflite").write_bytes(to_int8_tflite(kws.logits_model(model), kws.normalise(d["x"])))
    (out / "kws.json").write_text(json.dumps({
        "labels": list(corpus.LABELS), "window": WINDOW, "hop": HOP, "smooth": SMOOTH,
        "refractory_frames": REFRACTORY_FRAMES, "normalise": "window_mean", "output": "logits",
        "thresholds": {label: 0.8 for label in corpus.KEYWORDS},
        "features": FeatureConfig().to_dict(), "train": asdict(kws_cfg), "mined_negatives": len(hard)},
        ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def train_rate(args: argparse.Namespace, data: Path, out: Path) -> None:
    import numpy as np

    from seatwatch.models.synth.dataset import rate_train_sets
    from seatwatch.models.train import rate
    from seatwatch.models.train.convert import to_int8_tflite

    rate_cfg = rate.RateTrainConfig.quick() if args.quick else rate.RateTrainConfig()
    parts = [np.load(p) for p in rate_train_sets(synth_config(args), data)]
    d = {"x": np.concatenate([p["x"] for p in parts]), "y": np.concatenate([p["y"] for p in parts])}
    print(f"rate: {len(d['y'])} training windows")
    model = rate.train(d["x"], d["y"], rate_cfg)
    (out / "rate.tflite").write_bytes(to_int8_tflite(model, rate.normalise(d["x"])))
    (out / "rate.json").write_text(json.dumps({
        "window": int(d["x"].shape[1]), "scale": rate.SCALE, "normalise": "window_mean",
        "features": FeatureConfig().to_dict(), "train": asdict(rate_cfg)}, indent=1) + "\n")


def evaluate(args: argparse.Namespace, data: Path, out: Path) -> dict:  # type: ignore[type-arg]
    from seatwatch.models.eval.card import write_card
    from seatwatch.models.eval.evaluate import evaluate as run_eval
    from seatwatch.models.eval.evaluate import write_report

    report = run_eval(data, out)
    config = json.loads((out / "kws.json").read_text(encoding="utf-8"))
    config["thresholds"] = report["keywords"]["thresholds"]
    (out / "kws.json").write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    report["synth"] = asdict(synth_config(args))
    write_report(report, out / "eval_report.json")
    write_card(report, out / "MODEL_CARD.md")
    return report


def evaluate_rate(data: Path, out: Path) -> dict:  # type: ignore[type-arg]
    """The rate model alone: its parts of the report and the card, the rest kept."""
    from seatwatch.models.eval.card import write_card
    from seatwatch.models.eval.evaluate import rate_report, write_report

    path = out / "eval_report.json"
    if not path.exists():
        raise SystemExit(f"seatwatch models eval --only rate: {path} is missing (run a full eval first)")
    report = json.loads(path.read_text(encoding="utf-8"))
    for key, part in rate_report(data, out).items():
        report[key] = part if key.startswith("rate") else {**report.get(key, {}), **part}
    write_report(report, path)
    write_card(report, out / "MODEL_CARD.md")
    return report


def run(args: argparse.Namespace) -> int:
    from seatwatch.models.synth.dataset import synth_all, synth_rate

    try:
        only_rate = getattr(args, "only", None) == "rate"
        data = (synth_rate if only_rate else synth_all)(synth_config(args))
    except SynthError as exc:
        print(f"seatwatch models: {exc}", file=sys.stderr)
        return 2
    out = model_dir(args)
    if args.action == "synth":
        print(f"data sets in {data}")
        return 0
    if args.action == "train":
        train(args, data, out)
        print(f"models written to {out}")
        return 0
    if only_rate:
        report = evaluate_rate(data, out)
        report["keywords"]["conditions"] = []      # printed below: the rate rows alone
    else:
        report = evaluate(args, data, out)
    for condition in report["keywords"]["conditions"]:
        row = report["keywords"][condition]
        print(f"keywords {condition}: mean recall {row['mean_recall']} (min {row['min_recall']}) at "
              f"{row['fa_per_hour_total']} false alarms/hour in total")
    for unit, rows in (("15 s", report["rate"]), ("60 s", report.get("rate_60s", {}))):
        for family, rate in rows.items():
            print(f"rate {family} ({unit}): MAE {rate['mae_cpm']} cpm, bias {rate['bias_cpm']}, "
                  f"70-220 {rate['mae_70_220_cpm']} / {rate['bias_70_220_cpm']} "
                  f"(baseline {rate['baseline_mae_cpm']}), corr {rate['corr']}")
    print(f"report in {out / 'eval_report.json'}")
    return 0
