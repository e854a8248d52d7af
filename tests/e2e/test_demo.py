"""`seatwatch demo --headless`: embedded broker, edge process and console model together."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_headless_demo_runs_a_floor_and_reports_events() -> None:
    done = subprocess.run([sys.executable, "-m", "seatwatch.cli", "demo", "--headless", "--duration", "25",
                           "--seats", "2"], capture_output=True, text=True, cwd=ROOT, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "2 seats (2 online at the end)" in out, out
    received = int(re.search(r"events received (\d+)", out).group(1))  # type: ignore[union-attr]
    assert received >= 2 and "malformed 0" in out, out
    accepted = int(re.search(r"edge accepted (\d+)", out).group(1))  # type: ignore[union-attr]
    assert accepted >= received and ", lost 0" in out, out   # every event the edge took arrived


def _spawn_in_terminal(argv: list[str]) -> tuple[int, int]:
    """Run argv on a real pseudo-terminal (120x40), as a user's terminal would."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(ROOT)
        os.environ["TERM"] = "xterm-256color"
        os.execv(sys.executable, [sys.executable, *argv])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    return pid, fd


def test_headless_demo_ends_within_2s_of_its_duration() -> None:
    """Issue 15: the headless demo spent 150 s after the edge stopped (simulated devices
    stopped one after another, 5 s each, then a quiet spell was awaited)."""
    import time

    proc = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "demo", "--headless", "--duration",
                             "10", "--seats", "8"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    try:
        assert proc.stderr is not None
        line = ""
        while "running for" not in line:
            line = proc.stderr.readline()
            assert line, "the demo ended before it started running"
        started = time.monotonic()
        out, err = proc.communicate(timeout=120)
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # (whether events arrived in 10 s on a loaded machine is the first test's business)
    assert "seatwatch demo: 10 s, 8 seats (" in out, out + err[-3000:]
    assert ended - started <= 10 + 2.0, f"ended {ended - started - 10:.1f} s after its duration"


def test_demo_quits_within_2s_of_q() -> None:
    """The console demo in a real terminal: `q` ends the console, the edge, eight simulated
    devices and the embedded broker within 2 s."""
    import os
    import select
    import time

    pid, fd = _spawn_in_terminal(["-m", "seatwatch.cli", "demo", "--seats", "8"])
    screen = b""

    def read(seconds: float) -> None:
        nonlocal screen
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.05)[0]:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 120
        while b"A08" not in screen and time.monotonic() < deadline:
            read(0.5)
        assert b"A08" in screen, "the console never showed the floor"
        read(3.0)                               # seats streaming, events flowing
        os.write(fd, b"q")
        pressed = time.monotonic()
        status = None
        while time.monotonic() - pressed < 30:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            read(0.02)
        took = time.monotonic() - pressed
        assert status is not None and done, "the demo did not quit within 30 s of q"
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert took <= 2.0, f"q took {took:.1f} s to quit the demo"
