"""Fault 4: the outbox runs out of room while the broker is unreachable.

Two ways to be full:
- the row bound (`max_events`): the stated drop policy applies (oldest info first, then
  oldest warn, an alert only when nothing else is left). The kept set is predicted by an
  independent model of that policy and compared with what reaches the console;
- the disk (SQLite's max_page_count stands in for a nearly full filesystem): put() raises
  OutboxError naming the file and the reason; what was accepted before is delivered once
  the broker is back, and the outbox accepts events again once it has drained.
"""

from __future__ import annotations

import time
from pathlib import Path

from seatwatch.console.ingest import Ingest
from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox, OutboxError
from tests.chaos.common import Collector, FaultResult, durable_broker, kill_broker, start_ingest
from tests.fixtures.broker import Mosquitto

RANK = {"info": 0, "warn": 1, "alert": 2}
# one in ten is an alert, three are warnings, six are info (lifecycle and scorecards)
PATTERN = ("call_started", "dead_air", "call_too_long", "overtalk", "call_ended",
           "forbidden_phrase", "call_started", "answer_late", "call_ended", "call_too_long")


class SmallDiskOutbox(Outbox):
    """An Outbox whose database may not grow past `max_pages` pages (a nearly full disk)."""

    def __init__(self, path: Path, max_pages: int, **kwargs: int) -> None:
        super().__init__(path, **kwargs)
        (pages,) = self._db.execute("PRAGMA page_count").fetchone()
        self._db.execute(f"PRAGMA max_page_count = {max(int(pages), max_pages)}")


def _event(n: int, seat: str, type_: str | None = None) -> Event:
    return Event.new(type_ or PATTERN[n % len(PATTERN)], site="chaos", seat=seat,
                     device=f"dev-{seat}", call=f"c{n // 10}", t_call=float(n), data={"n": n})


def predicted_kept(events: list[Event], bound: int) -> tuple[list[str], dict[str, int]]:
    """The drop policy as NORMS/docs state it, written independently of the outbox."""
    kept: list[Event] = []
    dropped = {"info": 0, "warn": 0, "alert": 0}
    for event in events:
        kept.append(event)
        if len(kept) > bound:
            victim = min(range(len(kept)), key=lambda i: (RANK[kept[i].severity], i))
            dropped[kept.pop(victim).severity] += 1
    return [e.id for e in kept], dropped


def bounded(folder: Path, events: int = 400, bound: int = 100) -> FaultResult:
    broker = durable_broker(folder / "broker-bound")
    ingest, collector = start_ingest(broker, "chaos-console-bound")
    kill_broker(broker)                        # the console's session exists; the broker is gone
    outbox = Outbox(folder / "outbox-B01.db", max_events=bound)
    link = MqttLink(BrokerUrl.parse(broker.url), SeatIdentity("chaos", "B01", "dev-B01"),
                    outbox).start()
    try:
        made = [_event(n, "B01") for n in range(events)]
        for event in made:
            link.publish(event)
        kept, want_dropped = predicted_kept(made, bound)
        broker.start()
        started = time.monotonic()
        took = collector.wait_for(set(kept), timeout=60)
        collector.wait_quiet(1.0, timeout=10)
        delivered = set(collector.first) & {e.id for e in made}
        order_ok = collector.order == kept
        return FaultResult(
            fault=f"outbox row bound ({events} events into max_events={bound}, broker down)",
            expected=events, delivered=len(delivered), duplicated=collector.duplicates,
            lost=events - len(delivered), explained=sum(outbox.dropped.values()),
            recovery_s=None if took is None else time.monotonic() - started,
            detail={"dropped": dict(outbox.dropped), "policy_predicted": want_dropped,
                    "policy_ok": outbox.dropped == want_dropped and delivered == set(kept),
                    "alerts_kept": sum(e.severity == "alert" and e.id in delivered for e in made),
                    "in_order": order_ok})
    finally:
        _teardown(link, outbox, collector, ingest, broker)


def disk_full(folder: Path, max_pages: int = 24, attempts: int = 600) -> FaultResult:
    broker = durable_broker(folder / "broker-disk")
    ingest, collector = start_ingest(broker, "chaos-console-disk")
    kill_broker(broker)
    outbox = SmallDiskOutbox(folder / "outbox-D01.db", max_pages)
    link = MqttLink(BrokerUrl.parse(broker.url), SeatIdentity("chaos", "D01", "dev-D01"),
                    outbox).start()
    accepted: list[str] = []
    refused: list[Event] = []
    messages: set[str] = set()
    try:
        for n in range(attempts):
            event = _event(n, "D01")
            try:
                link.publish(event)
                accepted.append(event.id)
            except OutboxError as exc:
                refused.append(event)
                messages.add(str(exc).replace(event.id, "<id>"))
        broker.start()
        started = time.monotonic()
        took = collector.wait_for(set(accepted), timeout=60)
        # room again once the broker took the backlog: a new alert is accepted and delivered
        again: float | None = None
        deadline = time.monotonic() + 60
        while again is None and time.monotonic() < deadline:
            late = _event(attempts, "D01", "forbidden_phrase")
            try:
                link.publish(late)
                accepted.append(late.id)
                again = time.monotonic() - started
            except OutboxError:
                time.sleep(0.1)
        collector.wait_for(set(accepted), timeout=30)
        collector.wait_quiet(1.0, timeout=10)
        delivered = set(collector.first) & set(accepted)
        return FaultResult(
            fault=f"outbox disk full (max_page_count={max_pages}, broker down)",
            expected=len(accepted), delivered=len(delivered), duplicated=collector.duplicates,
            lost=len(set(accepted) - delivered), explained=sum(outbox.dropped.values()),
            recovery_s=again,
            detail={"attempted": attempts + 1, "refused_when_full": len(refused),
                    "refused_by_severity": {s: sum(e.severity == s for e in refused) for s in RANK},
                    "dropped": dict(outbox.dropped), "error_messages": sorted(messages),
                    "backlog_delivered_s": took, "in_order": collector.order == accepted})
    finally:
        _teardown(link, outbox, collector, ingest, broker)


def _teardown(link: MqttLink, outbox: Outbox, collector: Collector, ingest: Ingest,
              broker: Mosquitto) -> None:
    link.close(2.0)
    outbox.close()
    collector.stop()
    ingest.stop()
    broker.stop()
