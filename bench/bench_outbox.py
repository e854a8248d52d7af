"""The durable outbox through a real mosquitto: sustained events/s, replay after an
outage, and latency from `publish(event)` to the subscriber's hands.

A floor of 100 seats raises a few events per call-minute each, i.e. well under 10
events/s in total; these figures show the headroom.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.console.ingest import Ingest
from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from tests.fixtures.broker import Mosquitto, free_port, write_conf


def event() -> Event:
    return Event.new("overtalk", site="bench", seat="B1", device="bench", call="c1", t_call=12.5,
                     data={"overlap_s": 0.8, "started_by": "agent"})


def wait_for(ingest: Ingest, count: int, timeout: float, stamps: dict[str, float]) -> int:
    deadline = time.monotonic() + timeout
    got = 0
    while got < count and time.monotonic() < deadline:
        for topic, payload, _ in ingest.drain():
            if topic.endswith("/events"):
                event_id = json.loads(payload)["id"]
                if event_id not in stamps:
                    stamps[event_id] = time.perf_counter()
                    got += 1
        time.sleep(0.001)
    return got


def run(quick: bool) -> dict[str, Any]:
    n = 500 if quick else 5000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        broker = Mosquitto("127.0.0.1", port, write_conf(folder / "mosquitto.conf", port, persistence=True))
        broker.start()
        url = BrokerUrl.parse(broker.url)
        ingest = Ingest(url, "bench-console").start()
        outbox = Outbox(folder / "outbox.db", max_events=10 * n)
        link = MqttLink(url, SeatIdentity("bench", "B1", "bench"), outbox).start()
        try:
            assert ingest.is_connected.wait(10) and link.is_connected.wait(10)
            # 1. sustained: n events as fast as they can be committed and acknowledged
            stamps: dict[str, float] = {}
            sent_at: dict[str, float] = {}
            began = time.perf_counter()
            for _ in range(n):
                e = event()
                sent_at[e.id] = time.perf_counter()
                link.publish(e)
            committed = time.perf_counter() - began
            received = wait_for(ingest, n, 120, stamps)
            sustained = time.perf_counter() - began
            # 2. latency at a floor-like pace (one event every 20 ms)
            lat = []
            for _ in range(100 if quick else 500):
                e = event()
                t0 = time.perf_counter()
                link.publish(e)
                one: dict[str, float] = {}
                wait_for(ingest, 1, 10, one)
                lat.extend((t - t0) * 1000 for t in one.values())
                time.sleep(0.02)
            # 3. outage: n events stored while the broker is down, then replayed
            broker.stop()
            link.is_connected.clear()
            for _ in range(n):
                link.publish(event())
            depth = outbox.depth()
            replay_began = time.perf_counter()
            broker.start()
            replay_stamps: dict[str, float] = {}
            replayed = wait_for(ingest, n, 180, replay_stamps)
            replay_s = time.perf_counter() - replay_began
        finally:
            link.stop()
            ingest.stop()
            outbox.close()
            broker.stop()
    return {"events": n, "received": received,
            "commit_events_per_s": round(n / committed, 1),
            "sustained_events_per_s": round(received / sustained, 1),
            "publish_to_subscriber_p50_ms": round(float(np.percentile(lat, 50)), 2),
            "publish_to_subscriber_p99_ms": round(float(np.percentile(lat, 99)), 2),
            "outage_backlog": depth, "replayed": replayed,
            "replay_events_per_s_incl_reconnect": round(replayed / replay_s, 1)}
