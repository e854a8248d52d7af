"""The whole product path for two seats: simulated devices (firmware main loop) on ptys ->
`seatwatch edge run --config` with serial sources -> a real mosquitto -> the console's
floor model. Every expected alert appears on the right seat and call, and nothing else."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np

from seatwatch.console.ingest import Ingest
from seatwatch.console.state import FloorState
from seatwatch.contracts.events import LIFECYCLE_TYPES
from seatwatch.edge.publish.mqtt import BrokerUrl
from seatwatch.edge.sim.device import PtyDevice, device_script
from seatwatch.edge.sources.wavfile import read_stereo
from tests.e2e.test_thin_slice import pump
from tests.fixtures.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
CALLS = {"A01": "no_greeting_rude", "A02": "loud_interrupter"}


def test_two_seats_through_ptys_edge_broker_and_console(tmp_path: Path, mosquitto: Mosquitto) -> None:
    devices, expect = {}, {}
    for index, (seat, name) in enumerate(CALLS.items()):
        meta = json.loads((ROOT / "scenarios" / "rendered" / f"{name}.json").read_text())
        pcm = np.ascontiguousarray(read_stereo(ROOT / "scenarios" / "rendered" / f"{name}.ogg"), dtype="<i2")
        script = device_script((e["t"], e["type"]) for e in meta["events"])
        devices[seat] = PtyDevice(tmp_path, pcm, script, seat=seat, boot=index + 1,
                                  name=f"tty{seat}", speed=8.0).start()
        expect[seat] = set(meta["expect"])
    config = tmp_path / "edge.toml"
    config.write_text("\n".join([
        'site = "hq"', f'broker = "{mosquitto.url}"', f'state_dir = "{tmp_path / "state"}"', ""]
        + [f'[[seat]]\nid = "{seat}"\nsource = "serial:{dev.port}"\n' for seat, dev in devices.items()]))
    state = FloorState()
    ingest = Ingest(BrokerUrl.parse(mosquitto.url), "console-floor-test").start()
    edge = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config", str(config)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert ingest.is_connected.wait(10)
        seats = [("hq", seat) for seat in CALLS]
        pump(ingest, state, lambda: all(s in state.seats and state.seats[s].scorecards for s in seats),
             timeout=120)
        edge.send_signal(signal.SIGTERM)
        _, err = edge.communicate(timeout=30)
        assert edge.returncode == 0, err[-2000:]
    finally:
        if edge.poll() is None:
            edge.kill()
        ingest.stop()
        for dev in devices.values():
            dev.stop()
    for seat in CALLS:
        card = state.seats[("hq", seat)].scorecards[-1]
        alerts = {group.key[3] for group in state.feed.values() if group.key[1] == seat}
        calls = {group.key[2] for group in state.feed.values() if group.key[1] == seat}
        assert alerts - LIFECYCLE_TYPES == expect[seat], (seat, alerts)
        assert calls == {card["call"]}
        assert state.seats[("hq", seat)].device.startswith("SIM-")
    assert state.counters["duplicate"] == 0
    assert not any(k.startswith("malformed") for k in state.counters)
