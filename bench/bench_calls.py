"""Call-level alert benchmark (`seatwatch eval`, docs/eval.md): 200 generated calls with
known truth through the same pipeline as `seatwatch analyze`; per event type precision
and recall, the share of calls with exactly the expected alerts, false alerts per 100
calls, by voice family, speaker split and noise kind; wall time to render and to analyze.

The renders are cached (first run: tens of minutes, mostly the neural voice); the full
per-call report goes to bench/calls_report.json, the figures to bench/report.json.
`--quick`: an 8-call espeak slice (a smoke test, no figures worth quoting).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CALLS, SEED, JOBS = 200, 13, 2


def run(quick: bool = False) -> dict[str, Any]:
    from seatwatch.edge.callbench.cli import evaluate, render_all
    from seatwatch.edge.callbench.generator import generate
    from seatwatch.edge.callbench.render import default_root

    calls, family = (8, "espeak") if quick else (CALLS, "all")
    root = default_root()
    began = time.monotonic()
    plans = generate(SEED, calls, family)
    rendering = render_all(plans, root, JOBS)
    rep = evaluate(plans, root, JOBS, None)
    rep["run"] = {"seed": SEED, "calls": calls, "family": family, "jobs": JOBS, **rendering,
                  "total_s": round(time.monotonic() - began, 1)}
    if not quick:
        (HERE / "calls_report.json").write_text(json.dumps(rep, indent=1, ensure_ascii=False) + "\n",
                                                encoding="utf-8")

    def figures(s: dict[str, Any]) -> dict[str, Any]:
        return {"calls": s["calls"], "exact_share": s["exact_share"],
                "false_alerts_per_100_calls": s["false_alerts_per_100_calls"],
                "precision": s["precision"], "recall": s["recall"], "errors": s["errors"]}

    return {
        "calls": calls, "seed": SEED, "family": family,
        "overall": figures(rep["overall"]),
        "by_family": {k: figures(v) for k, v in rep["by_family"].items()},
        "by_family_speaker": {k: figures(v) for k, v in rep["by_family_speaker"].items()},
        "by_noise": {k: figures(v) for k, v in rep["by_noise"].items()},
        "per_type": {k: {"expected": v["expected"], "tp": v["tp"], "fp": v["fp"], "fn": v["fn"],
                         "precision": v["precision"], "recall": v["recall"]}
                     for k, v in rep["per_type"].items()},
        "recall_by_family": {k: {g: f["recall"] for g, f in v.items()}
                             for k, v in rep["recall_by_family"].items()},
        "truth_warnings": len(rep["truth_warnings"]),
        "render_s": rendering["render_s"], "rendered_now": rendering["rendered_now"],
        "analyze_s": rep["timing"]["analyze_s"], "audio_h": rep["timing"]["audio_h"],
    }
