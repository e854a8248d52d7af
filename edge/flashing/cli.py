"""`seatwatch firmware`: build, flash and inspect inline devices.

    seatwatch firmware flash --port /dev/ttyACM0 --seat A12   compile, copy, verify, reset
    seatwatch firmware info --port /dev/ttyACM0                 who is on this port
    seatwatch firmware build --out DIR                           the image, without a device
    seatwatch firmware pins                                      firmware/pins.py from hardware/pinout.toml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.flashing import pinout
from edge.flashing.build import BuildError, build, firmware_version
from edge.flashing.device import DeviceError, ask_hello, flash


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("flash", help="compile with mpy-cross, copy, verify hashes, reset")
    p.add_argument("--port", required=True, help="serial port of the device, e.g. /dev/ttyACM0")
    p.add_argument("--seat", required=True, help="seat id written to the device's config")
    p.add_argument("--no-reset", action="store_true", help="stay in the REPL after flashing")
    p = sub.add_parser("info", help="hello and heartbeat of a running device")
    p.add_argument("--port", required=True)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("build", help="write the device image (compiled .mpy files) to a directory")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seat", help="also write the config for this seat")
    sub.add_parser("pins", help="render firmware/pins.py from hardware/pinout.toml")


def _progress(name: str, done: int, total: int) -> None:
    width = 24
    filled = width * done // max(1, total)
    end = "\n" if done >= total else ""
    print(f"\r  {name:<16} [{'#' * filled}{'.' * (width - filled)}] {done:>6}/{total} B", end=end, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "pins":
            print(f"wrote {pinout.write()}")
            return 0
        if args.action == "build":
            args.out.mkdir(parents=True, exist_ok=True)
            for artifact in build(args.seat):
                (args.out / artifact.name).write_bytes(artifact.data)
                print(f"{artifact.name:<18} {len(artifact.data):>6} B  sha256 {artifact.sha256.hex()[:16]}")
            return 0
        if args.action == "info":
            hello = ask_hello(args.port)
            if args.json:
                print(json.dumps(hello, sort_keys=True))
            else:
                beat = hello.get("heartbeat") or {}
                print(f"device   {hello['serial']} ({hello['board']})\nfirmware {hello['firmware']}\n"
                      f"seat     {hello['seat']}\naudio    {hello['rate']} Hz x {hello['channels']}, "
                      f"{hello['frame_samples']} samples/frame")
                if beat:
                    print(f"uptime   {beat['uptime_ms'] / 1000:.1f} s, "
                          f"dropped frames {beat['frames_dropped']}, free heap {beat['mem_free']} B, "
                          f"peaks mic {beat['peak_mic']} ear {beat['peak_ear']}")
            return 0
        if args.action == "flash":
            version = firmware_version()
            print(f"building firmware {version} for seat {args.seat} ...", flush=True)
            artifacts = build(args.seat)
            print(f"flashing {len(artifacts)} files to {args.port}", flush=True)
            report = flash(args.port, artifacts, version, progress=_progress, reset=not args.no_reset)
            print(f"verified {len(report.verified)} files ({report.bytes} B) by SHA-256; "
                  f"firmware {report.version}, seat {args.seat}")
            return 0
    except (BuildError, DeviceError, pinout.PinoutError) as exc:
        print(f"seatwatch firmware: {exc}", file=sys.stderr)
        return 1
    return 2
