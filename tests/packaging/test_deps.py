"""`make deps-check`: every runtime dependency resolves as a wheel for CPython 3.11 on
aarch64 (the Pi), and the alsa extra exists as a source distribution. Needs the package
index; skipped (not failed) when it cannot be reached at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
           "Name or service not known", "Max retries exceeded")

pytestmark = pytest.mark.slow


def test_runtime_dependencies_resolve_for_the_pi() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "check_deps.py")],
                          capture_output=True, text=True, timeout=900)
    out = done.stdout + done.stderr
    if done.returncode != 0 and any(marker in out for marker in OFFLINE):
        pytest.skip("the package index is not reachable")
    assert done.returncode == 0, out[-4000:]
    assert "tflite_runtime-" in out and "aarch64" in out      # the TFLite interpreter, for the Pi
    assert "pyalsaaudio-" in out
    assert "deps-check: every runtime dependency resolves" in out
