"""`seatwatch demo --headless`: embedded broker, edge process and console model together."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_headless_demo_runs_a_floor_and_reports_events() -> None:
    done = subprocess.run([sys.executable, "-m", "edge.cli", "demo", "--headless", "--duration", "25",
                           "--seats", "2"], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2 seats (2 online at the end)" in out, out
    received = int(re.search(r"events received (\d+)", out).group(1))  # type: ignore[union-attr]
    assert received >= 2 and "malformed 0" in out, out
    accepted = int(re.search(r"edge accepted (\d+)", out).group(1))  # type: ignore[union-attr]
    assert accepted >= received and ", lost 0" in out, out   # every event the edge took arrived
