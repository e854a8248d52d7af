"""The firmware's framing modules (COBS, CRC-16, protocol v1), loaded for the edge.

One implementation serves both ends of the wire: firmware/cobs.py, crc16.py and
protocol.py are pure MicroPython-compatible modules, imported here from their files, so
the edge cannot drift from what the device sends. The firmware imports its siblings by
bare name (`import cobs`); `load` resolves those names to the firmware files only while
a module executes (a finder asked first, for firmware names only; sys.path is never
touched) and then takes the bare names back out of sys.modules, so a firmware `config`
or `main` never shadows anything else in the edge process.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType

from seatwatch.edge.resources import data_dir

FIRMWARE_DIR = Path(os.environ.get("SEATWATCH_FIRMWARE_DIR") or data_dir("firmware")).resolve()

_cache: dict[str, ModuleType] = {}
_lock = threading.Lock()


class FirmwareMissing(ImportError):
    pass


class _FirmwareFinder(importlib.abc.MetaPathFinder):
    """Finds the firmware's top-level modules by bare name, from FIRMWARE_DIR only."""

    def __init__(self, names: list[str]) -> None:
        self.names = set(names)

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if path is not None or fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(fullname, FIRMWARE_DIR / f"{fullname}.py")


def firmware_names() -> list[str]:
    return sorted(p.stem for p in FIRMWARE_DIR.glob("*.py"))


def load(name: str) -> ModuleType:
    """The firmware module `name` (and the siblings it imports), cached."""
    with _lock:
        if name in _cache:
            return _cache[name]
        names = firmware_names()
        if name not in names:
            raise FirmwareMissing(f"{FIRMWARE_DIR / (name + '.py')}: firmware module missing "
                                  f"(set SEATWATCH_FIRMWARE_DIR)")
        shadowed = {key: sys.modules.pop(key) for key in names if key in sys.modules}
        sys.modules.update(_cache)
        finder = _FirmwareFinder(names)
        sys.meta_path.insert(0, finder)
        try:
            module = importlib.import_module(name)
        finally:
            sys.meta_path.remove(finder)
            for key in names:
                loaded = sys.modules.pop(key, None)
                origin = getattr(loaded, "__file__", None) or ""
                if loaded is not None and Path(origin).resolve().parent == FIRMWARE_DIR:
                    _cache[key] = loaded
            sys.modules.update(shadowed)
        return module


cobs = load("cobs")
crc16 = load("crc16")
protocol = load("protocol")

FrameError: type[ValueError] = protocol.FrameError
Deframer = protocol.Deframer
decode_frame = protocol.decode_frame
encode_frame = protocol.encode_frame
