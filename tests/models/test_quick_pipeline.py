"""`seatwatch models synth|train|eval --quick` end to end, in a scratch cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from seatwatch.edge.models.keywords import KeywordSpotter
from seatwatch.edge.models.rate import RateEstimator

ROOT = Path(__file__).resolve().parents[2]


def models(action: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SEATWATCH_CACHE": str(cache)}
    return subprocess.run([sys.executable, "-m", "seatwatch.cli", "models", action, "--quick"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)


def test_quick_pipeline_trains_models_that_load_and_beat_chance(tmp_path: Path) -> None:
    shipped = {p.name: p.read_bytes() for p in (ROOT / "models").glob("*.tflite")}
    for action in ("synth", "train", "eval"):
        done = models(action, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "quick-models"
    assert {p.name: p.read_bytes() for p in (ROOT / "models").glob("*.tflite")} == shipped
    spotter = KeywordSpotter(out / "kws.tflite")      # loads in the runtime interpreter
    assert spotter.posteriors(np.zeros((spotter.cfg.window, 40), np.float32)).shape == (13,)
    assert RateEstimator(out / "rate.tflite").window == 1500
    report = json.loads((out / "eval_report.json").read_text(encoding="utf-8"))
    clean = report["keywords"]["clean"]
    assert clean["balanced_accuracy"] > 2 * clean["chance"], clean
    assert report["rate"]["espeak"]["corr"] > 0.3, report["rate"]
    # both voice families have held-out sets, and thresholds are set on all of them
    assert report["keywords"]["conditions"] == ["clean", "babble10", "neural_clean", "neural_babble10"]
    assert set(report["rate"]) == {"espeak", "neural", "espeak_steady15", "neural_steady15"}
    assert all(h > 0 for h in report["keywords"]["fa_hours"].values())
    assert (out / "MODEL_CARD.md").read_text(encoding="utf-8").count("|") > 20
