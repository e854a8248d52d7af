"""The thin slice through every part: a recording -> `seatwatch edge run` -> a real
mosquitto -> the console's ingest -> the console's floor model."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from seatwatch.console.ingest import Ingest
from seatwatch.console.state import FloorState
from seatwatch.edge.publish.mqtt import BrokerUrl
from tests.edge.test_analyze import TURNS, levels_only_policy, write_call
from tests.fixtures.broker import Mosquitto


def pump(ingest: Ingest, state: FloorState, until, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for topic, payload, received in ingest.drain():
            state.handle(topic, payload, received)
        if until():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out; counters={dict(state.counters)}")


def test_recorded_call_reaches_the_console_model(tmp_path: Path, mosquitto: Mosquitto) -> None:
    audio = write_call(tmp_path / "call.wav", TURNS, 30.0)
    state = FloorState()
    ingest = Ingest(BrokerUrl.parse(mosquitto.url), "console-test").start()
    try:
        assert ingest.is_connected.wait(10)
        edge = subprocess.run(
            [sys.executable, "-m", "seatwatch.cli", "edge", "run", "--source", f"wav:{audio}", "--fast",
             "--broker", mosquitto.url, "--site", "hq", "--seat", "A01",
             "--state-dir", str(tmp_path / "state"),
             "--policy", str(levels_only_policy(tmp_path))], capture_output=True, text=True, timeout=60)
        assert edge.returncode == 0, edge.stderr
        seat = ("hq", "A01")
        pump(ingest, state, lambda: seat in state.seats and state.seats[seat].scorecards
             and not state.seats[seat].online)
    finally:
        ingest.stop()
    view = state.seats[seat]
    kinds = sorted(group.key[3] for group in state.feed.values())
    assert kinds == ["agent_volume_high", "dead_air"]
    assert {group.key[2] for group in state.feed.values()} == {view.scorecards[-1]["call"]}
    assert view.worst == "warn" and len(view.open_alerts) == 2
    assert view.scorecards[-1]["violations"] == {"agent_volume_high": 1, "dead_air": 1}
    assert view.device == "replay-A01" and view.state == "offline"  # clean shutdown: offline
    assert state.counters["events"] == 4 and state.counters["duplicate"] == 0
    assert not any(k.startswith("malformed") for k in state.counters)
