"""Delivery through a real mosquitto: a broker outage and a killed daemon lose nothing.

The subscriber is the console's Ingest (persistent session, QoS 1); it deduplicates by
event id as the console does. "Exactly once" below means: every event id arrives, no id
is missing, and after deduplication they are in the order they were produced.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from seatwatch.console.ingest import Ingest
from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from tests.fixtures.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


def collect(ingest: Ingest, want: set[str], timeout: float) -> tuple[list[str], int]:
    """Event ids in first-arrival order until `want` is covered; and the duplicate count."""
    order: list[str] = []
    seen: set[str] = set()
    duplicates = 0
    deadline = time.monotonic() + timeout
    while not want <= seen and time.monotonic() < deadline:
        for topic, payload, _ in ingest.drain():
            if not topic.endswith("/events"):
                continue
            event_id = json.loads(payload)["id"]
            if event_id in seen:
                duplicates += 1
                continue
            seen.add(event_id)
            order.append(event_id)
        time.sleep(0.02)
    return order, duplicates


def test_broker_outage_mid_stream_loses_nothing(tmp_path: Path, persistent_mosquitto: Mosquitto) -> None:
    broker = persistent_mosquitto
    url = BrokerUrl.parse(broker.url)
    ingest = Ingest(url, "console-outage").start()
    assert ingest.is_connected.wait(10)
    outbox = Outbox(tmp_path / "outbox.db")
    link = MqttLink(url, SeatIdentity("hq", "A01", "dev-1"), outbox).start()
    assert link.is_connected.wait(10)
    produced: list[str] = []

    def produce(count: int) -> None:
        for _ in range(count):
            event = Event.new("dead_air", site="hq", seat="A01", device="dev-1", call="c1",
                              t_call=1.0, data={"silence_s": 8.0, "limit_s": 8.0})
            link.publish(event)
            produced.append(event.id)
            time.sleep(0.005)

    produce(150)
    broker.stop()                                   # the broker goes away mid-stream
    produce(150)                                    # the floor keeps working
    assert outbox.depth() >= 100                    # held durably, not in memory only
    broker.start()
    produce(150)
    try:
        order, duplicates = collect(ingest, set(produced), timeout=60)
        assert order == produced, f"missing {len(set(produced) - set(order))}"
        assert link.flush(10) and outbox.depth() == 0
        assert duplicates <= 50                     # at-least-once redelivery stays small
    finally:
        link.stop()
        ingest.stop()
        outbox.close()


def test_killed_daemon_delivers_its_unsent_events_after_restart(tmp_path: Path,
                                                                 persistent_mosquitto: Mosquitto) -> None:
    broker = persistent_mosquitto
    url = BrokerUrl.parse(broker.url)
    ingest = Ingest(url, "console-kill").start()     # creates the persistent session
    assert ingest.is_connected.wait(10)
    broker.stop()                                    # the daemon must store, not send
    assert (broker.conf.parent / "mosquitto.db").exists(), "the broker could not save its sessions"
    rate = 16_000
    t = np.arange(rate * 40) / rate
    loud = (0.7 * np.sin(2 * np.pi * 300 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)).astype(np.float32)
    audio = np.stack([loud, np.zeros_like(loud)], axis=1)
    sf.write(str(tmp_path / "call.wav"), audio, rate)
    state = tmp_path / "state"
    edge = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--source",
                             f"wav:{tmp_path / 'call.wav'}", "--broker", broker.url, "--site", "hq",
                             "--seat", "A02", "--state-dir", str(state)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = state / "outbox-A02.db"
    deadline = time.monotonic() + 60
    stored: list[str] = []
    while time.monotonic() < deadline and len(stored) < 2:
        time.sleep(0.2)
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    stored = [row[0] for row in conn.execute("SELECT event_id FROM outbox ORDER BY seq")]
            except sqlite3.OperationalError:   # the file is there, its table not yet (busy machine)
                continue
    os.kill(edge.pid, signal.SIGKILL)                # power loss: no flush, no goodbye
    edge.wait(10)
    assert len(stored) >= 2, "the daemon stored no events before it was killed"
    with sqlite3.connect(db) as conn:
        stored = [row[0] for row in conn.execute("SELECT event_id FROM outbox ORDER BY seq")]
    broker.start()
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros((rate, 2), np.float32), rate)
    restarted = subprocess.run([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--source",
                                f"wav:{silent}", "--fast", "--broker", broker.url, "--site", "hq",
                                "--seat", "A02", "--state-dir", str(state)], cwd=ROOT,
                               capture_output=True, text=True, timeout=120)
    try:
        assert restarted.returncode == 0, restarted.stderr[-2000:]
        with sqlite3.connect(db) as conn:
            left = [row[0] for row in conn.execute("SELECT event_id FROM outbox ORDER BY seq")]
        assert not left, f"the restarted daemon did not deliver {len(left)}: {restarted.stderr[-2000:]}"
        order, _ = collect(ingest, set(stored), timeout=30)
        assert order[: len(stored)] == stored
    finally:
        ingest.stop()
