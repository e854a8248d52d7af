"""`seatwatch edge run --source serial:PORT` with the simulated device on a pty and a
real mosquitto: a call played by the device reaches the console's floor model, and the
device's LED follows the edge's feedback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np

from seatwatch.console.ingest import Ingest
from seatwatch.console.state import FloorState
from seatwatch.edge.publish.mqtt import BrokerUrl
from seatwatch.edge.sim.device import PtyDevice, device_script
from seatwatch.edge.sources.wavfile import read_stereo
from tests.e2e.test_thin_slice import pump
from tests.fixtures.broker import Mosquitto
from tests.link.test_scenario import SCENARIO


def test_edge_daemon_serves_a_serial_seat(tmp_path, mosquitto: Mosquitto) -> None:
    pcm = np.ascontiguousarray(read_stereo(SCENARIO.with_suffix(".ogg")), dtype="<i2")
    control = json.loads(SCENARIO.with_suffix(".json").read_text())
    dev = PtyDevice(tmp_path, pcm, device_script((e["t"], e["type"]) for e in control["events"])).start()
    state = FloorState()
    ingest = Ingest(BrokerUrl.parse(mosquitto.url), "console-serial-test").start()
    edge = None
    try:
        assert ingest.is_connected.wait(10)
        edge = subprocess.Popen(
            [sys.executable, "-m", "seatwatch.cli", "edge", "run", "--source", f"serial:{dev.port}",
             "--broker", mosquitto.url, "--site", "hq", "--seat", "B2",
             "--state-dir", str(tmp_path / "state")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not dev.finished() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert dev.finished(), "the device never streamed (no handshake?)"
        seat = ("hq", "B2")
        pump(ingest, state, lambda: seat in state.seats and state.seats[seat].scorecards)
        edge.send_signal(signal.SIGTERM)
        _, err = edge.communicate(timeout=30)
        assert edge.returncode == 0, err
    finally:
        if edge is not None and edge.poll() is None:
            edge.kill()
        ingest.stop()
        dev.stop()
    view = state.seats[seat]
    assert view.device == "SIM-0001"
    assert view.scorecards[-1]["violations"].get("agent_hung_up_first") == 1
    # the edge's LED feedback reached the device and was acknowledged
    assert any(colour != (0, 0, 0) for _, colour in dev.hal.led_changes) and dev.app.rx_bad == 0
