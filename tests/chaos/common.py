"""Shared parts of the chaos suite: the per-fault result row, a subscriber that counts
what it receives by event id, and a broker that can be killed like a crashed process."""

from __future__ import annotations

import json
import signal
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from seatwatch.console.ingest import Ingest
from seatwatch.contracts.session import BrokerUrl
from tests.fixtures.broker import Mosquitto, free_port, write_conf

# mosquitto writes its persistence file on every change, so a SIGKILL loses nothing it has
# acknowledged (its default saves only at shutdown and every 30 min): see docs/chaos.md.
DURABLE_BROKER = "autosave_interval 1\nautosave_on_changes true\n"


@dataclass
class FaultResult:
    """One row of the chaos table. Counts are events unless `unit` says otherwise."""

    fault: str
    expected: int            # accepted by the edge (committed to an outbox) / sent by the device
    delivered: int           # distinct ids that reached the subscriber (or the pipeline)
    duplicated: int          # extra copies received and removed by id
    lost: int                # expected but never delivered
    # losses with a stated cause: the outbox's drop policy, audio the wire destroyed and the
    # edge reported as a gap, or (control runs only) a broker configured to lose them
    explained: int = 0
    recovery_s: float | None = None  # worst time back to normal after the fault
    unit: str = "events"
    crashed: bool = False
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def unexplained(self) -> int:
        return self.lost - self.explained

    @property
    def ok(self) -> bool:
        return self.unexplained == 0 and not self.crashed

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "unexplained": self.unexplained, "ok": self.ok}


class Collector:
    """Drains an Ingest on its own thread: first arrival time per event id, duplicates."""

    def __init__(self, ingest: Ingest) -> None:
        self.ingest = ingest
        self.first: dict[str, float] = {}
        self.order: list[str] = []
        self.events: dict[str, dict[str, Any]] = {}
        self.duplicates = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-collector", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for topic, payload, _ in self.ingest.wait(0.1):
                if not topic.endswith("/events"):
                    continue
                event = json.loads(payload)
                with self._lock:
                    if event["id"] in self.first:
                        self.duplicates += 1
                        continue
                    self.first[event["id"]] = time.monotonic()
                    self.order.append(event["id"])
                    self.events[event["id"]] = event

    def has(self, ids: set[str]) -> bool:
        with self._lock:
            return ids <= self.first.keys()

    def wait_for(self, ids: set[str], timeout: float) -> float | None:
        """Seconds until every id in `ids` has arrived, None on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.has(ids):
                return time.monotonic() - start
            time.sleep(0.02)
        return None

    def wait_quiet(self, quiet_s: float, timeout: float) -> None:
        """Until nothing new (including duplicates) arrived for `quiet_s`."""
        deadline = time.monotonic() + timeout
        last = (-1, -1)
        since = time.monotonic()
        while time.monotonic() < deadline:
            now = (len(self.order), self.duplicates)
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def durable_broker(folder: Path, autosave_each_change: bool = True) -> Mosquitto:
    """A mosquitto with persistence; `autosave_each_change` False keeps mosquitto's default
    (save at shutdown and every 30 min), what a stock Debian install runs with."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = write_conf(folder / "mosquitto.conf", port, persistence=True,
                      extra=DURABLE_BROKER if autosave_each_change else "")
    broker = Mosquitto("127.0.0.1", port, conf)
    broker.start()
    return broker


def kill_broker(broker: Mosquitto) -> None:
    """SIGKILL: a crash or power cut, not a clean shutdown."""
    if broker.proc is not None:
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait(10)
        broker.proc = None


def stop_broker(broker: Mosquitto, how: str) -> None:
    """`kill`: SIGKILL (a crash); `term`: a clean stop (mosquitto saves its state first)."""
    if how == "kill":
        kill_broker(broker)
    elif how == "term":
        broker.stop()
    else:
        raise ValueError(f"broker stop {how!r}: expected kill or term")


def start_ingest(broker: Mosquitto, client_id: str) -> tuple[Ingest, Collector]:
    ingest = Ingest(BrokerUrl.parse(broker.url), client_id).start()
    if not ingest.is_connected.wait(20):
        raise RuntimeError(f"console ingest could not connect to {broker.url}")
    return ingest, Collector(ingest)
