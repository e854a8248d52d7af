"""`make chaos`: every fault of the chaos suite, a table on stdout and tests/chaos/report.json.

    python -m tests.chaos.run            # full: 10 broker kills, 3 edge kills, 5 yanks, ...
    python -m tests.chaos.run --short    # the sizes `make test` uses (tests/chaos/test_chaos.py)
    python -m tests.chaos.run --only serial,clock

Exit status 1 when a fault shows an unexplained loss or a crash.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.chaos import broker_restarts, clock, daemon_restarts, edge_kill, outbox_full, serial
from tests.chaos.common import FaultResult

REPORT = Path(__file__).with_name("report.json")

Fault = Callable[[Path], FaultResult]


def faults(short: bool) -> dict[str, list[Fault]]:
    """Group name -> the runs in it, sized for `short` (make test) or full (make chaos)."""
    return {
        "broker": [lambda d: broker_restarts.run(d, restarts=3, how="kill"),
                   lambda d: daemon_restarts.run(d, restarts=2, how="kill")] if short else [
                   lambda d: broker_restarts.run(d, restarts=10, how="term"),
                   lambda d: broker_restarts.run(d, restarts=10, how="kill", recovery_timeout_s=15.0),
                   lambda d: daemon_restarts.run(d, restarts=10, how="kill")],
        # what the same faults do to a broker on mosquitto's stock persistence settings
        "broker_control": [] if short else [
            lambda d: broker_restarts.run(d, restarts=5, autosave_each_change=False,
                                          recovery_timeout_s=10.0)],
        "edge_kill": [lambda d: edge_kill.run(d, kills=1 if short else 3)],
        "serial": [lambda d: serial.yanks(d, 2 if short else 5),
                   lambda d: serial.flips(d, 1e-3, seconds=3.0 if short else 8.0),
                   lambda d: serial.flips(d, 1e-2, seconds=3.0 if short else 8.0)],
        "outbox": [outbox_full.bounded, outbox_full.disk_full],
        "clock": [lambda d: clock.run(d, ("no_greeting_rude",) if short else
                                      ("no_greeting_rude", "loud_interrupter", "answer_late"))],
    }


def run_one(fault: Fault) -> FaultResult:
    with tempfile.TemporaryDirectory(prefix="chaos-") as folder:
        try:
            return fault(Path(folder))
        except Exception:     # a harness or product crash is a result, not the end of the run
            return FaultResult(fault=getattr(fault, "__name__", "fault"), expected=0,
                               delivered=0, duplicated=0, lost=0, crashed=True,
                               detail={"error": traceback.format_exc(limit=5)})


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def table(results: list[FaultResult]) -> str:
    head = ("fault", "unit", "expected", "delivered", "dup", "lost", "explained", "unexpl.",
            "recovery s", "ok")
    rows = [(r.fault, r.unit, str(r.expected), str(r.delivered), str(r.duplicated), str(r.lost),
             str(r.explained), str(r.unexplained), _num(r.recovery_s),
             "yes" if r.ok else "NO") for r in results]
    widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
    line = lambda row: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)   # noqa: E731
                                 for i, (c, w) in enumerate(zip(row, widths, strict=True)))
    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def machine() -> dict[str, Any]:
    return {"host": platform.node(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "platform": platform.platform(),
            "load_avg_1m": os.getloadavg()[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the sizes used inside make test")
    parser.add_argument("--only", help="comma-separated groups: broker,broker_control,"
                                       "edge_kill,serial,outbox,clock")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)   # reconnect warnings are the expected noise
    groups = faults(args.short)
    wanted = args.only.split(",") if args.only else list(groups)
    unknown = [g for g in wanted if g not in groups]
    if unknown:
        parser.error(f"unknown group(s) {', '.join(unknown)}; choose from {', '.join(groups)}")
    results: list[FaultResult] = []
    began = time.monotonic()
    for group in wanted:
        for fault in groups[group]:
            started = time.monotonic()
            result = run_one(fault)
            result.detail["took_s"] = round(time.monotonic() - started, 1)
            results.append(result)
            print(f"  {result.fault}: {'ok' if result.ok else 'FAILED'} "
                  f"({result.detail['took_s']} s)", file=sys.stderr, flush=True)
    print(table(results))
    report = {"when": datetime.now(UTC).isoformat(timespec="seconds"),
              "mode": "short" if args.short else "full", "machine": machine(),
              "took_s": round(time.monotonic() - began, 1),
              "results": [r.to_dict() for r in results]}
    args.report.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(f"report: {args.report}")
    bad = [r for r in results if not r.ok]
    for r in bad:
        print(f"FAILED {r.fault}: {json.dumps(r.detail, ensure_ascii=False)[:2000]}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
