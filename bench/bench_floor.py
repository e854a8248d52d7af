"""Soak: `seatwatch demo --headless` with N simulated seats (firmware main loop on a pty
per seat -> edge serial link and pipeline -> embedded broker -> console model).

Reports CPU per seat (demo process with its devices, plus the edge daemon), the edge's
memory growth, events the edge accepted against those the console received (lost),
duplicates, malformed messages and device_fault events (audio lost on a serial link).
Full: 32 seats for 10 minutes.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]


def run(quick: bool) -> dict[str, Any]:
    seats, duration = (8, 90.0) if quick else (32, 600.0)
    demo = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "demo", "--headless",
                             "--seats", str(seats), "--duration", str(duration)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    parent = psutil.Process(demo.pid)
    samples: list[tuple[float, float, float]] = []     # (t, cpu seconds of the tree, edge RSS MiB)
    began = time.monotonic()
    while demo.poll() is None:
        try:
            procs = [parent, *parent.children(recursive=True)]
            cpu = sum(sum(p.cpu_times()[:2]) for p in procs)
            edge = [p for p in procs if "edge" in " ".join(p.cmdline()) and "run" in p.cmdline()]
            rss = edge[0].memory_info().rss / 2**20 if edge else 0.0
            samples.append((time.monotonic() - began, cpu, rss))
        except psutil.Error:
            pass
        time.sleep(5)
    out = demo.stdout.read() if demo.stdout else ""
    number = lambda pattern: int(m.group(1)) if (m := re.search(pattern, out)) else None  # noqa: E731
    running = [s for s in samples if s[2] > 0]          # while the edge daemon was up
    steady = [s for s in running if s[0] >= 30] or running
    cpu_s = steady[-1][1] - steady[0][1] if len(steady) > 1 else 0.0
    wall = steady[-1][0] - steady[0][0] if len(steady) > 1 else 1.0
    return {"seats": seats, "duration_s": duration, "exit": demo.returncode,
            "cpu_cores_used": round(cpu_s / wall, 2),
            "cpu_pct_of_a_core_per_seat": round(100 * cpu_s / wall / seats, 1),
            "edge_rss_mib_at_30s": round(steady[0][2], 1), "edge_rss_mib_end": round(steady[-1][2], 1),
            "events_received": number(r"events received (\d+)"), "duplicates": number(r"duplicates (\d+)"),
            "edge_accepted": number(r"edge accepted (\d+)"), "events_lost": number(r", lost (\d+)"),
            "malformed": number(r"malformed (\d+)"),
            "device_fault_events": number(r"device_fault\s+(\d+)") or 0,
            "summary": out.strip().splitlines()[:3]}
