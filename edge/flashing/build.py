"""Firmware image: the files a device gets, compiled with mpy-cross.

boot.py and main.py stay source (MicroPython runs them by name after reset); every
other module is precompiled to .mpy, which loads faster and needs no RAM to compile.
The device config (seat id) travels as seatwatch.json.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edge.link.framing import FIRMWARE_DIR

KEEP_SOURCE = ("boot.py", "main.py")
HOST_ONLY = ("hal_sim.py",)          # the simulated board never goes on a device
CONFIG_NAME = "seatwatch.json"
SEAT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class BuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class Artifact:
    name: str               # file name on the device's flash
    data: bytes

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


def firmware_version(firmware_dir: Path = FIRMWARE_DIR) -> str:
    match = re.search(r'^VERSION = "([^"]+)"', (firmware_dir / "app.py").read_text(), re.M)
    if not match:
        raise BuildError(f"{firmware_dir / 'app.py'}: no VERSION = \"...\" line")
    return match.group(1)


def compile_module(source: Path, out_dir: Path) -> bytes:
    target = out_dir / (source.stem + ".mpy")
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(target), str(source)],
                          capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BuildError(f"mpy-cross {source.name}: {done.stderr.strip() or done.stdout.strip()}")
    return target.read_bytes()


def config_artifact(seat: str) -> Artifact:
    if not SEAT_ID.match(seat):
        raise BuildError(f"seat id {seat!r}: use 1-32 letters, digits, '_', '.', '-'")
    return Artifact(CONFIG_NAME, json.dumps({"seat": seat, "gain": [0, 0], "heartbeat_ms": 1000}).encode())


def build(seat: str | None = None, firmware_dir: Path = FIRMWARE_DIR) -> list[Artifact]:
    """Every file for the device, in install order (config first, main.py last)."""
    artifacts: list[Artifact] = [config_artifact(seat)] if seat is not None else []
    sources = sorted(p for p in firmware_dir.glob("*.py") if p.name not in HOST_ONLY)
    if not sources:
        raise BuildError(f"{firmware_dir}: no firmware sources")
    with tempfile.TemporaryDirectory(prefix="seatwatch-mpy-") as tmp:
        for source in sources:
            if source.name in KEEP_SOURCE:
                continue
            artifacts.append(Artifact(source.stem + ".mpy", compile_module(source, Path(tmp))))
    for name in KEEP_SOURCE:
        artifacts.append(Artifact(name, (firmware_dir / name).read_bytes()))
    return artifacts
