"""Leave one voice family out, for the rate model (issue 12): train without a whole
family, test on its held-out speakers, and the other way round.

The rate model's training sources are per family except the base windows, which mix
espeak-ng and the Baker voice; a source that holds any of the left-out family is left
out with it (so "without espeak" also loses the base windows' Baker share, and "without
neural" their espeak share). Every model here is one network (seed 1234) of the shipped
recipe, uncalibrated, int8 TFLite, judged on the 15 s windows and the 60 s verdicts of
every family; "none" (nothing left out) is the reference trained the same way.

    python -m seatwatch.models.experiments.rate_lofo [--without none mellotron neural espeak]
                                                     [--step all|train|eval]

Needs the rate sets (`seatwatch models synth --only rate`, full configuration) and the
training extra (TensorFlow). Writes models/experiments/rate_lofo.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.models.synth.speech import cache_dir

HERE = Path(__file__).resolve().parent
REPORT = HERE / "rate_lofo.json"
WORK = cache_dir() / "experiments" / "rate_lofo"
# training source (file stem without _passN) -> the families it holds
SOURCES = {"rate2_train": ("espeak", "neural"), "rate2_train_espeak": ("espeak",),
           "rate2_train_neural": ("neural",), "rate2_train_mellotron": ("mellotron",)}


def families_of(path: Path) -> tuple[str, ...]:
    stem = path.stem.split("_pass")[0]
    if stem not in SOURCES:
        raise ValueError(f"{path.name}: not a rate training source this study knows ({', '.join(SOURCES)})")
    return SOURCES[stem]


def train(without: str, recipe: dict[str, float]) -> dict[str, Any]:
    """Train without the family (TensorFlow in this process) -> the int8 model's path."""
    from seatwatch.models.synth.dataset import SynthConfig, data_dir, rate_train_sets
    from seatwatch.models.train import rate
    from seatwatch.models.train.convert import to_int8_tflite

    cfg = SynthConfig()
    kept = [p for p in rate_train_sets(cfg, data_dir(cfg)) if without not in families_of(p)]
    parts = [np.load(p) for p in kept]
    x = np.concatenate([p["x"] for p in parts])
    y = np.concatenate([p["y"] for p in parts])
    model = rate.train(x, y, replace(rate.RateTrainConfig(), members=1, **recipe))  # type: ignore[arg-type]
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / f"without_{without}.tflite").write_bytes(to_int8_tflite(model, rate.normalise(x)))
    return {"without": without, "recipe": recipe, "training_windows": int(len(y)),
            "sources": [p.name for p in kept]}


def evaluate(without: str) -> dict[str, Any]:
    """The model trained without the family on every held-out set (no TensorFlow here:
    the TFLite runtime does not load beside it)."""
    from seatwatch.edge.models.rate import RateEstimator
    from seatwatch.models.eval.evaluate import rate_figures
    from seatwatch.models.synth.dataset import (
        RATE_FAMILIES,
        RATE_NOISE,
        VERDICT_SUFFIX,
        SynthConfig,
        data_dir,
    )

    data = data_dir(SynthConfig())
    estimator = RateEstimator(WORK / f"without_{without}.tflite")   # no rate.json: uncalibrated
    rows: dict[str, Any] = {}
    for family in RATE_FAMILIES:
        for condition in RATE_NOISE:
            for suffix in ("", VERDICT_SUFFIX):
                test = data / f"rate2_test_{family}_{condition}{suffix}.npz"
                if test.exists():
                    figures = rate_figures(estimator, np.load(test), verdict=bool(suffix))
                    rows[f"{family}_{condition}{suffix}"] = {
                        k: figures[k] for k in ("windows", "mae_cpm", "bias_cpm", "mae_70_220_cpm",
                                                "bias_70_220_cpm", "corr")}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--without", nargs="+", default=["none", "mellotron", "neural", "espeak"],
                        choices=["none", "espeak", "neural", "mellotron"])
    parser.add_argument("--step", choices=["all", "train", "eval"], default="all")
    parser.add_argument("--warp", type=float, default=0.0, help="RateTrainConfig.warp")
    parser.add_argument("--tilt", type=float, default=0.0, help="RateTrainConfig.tilt")
    parser.add_argument("--mask-bins", type=int, default=0, help="RateTrainConfig.mask_bins")
    parser.add_argument("--tempo", type=float, default=0.0, help="RateTrainConfig.tempo")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    recipe = {"warp": args.warp, "tilt": args.tilt, "mask_bins": args.mask_bins, "tempo": args.tempo}
    for family in args.without:
        if args.step == "train":
            (WORK / f"without_{family}.json").write_text(json.dumps(train(family, recipe)) + "\n",
                                                         encoding="utf-8")
            continue
        if args.step == "all":      # each step in its own process
            for step in ("train", "eval"):
                subprocess.run([sys.executable, "-m", __spec__.name if __spec__ else "rate_lofo",
                                "--without", family, "--step", step, "--warp", str(args.warp),
                                "--tilt", str(args.tilt), "--mask-bins", str(args.mask_bins),
                                "--tempo", str(args.tempo),
                                "--report", str(args.report)], check=True)
            continue
        report = json.loads(args.report.read_text(encoding="utf-8")) if args.report.exists() else {}
        report[family] = {**json.loads((WORK / f"without_{family}.json").read_text(encoding="utf-8")),
                          "held_out": evaluate(family)}
        args.report.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(json.dumps({family: report[family]["held_out"]}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
