"""Fault 1: the broker is killed (SIGKILL) or stopped (SIGTERM) and restarted N times while
several seats stream.

Each seat is a real MqttLink with its own durable Outbox, fed from this process at a
steady rate with known event ids, so the accounting is exact: expected = every id whose
publish() returned (committed to the outbox); delivered = distinct ids the console's
Ingest received; duplicates are the extra copies it removed by id.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from pathlib import Path

from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from tests.chaos.common import FaultResult, durable_broker, start_ingest, stop_broker

STOCK_AUTOSAVE = ("control run: mosquitto saves its persistence file only at shutdown and every "
                 "30 min by default; after a SIGKILL it restarts without the console's session "
                 "and queue, so events it had acknowledged can be lost")

TYPES = ("dead_air", "overtalk", "call_too_long", "forbidden_phrase")


class WatchedOutbox(Outbox):
    """Notes when each event was acknowledged (its row deleted), to place a loss in time."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.seq_of: dict[int, str] = {}
        self.acked_at: dict[str, float] = {}

    def put(self, event: Event, topic: str) -> None:
        super().put(event, topic)
        with self._lock:
            row = self._db.execute("SELECT seq FROM outbox WHERE event_id = ?", (event.id,)).fetchone()
        if row is not None:
            self.seq_of[int(row[0])] = event.id

    def ack(self, seq: int) -> None:
        super().ack(seq)
        if seq in self.seq_of:
            self.acked_at.setdefault(self.seq_of[seq], time.monotonic())


class SeatStream:
    """One seat producing an event every `period_s` on its own thread."""

    def __init__(self, url: BrokerUrl, folder: Path, seat: str, period_s: float) -> None:
        self.seat, self.period_s = seat, period_s
        self.outbox = WatchedOutbox(folder / f"outbox-{seat}.db")
        self.link = MqttLink(url, SeatIdentity("chaos", seat, f"dev-{seat}"), self.outbox).start()
        self.produced: list[str] = []
        self.made_at: dict[str, float] = {}     # id -> time.monotonic() when committed
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stream-{seat}", daemon=True)

    def start(self) -> SeatStream:
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.period_s):
            event = Event.new(TYPES[n % len(TYPES)], site="chaos", seat=self.seat,
                              device=f"dev-{self.seat}", call=f"c{n // 20}", t_call=n * 0.5,
                              data={"n": n})
            self.link.publish(event)          # returns once the event is on disk
            with self._lock:
                self.produced.append(event.id)
                self.made_at[event.id] = time.monotonic()
            n += 1

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.produced)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def close(self) -> None:
        self.link.close(2.0)
        self.outbox.close()


def run(folder: Path, restarts: int, seats: int = 3, period_s: float = 0.02,
        up_s: tuple[float, float] = (0.5, 1.5), down_s: float = 0.5, seed: int = 8,
        autosave_each_change: bool = True, recovery_timeout_s: float = 60.0,
        how: str = "kill") -> FaultResult:
    """`autosave_each_change` False is the control run: mosquitto's stock persistence, which
    a SIGKILL can make lose the console's session and queued events (explained, reported)."""
    rng = random.Random(seed)
    broker = durable_broker(folder / "broker", autosave_each_change)
    url = BrokerUrl.parse(broker.url)
    ingest, collector = start_ingest(broker, "chaos-console-restarts")
    streams = [SeatStream(url, folder, f"S{i + 1:02d}", period_s) for i in range(seats)]
    recoveries: list[float] = []
    timeouts = 0
    kills: list[tuple[float, float]] = []     # (killed, back) monotonic times
    try:
        for stream in streams:
            if not stream.link.is_connected.wait(20):
                raise RuntimeError(f"seat {stream.seat} could not connect")
            stream.start()
        for _ in range(restarts):
            time.sleep(rng.uniform(*up_s))
            killed = time.monotonic()
            stop_broker(broker, how)
            time.sleep(down_s)                # the floor keeps producing into the outboxes
            broker.start()
            kills.append((killed, time.monotonic()))
            back_at = {i for s in streams for i in s.snapshot()}
            took = collector.wait_for(back_at, timeout=recovery_timeout_s)
            if took is None:
                timeouts += 1
            else:
                recoveries.append(took)
        time.sleep(rng.uniform(*up_s))
        for stream in streams:
            stream.stop()
        produced = [s.snapshot() for s in streams]
        expected = {i for ids in produced for i in ids}
        collector.wait_for(expected, timeout=60)
        collector.wait_quiet(1.0, timeout=10)
        delivered = expected & set(collector.first)
        made_at = {i: t for s in streams for i, t in s.made_at.items()}
        missing = [{"seat": s.seat, "index": s.produced.index(i),
                    "made_vs_kills_s": [round(made_at[i] - k, 3) for k, _ in kills],
                    "acked_vs_kills_s": [round(s.outbox.acked_at[i] - k, 3) for k, _ in kills]
                    if i in s.outbox.acked_at else None,
                    "restarted_vs_kills_s": [round(b - k, 3) for k, b in kills]}
                   for s in streams for i in s.produced if i not in delivered]
        in_order = all([i for i in collector.order if i in set(ids)] == ids for ids in produced)
        return FaultResult(
            fault=f"broker {'SIGKILL' if how == 'kill' else 'SIGTERM'}+restart x{restarts} "
                  f"({seats} seats, MqttLink)"
                  + ("" if autosave_each_change else ", stock autosave"),
            expected=len(expected), delivered=len(delivered), duplicated=collector.duplicates,
            lost=len(expected - delivered),
            explained=0 if autosave_each_change else len(expected - delivered),
            recovery_s=max(recoveries) if recoveries else None,
            detail={"recovery_median_s": statistics.median(recoveries) if recoveries else None,
                    "recovery_timeouts": timeouts, "in_order_per_seat": in_order,
                    "unexpected_ids": len(set(collector.first) - expected),
                    "missing": missing[:20],
                    "reconnects": sum(s.link.reconnects for s in streams),
                    **({} if autosave_each_change else {"control": STOCK_AUTOSAVE})})
    finally:
        for stream in streams:
            stream.stop()
            stream.close()
        collector.stop()
        ingest.stop()
        broker.stop()
