"""`seatwatch firmware`: build, flash and inspect inline devices.

    seatwatch firmware flash --port /dev/ttyACM0 --seat A12   compile, copy to the spare slot,
                                                                verify, switch, reset
    seatwatch firmware info --port /dev/ttyACM0                 who is on this port, which slot
    seatwatch firmware build --out DIR                           the image as a flash tree
    seatwatch firmware pins                                      firmware/pins.py from hardware/pinout.toml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from edge.flashing import pinout
from edge.flashing.build import BuildError, build, check_seat, write_tree
from edge.flashing.device import DeviceError, ask_hello
from edge.flashing.update import flash


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("flash", help="compile with mpy-cross, copy into the spare slot, verify hashes, "
                                     "switch, reset")
    p.add_argument("--port", required=True, help="serial port of the device, e.g. /dev/ttyACM0")
    p.add_argument("--seat", required=True, help="seat id written to the device's config")
    p.add_argument("--no-reset", action="store_true", help="stay in the REPL after flashing")
    p = sub.add_parser("info", help="hello and heartbeat of a running device")
    p.add_argument("--port", required=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("build", help="write the device image (loader, slot a, manifest) to a directory")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seat", help="also write the config for this seat")
    sub.add_parser("pins", help="render firmware/pins.py from hardware/pinout.toml")


def _progress(name: str, done: int, total: int) -> None:
    width = 24
    filled = width * done // max(1, total)
    end = "\n" if done >= total else ""
    print(f"\r  {name:<16} [{'#' * filled}{'.' * (width - filled)}] {done:>6}/{total} B", end=end, flush=True)


def _slots(hello: dict[str, Any]) -> list[str]:
    """Which slot runs and what it can roll back to (firmware 0.1.x sends neither)."""
    slot, previous, problem = hello.get("slot", ""), hello.get("previous", ""), hello.get("boot_problem", "")
    if not slot:
        lines = [f"slots    none ({problem or 'firmware without A/B slots'})"]
    else:
        kept = f"previous {previous} kept for rollback" if previous else "no previous version to roll back to"
        lines = [f"slots    running {slot}; {kept}"]
        if problem:
            lines.append(f"boot     FELL BACK: {problem}")
    return lines


def run(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "seat", None) is not None:
            check_seat(args.seat)            # the contract's id rule, before any work
        if args.action == "pins":
            print(f"wrote {pinout.write()}")
            return 0
        if args.action == "build":
            image = build(args.seat)
            args.out.mkdir(parents=True, exist_ok=True)
            for path in write_tree(image, args.out):
                size = path.stat().st_size
                print(f"{path.relative_to(args.out)!s:<24} {size:>6} B")
            print(f"firmware {image.version}: {len(image.files)} files in fw/a (manifest.json last), "
                  f"{len(image.loader)} loader files at the root")
            return 0
        if args.action == "info":
            hello = ask_hello(args.port)
            if args.json:
                print(json.dumps(hello, sort_keys=True))
            else:
                beat = hello.get("heartbeat") or {}
                print(f"device   {hello['serial']} ({hello['board']})\nfirmware {hello['firmware']}")
                print("\n".join(_slots(hello)))
                print(f"seat     {hello['seat']}\naudio    {hello['rate']} Hz x {hello['channels']}, "
                      f"{hello['frame_samples']} samples/frame")
                if beat:
                    print(f"uptime   {beat['uptime_ms'] / 1000:.1f} s, "
                          f"dropped frames {beat['frames_dropped']}, free heap {beat['mem_free']} B, "
                          f"peaks mic {beat['peak_mic']} ear {beat['peak_ear']}")
            return 0
        if args.action == "flash":
            print(f"building firmware for seat {args.seat} ...", flush=True)
            image = build(args.seat)
            print(f"flashing {image.version} to {args.port}: {len(image.files)} files into the spare "
                  f"slot, then the loader", flush=True)
            report = flash(args.port, image, progress=_progress, reset=not args.no_reset)
            print(f"verified {len(report.verified)} files ({report.bytes} B) by SHA-256; "
                  f"firmware {report.version} active in slot {report.slot}, seat {args.seat}")
            if report.previous:
                print(f"previous {report.previous} kept in the other slot: the device falls back "
                      "to it if this one is ever found damaged")
            return 0
    except (BuildError, DeviceError, pinout.PinoutError) as exc:
        print(f"seatwatch firmware: {exc}", file=sys.stderr)
        return 1
    return 2
