"""`seatwatch firmware`: find, build, flash and inspect inline devices, one or a floor.

    seatwatch firmware list [--probe] [--map seats.toml]          attached devices: port, USB serial,
                                                                  seat (map), firmware (probe)
    seatwatch firmware flash --port /dev/ttyACM0 --seat A12       one device: compile, copy to the
                                                                  spare slot, verify, switch, reset
    seatwatch firmware flash --map seats.toml [--seat A01 ...]    every mapped seat: progress, then
                                                                  a result table
    seatwatch firmware info --port PORT | --map seats.toml        who is there, which version/slot
    seatwatch firmware map --out seats.toml A01=SERIAL ...        write a seat map
    seatwatch firmware bootsel --uf2 micropython.uf2 --drive DIR  first install on a blank RP2040
    seatwatch firmware build --out DIR                            the image as a flash tree
    seatwatch firmware pins [--out FILE | --check]                pins.py from hardware/pinout.toml

`--json` answers (errors too) as one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from seatwatch.edge.flashing import pinout, seatmap
from seatwatch.edge.flashing.build import BuildError, build, check_seat, with_seat, write_tree
from seatwatch.edge.flashing.device import DeviceError, ask_hello
from seatwatch.edge.flashing.update import flash

UF2_MAGIC = (0x0A324655, 0x9E5D5157)
RP2040_FAMILY = 0xE48BFF56


class UsageError(ValueError):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("list", help="attached devices (/dev/serial/by-id): port, USB serial, seat")
    p.add_argument("--probe", action="store_true", help="ask each device its firmware and seat")
    p.add_argument("--map", type=Path, help="seat map: show each device's seat")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("flash", help="compile with mpy-cross, copy into the spare slot, verify hashes, "
                                     "switch, reset; one --port, or every seat of a --map")
    p.add_argument("--port", help="serial port of one device, e.g. /dev/ttyACM0")
    p.add_argument("--map", type=Path, help="seat map (seat -> device serial): flash these seats")
    p.add_argument("--seat", action="append", help="seat id written to the device's config "
                   "(with --map: only these seats; repeatable)")
    p.add_argument("--no-reset", action="store_true", help="stay in the REPL after flashing")
    p.add_argument("--json", action="store_true", help="machine-readable result")
    p = sub.add_parser("info", help="hello and heartbeat of running devices (--port or --map)")
    p.add_argument("--port")
    p.add_argument("--map", type=Path, help="seat map: every mapped seat's device")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = sub.add_parser("map", help="write a seat map file from SEAT=SERIAL pairs")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("pairs", nargs="+", metavar="SEAT=SERIAL")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("bootsel", help="first install: copy a MicroPython UF2 onto an RP2040 held "
                                       "in BOOTSEL (its RPI-RP2 USB drive)")
    p.add_argument("--uf2", type=Path, required=True, help="MicroPython for the board "
                   "(https://micropython.org/download/RPI_PICO/)")
    p.add_argument("--drive", type=Path, required=True, help="where the RPI-RP2 drive is mounted")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("build", help="write the device image (loader, slot a, manifest) to a directory")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--seat", help="also write the config for this seat")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("pins", help="render firmware/pins.py from hardware/pinout.toml (to stdout)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, help="write here instead of stdout")
    where.add_argument("--check", action="store_true",
                       help="exit 1 when firmware/pins.py differs from the rendering")
    p.add_argument("--json", action="store_true")


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


def _say(args: argparse.Namespace, text: str = "", end: str = "\n") -> None:
    """Human output; with --json nothing but the final object goes to stdout."""
    if not getattr(args, "json", False):
        print(text, end=end, flush=True)


def _one_seat(args: argparse.Namespace) -> str | None:
    seats = args.seat or []
    if len(seats) > 1:
        raise UsageError("flash --port takes one --seat")
    return seats[0] if seats else None


def _check_port(port: str) -> None:
    if not os.path.exists(port):
        raise DeviceError(f"{port}: no such port (is the device plugged in? `seatwatch firmware "
                          "list` shows what is attached)")


def _map_targets(args: argparse.Namespace) -> list[tuple[str, str, str | None]]:
    """(seat, serial, port or None) for the chosen seats of the map, in map order."""
    seat_map = seatmap.load(args.map)
    chosen = args.seat or list(seat_map.seats)
    unknown = [seat for seat in chosen if seat not in seat_map.seats]
    if unknown:
        raise UsageError(f"{args.map}: no seat {unknown[0]} (mapped: {', '.join(seat_map.seats)})")
    ports = {a.serial: a.port for a in seatmap.attached()}
    return [(seat, seat_map.seats[seat], ports.get(seat_map.seats[seat])) for seat in chosen]


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    return "\n".join(lines)


def do_list(args: argparse.Namespace) -> tuple[int, Any]:
    seat_map = seatmap.load(args.map) if args.map else None
    rows = []
    for device in seatmap.attached():
        row: dict[str, Any] = {"port": device.port, "serial": device.serial, "tty": device.target,
                               "name": device.name,
                               "seat": seat_map.seat_of(device.serial) if seat_map else None}
        if args.probe:
            try:
                hello = ask_hello(device.port)
                row.update(firmware=hello.get("firmware"), device_seat=hello.get("seat"),
                           slot=hello.get("slot") or None)
            except DeviceError as exc:
                row.update(firmware=None, error=str(exc))
        rows.append(row)
    missing = []
    if seat_map is not None:
        present = {row["serial"] for row in rows}
        missing = [{"seat": seat, "serial": serial} for seat, serial in seat_map.seats.items()
                   if serial not in present]
    if not args.json:
        if not rows:
            print(f"no serial devices under {seatmap.by_id_dir()}")
        else:
            header = ["serial", "seat", "port"] + (["firmware", "on device"] if args.probe else [])
            print(_table([[r["serial"], r["seat"] or "-", r["port"]]
                          + ([r.get("firmware") or r.get("error", "-"), r.get("device_seat") or "-"]
                             if args.probe else []) for r in rows], header))
        for item in missing:
            print(f"seat {item['seat']}: device {item['serial']} not attached")
    return 0, {"devices": rows, "missing": missing}


def do_info(args: argparse.Namespace) -> tuple[int, Any]:
    if bool(args.port) == bool(args.map):
        raise UsageError("info: give --port PORT or --map FILE")
    if args.port:
        _check_port(args.port)
        hello = ask_hello(args.port)
        if not args.json:
            beat = hello.get("heartbeat") or {}
            print(f"device   {hello['serial']} ({hello['board']})\nfirmware {hello['firmware']}")
            print("\n".join(_slots(hello)))
            print(f"seat     {hello['seat']}\naudio    {hello['rate']} Hz x {hello['channels']}, "
                  f"{hello['frame_samples']} samples/frame")
            if beat:
                print(f"uptime   {beat['uptime_ms'] / 1000:.1f} s, "
                      f"dropped frames {beat['frames_dropped']}, free heap {beat['mem_free']} B, "
                      f"peaks mic {beat['peak_mic']} ear {beat['peak_ear']}")
        return 0, hello
    rows = []
    for seat, serial, port in _map_targets(args):
        row: dict[str, Any] = {"seat": seat, "serial": serial, "port": port}
        if port is None:
            row["error"] = "not attached"
        else:
            try:
                hello = ask_hello(port)
                row.update(firmware=hello.get("firmware"), device_seat=hello.get("seat"),
                           slot=hello.get("slot") or None)
                if hello.get("seat") != seat:
                    row["error"] = f"device says seat {hello.get('seat')!r}: flash it again"
            except DeviceError as exc:
                row["error"] = str(exc)
        rows.append(row)
    if not args.json:
        print(_table([[r["seat"], r["serial"], r.get("firmware") or "-", r.get("slot") or "-",
                       r.get("error", "ok")] for r in rows],
                     ["seat", "serial", "firmware", "slot", "status"]))
    return (0 if all("error" not in r for r in rows) else 1), {"seats": rows}


def do_flash(args: argparse.Namespace) -> tuple[int, Any]:
    if bool(args.port) == bool(args.map):
        raise UsageError("flash: give --port PORT --seat ID, or --map FILE")
    for seat in args.seat or []:
        check_seat(seat)                   # the contract's id rule, before any work
    if args.port:
        seat = _one_seat(args)
        if seat is None:
            raise UsageError("flash --port needs --seat ID")
        _check_port(args.port)             # before any output: nothing to show progress for
        _say(args, f"building firmware for seat {seat} ...")
        image = build(seat)
        _say(args, f"flashing {image.version} to {args.port}: {len(image.files)} files into the "
                   "spare slot, then the loader")
        report = flash(args.port, image, progress=None if args.json else _progress,
                       reset=not args.no_reset)
        _say(args, f"verified {len(report.verified)} files ({report.bytes} B) by SHA-256; "
                   f"firmware {report.version} active in slot {report.slot}, seat {seat}")
        if report.previous:
            _say(args, f"previous {report.previous} kept in the other slot: the device falls "
                       "back to it if this one is ever found damaged")
        return 0, {"seat": seat, "port": args.port, "version": report.version,
                   "slot": report.slot, "previous": report.previous,
                   "verified": len(report.verified)}
    targets = _map_targets(args)           # the map and the seats are checked first
    _say(args, f"building firmware for {len(targets)} seat(s) ...")
    base = build()
    results: list[dict[str, Any]] = []
    for index, (seat, serial, port) in enumerate(targets, 1):
        result: dict[str, Any] = {"seat": seat, "serial": serial, "port": port}
        if port is None:
            result["error"] = "not attached"
        else:
            _say(args, f"[{index}/{len(targets)}] seat {seat}, device {serial}")
            try:
                report = flash(port, with_seat(base, seat), reset=not args.no_reset,
                               progress=None if args.json else _progress)
                result.update(version=report.version, slot=report.slot, previous=report.previous)
            except DeviceError as exc:
                result["error"] = str(exc)
        results.append(result)
    ok = sum("error" not in r for r in results)
    if not args.json:
        print()
        print(_table([[r["seat"], r["serial"], r.get("version") or "-", r.get("slot") or "-",
                       r.get("error", "ok")] for r in results],
                     ["seat", "serial", "firmware", "slot", "result"]))
        print(f"{ok} of {len(results)} seat(s) flashed")
    return (0 if ok == len(results) else 1), {"seats": results, "flashed": ok}


def do_bootsel(args: argparse.Namespace) -> tuple[int, Any]:
    """Copy the UF2 onto the BOOTSEL drive: the RP2040's boot ROM writes it and reboots."""
    data = _read_uf2(args.uf2)
    info = args.drive / "INFO_UF2.TXT"
    try:
        text = info.read_text(errors="replace")
    except OSError:
        raise UsageError(f"{args.drive}: not an RP2040 in BOOTSEL mode (no INFO_UF2.TXT): hold "
                         "BOOTSEL while plugging the board in, then mount its RPI-RP2 drive") from None
    if "RPI-RP2" not in text and "RP2" not in text:
        raise UsageError(f"{info}: this drive is not an RP2040 boot ROM ({text.splitlines()[:2]})")
    target = args.drive / args.uf2.name
    with open(target, "wb") as out:       # the boot ROM takes blocks as they come
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    _say(args, f"copied {args.uf2.name} ({len(data)} B, {len(data) // 512} blocks) to {args.drive}; "
               "the board reboots into MicroPython. Next: seatwatch firmware list, then "
               "seatwatch firmware flash --port PORT --seat ID")
    return 0, {"drive": str(args.drive), "uf2": str(args.uf2), "blocks": len(data) // 512}


def _read_uf2(path: Path) -> bytes:
    import struct
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read ({exc.strerror})") from None
    if not data or len(data) % 512:
        raise UsageError(f"{path}: not a UF2 file (not whole 512-byte blocks)")
    for offset in range(0, len(data), 512):
        magic0, magic1, flags, _, _, _, _, family = struct.unpack_from("<8I", data, offset)
        if (magic0, magic1) != UF2_MAGIC:
            raise UsageError(f"{path}: not a UF2 file (block {offset // 512} has no UF2 magic)")
        if flags & 0x2000 and family != RP2040_FAMILY:
            raise UsageError(f"{path}: a UF2 for another chip (family 0x{family:08x}, the RP2040 "
                             f"is 0x{RP2040_FAMILY:08x})")
    return data


def do_map(args: argparse.Namespace) -> tuple[int, Any]:
    seats: dict[str, str] = {}
    for pair in args.pairs:
        seat, sep, serial = pair.partition("=")
        if not sep:
            raise UsageError(f"{pair!r}: expected SEAT=SERIAL")
        seats[seat] = serial
    text = seatmap.render(seats)
    seatmap.parse(text, "the pairs given")          # same checks as on load
    args.out.write_text(text, encoding="utf-8")
    _say(args, f"wrote {args.out}: {len(seats)} seat(s)")
    return 0, {"map": str(args.out), "seats": seats}


def do_pins(args: argparse.Namespace) -> tuple[int, Any]:
    text = pinout.render(pinout.load())
    if args.check:
        same = pinout.PINS_PY.read_text(encoding="utf-8") == text
        _say(args, f"{pinout.PINS_PY}: {'up to date' if same else 'differs from hardware/pinout.toml'}")
        return (0 if same else 1), {"pins": str(pinout.PINS_PY), "up_to_date": same}
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        _say(args, f"wrote {args.out}")
        return 0, {"wrote": str(args.out)}
    if not args.json:
        sys.stdout.write(text)
    return 0, {"pins_py": text}


def do_build(args: argparse.Namespace) -> tuple[int, Any]:
    if args.seat is not None:
        check_seat(args.seat)
    image = build(args.seat)
    args.out.mkdir(parents=True, exist_ok=True)
    files = []
    for path in write_tree(image, args.out):
        files.append({"path": str(path.relative_to(args.out)), "bytes": path.stat().st_size})
        _say(args, f"{files[-1]['path']:<24} {files[-1]['bytes']:>6} B")
    _say(args, f"firmware {image.version}: {len(image.files)} files in fw/a (manifest.json last), "
               f"{len(image.loader)} loader files at the root")
    return 0, {"version": image.version, "files": files}


ACTIONS = {"list": do_list, "info": do_info, "flash": do_flash, "bootsel": do_bootsel,
           "map": do_map, "pins": do_pins, "build": do_build}


def run(args: argparse.Namespace) -> int:
    try:
        code, result = ACTIONS[args.action](args)
    except (BuildError, DeviceError, pinout.PinoutError, seatmap.SeatMapError, UsageError,
            OSError) as exc:
        if getattr(args, "json", False):
            print(json.dumps({"ok": False, "error": str(exc)}))
        else:
            print(f"seatwatch firmware: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps({"ok": code == 0, **(result if isinstance(result, dict) else {})},
                         sort_keys=True, default=str))
    return code
