"""`seatwatch eval`: render the benchmark calls (cached), run `analyze` on each, score.

    seatwatch eval [--calls N] [--seed S] [--family espeak|neural|mellotron|all] [--out FILE] [--jobs 2]

Rendering happens once per generator version and seed (the cache dir, see
seatwatch.models.synth.speech.cache_dir); the analysis runs every time, in `--jobs` processes, with
the same pipeline as `seatwatch analyze` (seatwatch.edge.analyze.analyze, in-process). See docs/eval.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from seatwatch.edge.callbench.generator import FAMILIES, GENERATOR_VERSION, VIOLATIONS, CallPlan, generate
from seatwatch.edge.callbench.scoring import CallResult, alert_events, alert_types, report, table

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "bench" / "calls_report.json"
DEFAULT_KEYWORDS_OUT = ROOT / "bench" / "calls_keywords.json"
RENDER_COST = {"espeak": 1, "neural": 3, "mellotron": 3}     # render time per second of call, relative


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calls", type=int, default=200, help="number of calls (default 200)")
    parser.add_argument("--seed", type=int, default=13, help="generator seed (default 13)")
    parser.add_argument("--family", choices=("all", *FAMILIES), default="all",
                        help="the agents' voice family (default all: espeak and neural alternating; "
                             "mellotron, held-out speakers only, is played only when named)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="JSON report (default bench/calls_report.json)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--policy", type=Path, help="policy TOML (the truth assumes policies/default.toml)")
    parser.add_argument("--models", type=Path,
                        help="folder with candidate kws/rate .tflite + .json (default: the shipped models)")
    parser.add_argument("--cache", type=Path,
                        help="where rendered calls live (default <cache dir>/callbench)")
    parser.add_argument("--worst", type=int, default=15, help="calls listed in the worst-calls section")
    parser.add_argument("--render-only", action="store_true", help="render (fill the cache) and stop")
    parser.add_argument("--fit-rate", type=Path, metavar="RATE_JSON",
                        help="fit the rate model's linear calibration on these calls (truth 70-220 cpm) "
                             "and write it into RATE_JSON (use a seed the benchmark does not score)")
    parser.add_argument("--fit-also", type=Path, nargs="*", default=[], metavar="REPORT",
                        help="with --fit-rate: also the calls of these eval reports (another family), "
                             "read through the same calibration")
    parser.add_argument("--keywords", action="store_true",
                        help="the keyword spotter alone: per-keyword scores on the agent utterances "
                             "(default report bench/calls_keywords.json)")


# --- workers (top level: they run in spawned processes) ----------------------------------
def _render_job(job: tuple[dict[str, Any], str]) -> tuple[str, float, bool]:
    from seatwatch.edge.callbench.render import paths_for, render_to

    doc, root = job
    plan = CallPlan.from_json(doc)
    began = time.monotonic()
    existed = paths_for(plan, Path(root)).audio.exists()
    render_to(plan, Path(root))
    return plan.id, time.monotonic() - began, not existed


def _analyze_job(job: tuple[str, str, str | None, str | None]) -> dict[str, Any]:
    from seatwatch.edge.analyze import analyze

    audio, control, policy, models = job
    began = time.monotonic()
    try:
        events = analyze(Path(audio), Path(control), Path(policy) if policy else None, "BENCH",
                         models=Path(models) if models else None)
    except Exception as exc:    # one broken call is reported, the benchmark goes on
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - began}
    return {"events": [e.to_dict() for e in events], "seconds": time.monotonic() - began}


def _map(fn: Any, jobs: list[Any], workers: int, label: str) -> list[Any]:
    """fn over jobs in `workers` spawned processes (inline for 1), progress on stderr."""
    out: list[Any] = []
    step = max(1, len(jobs) // 10)

    def progress(done: int) -> None:
        if done % step == 0 or done == len(jobs):
            print(f"seatwatch eval: {label} {done}/{len(jobs)}", file=sys.stderr, flush=True)

    if workers <= 1:
        for job in jobs:
            out.append(fn(job))
            progress(len(out))
        return out
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for result in pool.map(fn, jobs):
            out.append(result)
            progress(len(out))
    return out


# --- the run -----------------------------------------------------------------------------
def render_all(plans: list[CallPlan], root: Path, jobs: int) -> dict[str, Any]:
    from seatwatch.edge.callbench.render import paths_for

    todo = [p for p in plans
            if not (paths_for(p, root).truth.exists() and paths_for(p, root).audio.exists())]
    began = time.monotonic()
    # the longest calls first (a neural voice's about 3x as costly), so the last worker does not finish alone
    todo.sort(key=lambda p: -p.estimate.get("duration_s", 0.0) * RENDER_COST.get(p.family, 1))
    _map(_render_job, [(p.to_json(), str(root)) for p in todo], jobs, "rendered")
    return {"rendered_now": len(todo), "render_s": round(time.monotonic() - began, 1)}


def _tree() -> dict[str, Any]:
    """The code that was measured: commit and uncommitted files (others share the tree)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                                  timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    dirty = [line[3:] for line in git("status", "--porcelain", "--untracked-files=no").splitlines()]
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "uncommitted": dirty}


def evaluate(plans: list[CallPlan], root: Path, jobs: int, policy: Path | None,
             worst_count: int = 15, models: Path | None = None) -> dict[str, Any]:
    """Analyze every (rendered) call and score it against its truth."""
    from seatwatch.edge.callbench.render import check_render, expected_alerts, paths_for

    paths = [paths_for(p, root) for p in plans]
    began = time.monotonic()
    outcomes = _map(_analyze_job, [(str(x.audio), str(x.control), str(policy) if policy else None,
                                    str(models) if models else None) for x in paths], jobs, "analyzed")
    analyze_s = time.monotonic() - began
    results, warnings, audio_s = [], [], 0.0
    for plan, path, outcome in zip(plans, paths, outcomes, strict=True):
        truth = json.loads(path.truth.read_text(encoding="utf-8"))
        warnings += check_render(truth)
        audio_s += truth["measured"]["audio_s"]
        events = outcome.get("events", [])
        card: dict[str, Any] = next((e["data"].get("scorecard", {}) for e in events
                                     if e["type"] == "call_ended"), {})
        measured = truth["measured"]
        facts = {"truth_cpm": measured.get("agent_cpm"), "truth_duration_s": measured["duration_s"],
                 "truth_level_dbfs": plan.level_dbfs,
                 **{k: card.get(k) for k in ("rate_mean_cpm", "agent_level_dbfs", "greeting", "closing",
                                             "longest_wait_s", "longest_silence_s")}}
        results.append(CallResult(
            id=plan.id, expect=expected_alerts(truth), got=alert_types(events), events=alert_events(events),
            family=plan.family, noise=plan.noise, held_out=plan.agent.held_out, channel=plan.channel,
            styles=list(plan.styles), error=outcome.get("error"), facts=facts))
    rep = report(results, VIOLATIONS, worst_count)
    cpu_s = sum(o["seconds"] for o in outcomes)
    rep["timing"] = {"analyze_s": round(analyze_s, 1), "audio_h": round(audio_s / 3600, 2),
                     "worker_s_per_audio_h": round(cpu_s / max(audio_s / 3600, 1e-9), 1)}
    rep["truth_warnings"] = warnings
    rep["tree"] = _tree()
    rep["calls"] = [r.to_json() for r in results]
    return rep


def fit_rate(calls: list[dict[str, Any]], config: Path, how: str) -> str:
    """Least squares of the scorecards' mean rate on the truth (calls of 70-220 cpm),
    composed with the calibration `config` holds (the calls were read through it), written
    back into `config`. The edge inverts it (seatwatch.edge.models.rate)."""
    import numpy as np

    from seatwatch.edge.models.rate import composed, raw_calibration

    pairs = [(c["facts"]["truth_cpm"], c["facts"]["rate_mean_cpm"]) for c in calls
             if c["facts"].get("rate_mean_cpm") is not None and c["facts"].get("truth_cpm") is not None
             and 70.0 <= c["facts"]["truth_cpm"] <= 220.0]
    if len(pairs) < 10:
        raise SystemExit(f"seatwatch eval: --fit-rate needs at least 10 calls with a rate, got {len(pairs)}")
    truth, read = np.array(pairs).T
    slope, intercept = np.polyfit(truth, read, 1)
    raw = composed(raw_calibration(config), (float(slope), float(intercept)))
    doc = json.loads(config.read_text(encoding="utf-8"))
    doc["calibration"] = {"slope": round(raw[0], 4), "intercept": round(raw[1], 2),
                          "fitted_on": how, "calls": len(pairs)}
    config.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return (f"rate calibration on {len(pairs)} calls: read = {slope:.3f} x truth {intercept:+.1f} cpm "
            f"-> raw = {raw[0]:.4f} x truth {raw[1]:+.2f} in {config}")


def keyword_run(args: argparse.Namespace, plans: list[CallPlan], root: Path) -> int:
    """`--keywords`: the spotter's peak score per agent utterance, per keyword (docs/eval.md)."""
    from seatwatch.edge.callbench.keywords import keyword_table, peaks_job, print_table
    from seatwatch.edge.callbench.render import paths_for
    from seatwatch.edge.models.keywords import MODEL_DIR, KwsConfig
    from seatwatch.edge.models.subword import SubwordConfig

    began = time.monotonic()
    paths = [paths_for(p, root) for p in plans]
    per_call = _map(peaks_job, [(str(x.audio), str(x.truth), str(args.models) if args.models else None)
                                for x in paths], args.jobs, "scored")
    rows = [row for call in per_call for row in call]
    folder = args.models or MODEL_DIR
    thresholds = KwsConfig.load(folder / "kws.json").thresholds
    if (folder / "subword.tflite").exists():     # the labels the sub-word spotter owns
        thresholds |= SubwordConfig.load(folder / "subword.json").thresholds
    rep = {"keywords": keyword_table(rows, thresholds), "agent_utterances": len(rows),
           "models": str(args.models) if args.models else "models/ (shipped)",
           "seed": args.seed, "calls": args.calls, "seconds": round(time.monotonic() - began, 1),
           "tree": _tree()}
    out = DEFAULT_KEYWORDS_OUT if args.out == DEFAULT_OUT else args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rep, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print_table(rep["keywords"])
    print(f"\n{len(rows)} agent utterances in {args.calls} calls, {rep['seconds']} s; report: {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.calls < 1 or args.jobs < 1:
        print("seatwatch eval: --calls and --jobs must be at least 1", file=sys.stderr)
        return 2
    if args.policy is not None and not args.policy.exists():
        print(f"seatwatch eval: {args.policy}: no such policy file", file=sys.stderr)
        return 2
    if args.models is not None and not (args.models / "kws.tflite").exists():
        print(f"seatwatch eval: {args.models}: needs kws.tflite with its kws.json (rate.tflite: "
              "the shipped one unless the folder has its own)", file=sys.stderr)
        return 2
    from seatwatch.edge.callbench.render import default_root

    root = args.cache or default_root()
    began = time.monotonic()
    plans = generate(args.seed, args.calls, args.family)
    rendering = render_all(plans, root, args.jobs)
    if args.render_only:
        print(f"seatwatch eval: {len(plans)} calls in {root} ({rendering['rendered_now']} rendered now, "
              f"{rendering['render_s']} s)")
        return 0
    if args.keywords:
        return keyword_run(args, plans, root)
    rep = evaluate(plans, root, args.jobs, args.policy, args.worst, args.models)
    rep["run"] = {"seed": args.seed, "calls": args.calls, "family": args.family, "jobs": args.jobs,
                  "generator": GENERATOR_VERSION, "sources": plans[0].sources if plans else None,
                  "policy": str(args.policy) if args.policy else "policies/default.toml",
                  "models": str(args.models) if args.models else "models/ (shipped)",
                  "cache": str(root), **rendering, "total_s": round(time.monotonic() - began, 1),
                  "started": time.strftime("%FT%TZ", time.gmtime())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rep, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(rep))
    if args.fit_rate is not None:
        calls = list(rep["calls"])
        for other in args.fit_also:
            calls += json.loads(other.read_text(encoding="utf-8"))["calls"]
        print(fit_rate(calls, args.fit_rate, f"seatwatch eval --seed {args.seed} --calls {args.calls} "
                       f"--family {args.family}" + "".join(f" + {o.name}" for o in args.fit_also)))
    timing = rep["timing"]
    print(f"\n{args.calls} calls ({timing['audio_h']} h of audio): rendered {rendering['rendered_now']} "
          f"now in {rendering['render_s']} s, analyzed in {timing['analyze_s']} s; report: {args.out}")
    if rep["truth_warnings"]:
        print(f"truth warnings ({len(rep['truth_warnings'])}): " + "; ".join(rep["truth_warnings"][:5]))
    return 0
