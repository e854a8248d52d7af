"""Flash layouts for the boot-time slot choice (firmware/slots.py), and what the loader
must choose on each. tests/firmware/test_slots.py writes them into one directory and
runs slot_checks.py over it under CPython and under MicroPython.

Manifests come from the host's builder (seatwatch.edge.flashing.build.manifest_artifact), so the
format the host writes is the format the device reads; the damage is done afterwards,
byte by byte, the way a cut copy or a changed file looks on flash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from seatwatch.edge.flashing.build import Artifact, manifest_artifact


def slot_files(version: str) -> list[Artifact]:
    # stand-ins for compiled modules: sizes around the real ones, content per version
    seed = version.encode()
    return [
        Artifact("seatwatch.json", json.dumps({"seat": "V1", "v": version}).encode()),
        Artifact("app.mpy", b"M\x06" + (seed * 2000)[:2870]),
        Artifact("led.mpy", b"M\x06" + bytes((i * 7) % 256 for i in range(1400))),
        Artifact("protocol.mpy", b"M\x06" + (seed[::-1] * 2000)[:5100]),
    ]


def write_slot(root: Path, slot: str, version: str, *, manifest: bool = True) -> Path:
    directory = root / "fw" / slot
    directory.mkdir(parents=True, exist_ok=True)
    files = slot_files(version)
    for artifact in files:
        (directory / artifact.name).write_bytes(artifact.data)
    if manifest:
        (directory / "manifest.json").write_bytes(manifest_artifact(version, files, []).data)
    return directory


def point(root: Path, text: str) -> None:
    (root / "fw" / "active").write_text(text)


def flip_byte(path: Path, offset: int = 100) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def truncate(path: Path, keep: int) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def edit_manifest(directory: Path, change: Callable[[dict], None]) -> None:
    body = json.loads((directory / "manifest.json").read_text())
    change(body)
    (directory / "manifest.json").write_text(json.dumps(body))


@dataclass(frozen=True)
class Expect:
    slot: str | None                # the slot that runs
    version: str | None
    previous: str | None            # kept for rollback
    directory: str | None           # relative to the layout: "/fw/a", "" (root), None (nothing)
    problem: tuple[str, ...] = ()   # substrings of the reported problem; () = no problem


def _good(root: Path) -> None:
    write_slot(root, "a", "1.0")
    point(root, "a")


def _both(root: Path) -> None:
    write_slot(root, "a", "1.0")
    write_slot(root, "b", "2.0")
    point(root, "b")


def _tampered(root: Path) -> None:
    _both(root)
    flip_byte(root / "fw/b/app.mpy")            # same size: only the hash can tell


def _truncated(root: Path) -> None:
    _both(root)
    truncate(root / "fw/b/protocol.mpy", 2048)


def _missing(root: Path) -> None:
    _both(root)
    (root / "fw/b/led.mpy").unlink()


def _stray(root: Path) -> None:
    _both(root)
    (root / "fw/b/app.py").write_text("VERSION = 'evil'\n")   # imported before app.mpy


def _interrupted(root: Path) -> None:
    # a flash of 2.0 into b cut mid-file: no manifest yet, pointer still on a
    write_slot(root, "a", "1.0")
    b = write_slot(root, "b", "2.0", manifest=False)
    truncate(b / "protocol.mpy", 512)
    point(root, "a")


def _bad_manifest_json(root: Path) -> None:
    _both(root)
    truncate(root / "fw/b/manifest.json", 40)


def _manifest_lies(root: Path) -> None:
    # app.mpy changed and its manifest entry "fixed" to the new size but not the hash
    _both(root)
    (root / "fw/b/app.mpy").write_bytes(b"M\x06" + b"x" * 100)
    edit_manifest(root / "fw/b", lambda m: m["files"][1].update(size=102))


def _manifest_escapes(root: Path) -> None:
    _both(root)
    edit_manifest(root / "fw/b", lambda m: m["files"][1].update(name="../boot.py"))


def _manifest_empty(root: Path) -> None:
    _both(root)
    edit_manifest(root / "fw/b", lambda m: m.update(files=[]))


def _both_bad(root: Path) -> None:
    _both(root)
    flip_byte(root / "fw/b/led.mpy")
    truncate(root / "fw/a/app.mpy", 10)


def _uncommitted(root: Path) -> None:
    write_slot(root, "a", "1.0")                # copied and complete, never switched to


def _bad_pointer(root: Path) -> None:
    _both(root)
    point(root, "z\n")


def _empty_slot(root: Path) -> None:
    write_slot(root, "a", "1.0")
    (root / "fw" / "b").mkdir()
    point(root, "b")


LAYOUTS: dict[str, tuple[Callable[[Path], None], Expect]] = {
    "good": (_good, Expect("a", "1.0", None, "/fw/a")),
    "both_good": (_both, Expect("b", "2.0", "1.0", "/fw/b")),
    "tampered": (_tampered, Expect("a", "1.0", None, "/fw/a",
                                   ("slot b: app.mpy: SHA-256 differs from the manifest",))),
    "truncated": (_truncated, Expect("a", "1.0", None, "/fw/a",
                                     ("slot b: protocol.mpy: 2048 B, manifest says 5102 B",))),
    "missing": (_missing, Expect("a", "1.0", None, "/fw/a", ("slot b: led.mpy: missing",))),
    "stray": (_stray, Expect("a", "1.0", None, "/fw/a", ("slot b: app.py: not in the manifest",))),
    "interrupted": (_interrupted, Expect("a", "1.0", None, "/fw/a")),
    "bad_manifest_json": (_bad_manifest_json, Expect("a", "1.0", None, "/fw/a",
                                                     ("slot b: manifest.json: not valid JSON",))),
    "manifest_lies": (_manifest_lies, Expect("a", "1.0", None, "/fw/a",
                                             ("slot b: app.mpy: SHA-256 differs",))),
    "manifest_escapes": (_manifest_escapes, Expect("a", "1.0", None, "/fw/a",
                                                   ("slot b: manifest.json: malformed file entry",))),
    "manifest_empty": (_manifest_empty, Expect("a", "1.0", None, "/fw/a",
                                               ("slot b: manifest.json: no version or no files",))),
    "both_bad": (_both_bad, Expect(None, None, None, None,
                                   ("slot b: led.mpy: SHA-256", "slot a: app.mpy: 10 B, manifest says 2872 B"))),
    "uncommitted": (_uncommitted, Expect(None, None, None, "", ("no committed slot",))),
    "bad_pointer": (_bad_pointer, Expect("a", "1.0", "2.0", "/fw/a", ("fw/active: names no slot",))),
    "empty_slot": (_empty_slot, Expect("a", "1.0", None, "/fw/a", ("slot b: manifest.json: missing",))),
}


def write_layouts(base: Path) -> Path:
    base.mkdir(parents=True, exist_ok=True)
    for name, (make, _) in LAYOUTS.items():
        (base / name).mkdir()
        make(base / name)
    return base
