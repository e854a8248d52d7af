"""Issue 15: each seat of the edge daemon runs and fails alone; the broker's reachability
is logged and in metrics. Real daemon process, real pyserial over ptys (the simulated
device, edge/sim/device.py), real mosquitto."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from seatwatch.console.ingest import Ingest
from seatwatch.console.state import FloorState
from seatwatch.edge.publish.mqtt import BrokerUrl
from seatwatch.edge.sim.device import PtyDevice, device_script, stereo_signal
from seatwatch.edge.sources.wavfile import read_stereo
from tests.e2e.test_thin_slice import pump
from tests.fixtures.broker import Mosquitto, free_port, write_conf
from tests.link.test_scenario import SCENARIO

ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, broker: str, seats: dict[str, str], state: Path) -> Path:
    lines = ['site = "hq"', 'edge = "pi-test"', f'broker = "{broker}"', f'state_dir = "{state}"',
             "metrics_interval_s = 0.5", ""]
    for seat, source in seats.items():
        lines += ["[[seat]]", f'id = "{seat}"', f'source = "{source}"', ""]
    path.write_text("\n".join(lines))
    return path


def start_edge(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=log.open("wb"), cwd=ROOT)


def stop_edge(edge: subprocess.Popen[bytes]) -> int:
    edge.send_signal(signal.SIGTERM)
    try:
        return edge.wait(30)
    except subprocess.TimeoutExpired:
        edge.kill()
        edge.wait()
        raise


def faults(state: FloorState, seat: str) -> list[dict]:
    return [group.last.data for group in state.feed.values()
            if group.key[1] == seat and group.key[3] == "device_fault"]


def wait_for(what, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


def test_a_missing_device_faults_its_seat_only_and_is_picked_up_when_plugged(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    pcm = np.ascontiguousarray(read_stereo(SCENARIO.with_suffix(".ogg")), dtype="<i2")
    control = json.loads(SCENARIO.with_suffix(".json").read_text())
    working = PtyDevice(tmp_path, pcm, device_script((e["t"], e["type"]) for e in control["events"]),
                        name="ttyB2").start()
    missing_port = tmp_path / "ttyA1"                      # nothing there yet
    config = write_config(tmp_path / "edge.toml", mosquitto.url,
                          {"A1": f"serial:{missing_port}", "B2": f"serial:{working.port}"},
                          tmp_path / "state")
    state = FloorState()
    ingest = Ingest(BrokerUrl.parse(mosquitto.url), "console-seats-test", site="hq").start()
    log = tmp_path / "edge.log"
    edge = None
    late = None
    try:
        assert ingest.is_connected.wait(10)
        edge = start_edge(config, log)
        a1, b2 = ("hq", "A1"), ("hq", "B2")
        # the working seat publishes its call while the other seat has no device
        pump(ingest, state, lambda: b2 in state.seats and bool(state.seats[b2].scorecards)
             and bool(faults(state, "A1")), timeout=90)
        assert edge.poll() is None, log.read_text()
        fault = faults(state, "A1")[0]
        assert fault["kind"] == "device_missing" and str(missing_port) in fault["reason"]
        assert "cannot open" in fault["reason"]
        assert not state.seats[a1].online and state.seats[a1].state == "offline"
        assert state.seats[b2].device == "SIM-0001" and state.seats[b2].online
        assert not faults(state, "B2")
        text = log.read_text()
        assert "seat A1: device missing" in text and "retrying" in text, text
        # only one report for one outage, however many retries
        time.sleep(2.0)
        pump(ingest, state, lambda: True)
        assert len([g for g in state.feed.values() if g.key[1] == "A1"]) == 1
        assert next(g for g in state.feed.values() if g.key[1] == "A1").count == 1

        # the device is plugged in: the seat comes online with it, the fault was logged
        late = PtyDevice(tmp_path, stereo_signal(30.0), [(8000, "hook", 1)], boot=2, speed=1.0,
                         name="ttyA1", seat="A1").start()
        pump(ingest, state, lambda: state.seats[a1].online and state.seats[a1].device == "SIM-0002"
             and state.seats[a1].call_state == "in_call", timeout=40)
        wait_for(lambda: "seat A1: device SIM-0002 back after" in log.read_text(), 10,
                 log.read_text())

        # unplugged mid-call: the seat goes offline with a fault again, and comes back
        late.unplug()
        pump(ingest, state, lambda: not state.seats[a1].online, timeout=20)
        assert state.seats[b2].device == "SIM-0001"
        late.replug()
        pump(ingest, state, lambda: state.seats[a1].online, timeout=30)
        assert stop_edge(edge) == 0, log.read_text()
    finally:
        if edge is not None and edge.poll() is None:
            edge.kill()
            edge.wait()
        ingest.stop()
        working.stop()
        if late is not None:
            late.stop()
    accounts = json.loads((tmp_path / "state" / "last-run.json").read_text())
    assert set(accounts) == {"A1", "B2"} and accounts["B2"]["accepted"] > 0


def test_the_edge_starts_when_no_seat_has_its_device_and_stops_promptly(tmp_path: Path,
                                                                        mosquitto: Mosquitto) -> None:
    """Before issue 15 the first missing port ended the daemon (`cannot open the port`)
    and systemd restarted it every 2 s."""
    config = write_config(tmp_path / "edge.toml", mosquitto.url,
                          {f"S{i}": f"serial:{tmp_path}/none{i}" for i in range(3)},
                          tmp_path / "state")
    edge = start_edge(config, tmp_path / "edge.log")
    try:
        log = tmp_path / "edge.log"
        wait_for(lambda: "serving 3 seat(s)" in log.read_text() or edge.poll() is not None, 60,
                 "the edge did not start")
        time.sleep(1.5)                                  # a few retries
        assert edge.poll() is None, log.read_text()
        assert "3 waiting for their device: S0, S1, S2" in log.read_text()
        began = time.monotonic()
        assert stop_edge(edge) == 0
        assert time.monotonic() - began < 5.0
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait()
    text = (tmp_path / "edge.log").read_text()
    assert all(f"seat S{i}: device missing" in text for i in range(3)), text


def test_broker_reachability_is_logged_and_in_metrics(tmp_path: Path) -> None:
    """No broker at first: the edge says so while it is unreachable, keeps the seat's
    events, and once the broker is up delivers them and reports the outage in metrics."""
    port = free_port()
    broker = Mosquitto("127.0.0.1", port, write_conf(tmp_path / "mosquitto.conf", port))
    config = write_config(tmp_path / "edge.toml", broker.url, {"C3": f"serial:{tmp_path}/none"},
                          tmp_path / "state")
    log = tmp_path / "edge.log"
    edge = start_edge(config, log)
    ingest = None
    try:
        wait_for(lambda: "unreachable" in log.read_text(), 15, "the edge never said the broker "
                 "was unreachable")
        text = log.read_text()
        assert f"broker {broker.url}" in text and "never connected" in text, text
        assert "1 event(s) kept in the outboxes" in text, text     # C3's device_fault
        broker.start()
        state = FloorState()
        ingest = Ingest(BrokerUrl.parse(broker.url), "console-broker-test", site="hq").start()
        assert ingest.is_connected.wait(10)
        seat = ("hq", "C3")
        metrics: list[dict] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (faults(state, "C3") and metrics):
            for topic, payload, received in ingest.drain():
                state.handle(topic, payload, received)
                if topic.endswith("/metrics"):
                    metrics.append(json.loads(payload))
            time.sleep(0.05)
        assert faults(state, "C3")[0]["kind"] == "device_missing"   # kept, then delivered
        assert not state.seats[seat].online
        assert metrics[-1]["link"] == "down" and metrics[-1]["broker_outages"] >= 0
        assert "broker_down_s" in metrics[-1]
        wait_for(lambda: "reachable again" in log.read_text(), 10, log.read_text())
        assert stop_edge(edge) == 0
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait()
        if ingest is not None:
            ingest.stop()
        broker.stop()


def test_seats_from_the_seat_map_are_found_by_usb_serial(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """`seat_map` in the edge config (shared with `seatwatch firmware flash --map`): each
    mapped seat is its device, found under /dev/serial/by-id by USB serial number, here
    after it is plugged in while the edge runs."""
    import os

    from seatwatch.edge.flashing.seatmap import render
    by_id = tmp_path / "by-id"
    by_id.mkdir()
    (tmp_path / "seats.toml").write_text(render({"D4": "SIM-0004"}))
    (tmp_path / "edge.toml").write_text(f'site = "hq"\nbroker = "{mosquitto.url}"\n'
                                        f'state_dir = "{tmp_path / "state"}"\n'
                                        'metrics_interval_s = 0.5\nseat_map = "seats.toml"\n')
    log = tmp_path / "edge.log"
    state = FloorState()
    ingest = Ingest(BrokerUrl.parse(mosquitto.url), "console-map-test", site="hq").start()
    edge = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config",
                             str(tmp_path / "edge.toml")], stdout=subprocess.DEVNULL,
                            stderr=log.open("wb"), cwd=ROOT,
                            env={**os.environ, "SEATWATCH_BY_ID_DIR": str(by_id)})
    dev = None
    try:
        assert ingest.is_connected.wait(10)
        pump(ingest, state, lambda: bool(faults(state, "D4")), timeout=60)
        assert "usb:SIM-0004: device not attached" in faults(state, "D4")[0]["reason"]
        dev = PtyDevice(tmp_path, stereo_signal(20.0), boot=4, speed=1.0, seat="D4",
                        name="ttyD4").start()
        (by_id / "usb-MicroPython_Board_in_FS_mode_SIM-0004-if00").symlink_to(dev.port)
        seat = ("hq", "D4")
        pump(ingest, state, lambda: state.seats[seat].online
             and state.seats[seat].device == "SIM-0004", timeout=30)
        assert stop_edge(edge) == 0, log.read_text()
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait()
        ingest.stop()
        if dev is not None:
            dev.stop()
