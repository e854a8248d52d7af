"""`seatwatch scenarios`: list the scripted calls and re-render them with espeak-ng."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from seatwatch.edge.sim.scenario import (
    RENDERED_DIR,
    SCENARIO_DIR,
    ScenarioError,
    list_scenarios,
    load_scenario,
    render,
    write_rendered,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="list scenarios, their expected events and render state")
    rend = sub.add_parser("render", help="render scenarios to FLAC + control JSON (espeak-ng)")
    rend.add_argument("names", nargs="*", help="scenario names (default: all)")
    rend.add_argument("--dir", type=Path, default=SCENARIO_DIR, help="scenario folder")
    rend.add_argument("--out", type=Path, default=RENDERED_DIR, help="output folder")
    rend.add_argument("--lossless", action="store_true", help="FLAC instead of Ogg Vorbis")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        for path in list_scenarios():
            scenario = load_scenario(path)
            done = any(RENDERED_DIR.glob(f"{path.stem}.*"))
            print(f"{path.stem:20} {'rendered' if done else 'not rendered':12} "
                  f"expect: {', '.join(scenario.expect) or '(compliant)'}")
        return 0
    if shutil.which("espeak-ng") is None:
        print("seatwatch: scenarios render needs espeak-ng (apt-get install espeak-ng)",
              file=sys.stderr)
        return 2
    from seatwatch.models.synth.speech import speak  # training extra: pypinyin

    paths = [p for p in list_scenarios(args.dir) if not args.names or p.stem in args.names]
    missing = set(args.names) - {p.stem for p in paths}
    if missing:
        print(f"seatwatch: no such scenario: {', '.join(sorted(missing))}", file=sys.stderr)
        return 2
    for path in paths:
        try:
            rendered = render(load_scenario(path), speak)
        except ScenarioError as exc:
            print(f"seatwatch: {exc}", file=sys.stderr)
            return 2
        audio, _ = write_rendered(rendered, args.out, lossless=args.lossless)
        print(f"{path.stem:20} {rendered.duration_s:6.1f} s  {audio.stat().st_size / 1e3:7.0f} kB")
    return 0
