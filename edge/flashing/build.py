"""Firmware image: the files a device gets, compiled with mpy-cross.

The device keeps two firmware slots, /fw/a and /fw/b (firmware/slots.py); an image is
one slot's contents plus the loader at the root of the flash. boot.py and main.py stay
source (MicroPython runs them by name after reset); every other module is precompiled
to .mpy, which loads faster and needs no RAM to compile. The device config (seat id)
travels in the slot as seatwatch.json, so a rollback brings back the config that went
with that version. manifest.json, copied last, lists every file's name, size and
SHA-256 and the firmware version: the device checks the slot against it at every boot.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seatwatch.contracts.events import ident_error
from seatwatch.edge.link.framing import FIRMWARE_DIR

KEEP_SOURCE = ("boot.py", "main.py")
HOST_ONLY = ("hal_sim.py",)          # the simulated board never goes on a device
# outside the slots, at the root: MicroPython runs /boot.py and /main.py, and slots
# must be importable before a slot is chosen
LOADER = ("slots.py", "boot.py", "main.py")
CONFIG_NAME = "seatwatch.json"
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1                  # firmware/slots.py FORMAT


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
    # -s: tracebacks name the module, not this build's temporary path, and the same
    # source gives the same bytes (so an unchanged loader is not rewritten)
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "-s", source.name, "-o", str(target),
                           str(source)], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BuildError(f"mpy-cross {source.name}: {done.stderr.strip() or done.stdout.strip()}")
    return target.read_bytes()


def check_seat(seat: str) -> str:
    """The event contract's id rule (seatwatch/contracts/events.py), the one every tool applies."""
    problem = ident_error(seat, "seat id")
    if problem:
        raise BuildError(problem)
    return seat


def config_artifact(seat: str) -> Artifact:
    check_seat(seat)
    return Artifact(CONFIG_NAME, json.dumps({"seat": seat, "gain": [0, 0], "heartbeat_ms": 1000}).encode())


@dataclass(frozen=True)
class Image:
    version: str
    files: tuple[Artifact, ...]         # one slot's contents in copy order, manifest.json last
    loader: tuple[Artifact, ...]        # the root of the flash
    slots_source: str                   # firmware/slots.py: run over the REPL while flashing

    @property
    def size(self) -> int:
        return sum(len(a.data) for a in self.files + self.loader)


def _entries(artifacts: Sequence[Artifact]) -> list[dict[str, Any]]:
    return [{"name": a.name, "size": len(a.data), "sha256": a.sha256.hex()} for a in artifacts]


def manifest_artifact(version: str, files: list[Artifact], loader: list[Artifact]) -> Artifact:
    """The slot's manifest; the loader's hashes ride along so the host can check the
    root files too (the device checks only the slot: it cannot vouch for its own loader)."""
    body = {"format": MANIFEST_FORMAT, "version": version, "files": _entries(files),
            "loader": _entries(loader)}
    return Artifact(MANIFEST_NAME, json.dumps(body, separators=(",", ":"), sort_keys=True).encode())


def _compiled(source: Path, out_dir: Path) -> Artifact:
    if source.name in KEEP_SOURCE:
        return Artifact(source.name, source.read_bytes())
    return Artifact(source.stem + ".mpy", compile_module(source, out_dir))


def build(seat: str | None = None, firmware_dir: Path = FIRMWARE_DIR) -> Image:
    """Every file for the device: the slot (config first, manifest last) and the loader."""
    version = firmware_version(firmware_dir)
    files: list[Artifact] = [config_artifact(seat)] if seat is not None else []
    sources = sorted(p for p in firmware_dir.glob("*.py") if p.name not in HOST_ONLY)
    if not sources:
        raise BuildError(f"{firmware_dir}: no firmware sources")
    missing = [name for name in LOADER if not (firmware_dir / name).exists()]
    if missing:
        raise BuildError(f"{firmware_dir}: no {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="seatwatch-mpy-") as tmp:
        files += [_compiled(p, Path(tmp)) for p in sources if p.name not in LOADER]
        loader = [_compiled(firmware_dir / name, Path(tmp)) for name in LOADER]
    files.append(manifest_artifact(version, files, loader))
    return Image(version, tuple(files), tuple(loader), (firmware_dir / "slots.py").read_text())


def with_seat(image: Image, seat: str) -> Image:
    """The same compiled image with this seat's config (one build serves a floor)."""
    files = [config_artifact(seat)] + [a for a in image.files
                                       if a.name not in (CONFIG_NAME, MANIFEST_NAME)]
    files.append(manifest_artifact(image.version, files, list(image.loader)))
    return Image(image.version, tuple(files), image.loader, image.slots_source)


def write_tree(image: Image, out: Path, slot: str = "a") -> list[Path]:
    """The image as a device's flash would hold it after a first flash into `slot`."""
    written = []
    slot_dir = out / "fw" / slot
    slot_dir.mkdir(parents=True, exist_ok=True)
    for artifact in image.files:
        written.append(slot_dir / artifact.name)
        written[-1].write_bytes(artifact.data)
    for artifact in image.loader:
        written.append(out / artifact.name)
        written[-1].write_bytes(artifact.data)
    (out / "fw" / "active").write_text(slot)
    written.append(out / "fw" / "active")
    return written
