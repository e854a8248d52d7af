"""`make bench` (`python -m bench.run`): run every bench/bench_*.py and write one JSON report.

Each module exposes `run(quick: bool) -> dict` returning its figures (with units in the
key names). The report notes the machine, since every figure depends on it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, object]:
    import psutil

    return {"python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke test)")
    parser.add_argument("--only", default="", help="comma-separated bench names")
    parser.add_argument("--out", default=str(HERE / "report.json"))
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    report: dict[str, object] = {"machine": machine(), "started": time.strftime("%FT%TZ", time.gmtime()),
                                 "quick": args.quick, "results": {}}
    failed = 0
    for file in sorted(HERE.glob("bench_*.py")):
        name = file.stem.removeprefix("bench_")
        if only and name not in only:
            continue
        print(f"== bench {name}", flush=True)
        began = time.monotonic()
        try:   # as a module of the bench package: run as `python -m bench.run`
            result = importlib.import_module(f"bench.{file.stem}").run(quick=args.quick)
        except Exception:  # a failed bench is reported, the others still run
            failed += 1
            result = {"error": traceback.format_exc(limit=5)}
        result["wall_s"] = round(time.monotonic() - began, 2)
        report["results"][name] = result  # type: ignore[index]
        print(json.dumps(result, indent=2, ensure_ascii=False), flush=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"report written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
