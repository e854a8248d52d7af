"""Through a real mosquitto: the edge's publisher feeds the floor, one console's ack
shows on another, broker loss is shown and recovered."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual.widgets import DataTable

from seatwatch.console.app import ConsoleApp
from seatwatch.console.ingest import Ingest
from seatwatch.console.state import FloorState
from seatwatch.console.store import HistoryStore
from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from tests.fixtures.broker import Mosquitto


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def pump(ingest: Ingest, state: FloorState, store: HistoryStore | None = None) -> None:
    batch = ingest.drain()
    if store is not None:
        store.record(batch)
    for topic, payload, received in batch:
        state.handle(topic, payload, received)


def seat_link(broker: Mosquitto, tmp_path: Path, seat: str) -> MqttLink:
    who = SeatIdentity("hq", seat, f"dev-{seat}", firmware="1.3.0", agent="王芳")
    return MqttLink(BrokerUrl(broker.host, broker.port), who, Outbox(tmp_path / f"{seat}.db")).start()


def edge_event(kind: str, seat: str, call: str = "c1", **data: object) -> Event:
    return Event.new(kind, site="hq", seat=seat, device=f"dev-{seat}", call=call, t_call=12.0,
                     data=dict(data))


async def test_edge_events_feed_the_floor_and_an_ack_reaches_the_other_console(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    url = BrokerUrl(mosquitto.host, mosquitto.port)
    first = Ingest(url, "console-first").start()
    second = Ingest(url, "console-second").start()
    assert wait_for(lambda: first.is_connected.is_set() and second.is_connected.is_set())
    time.sleep(0.3)                                     # subscriptions acknowledged
    link = seat_link(mosquitto, tmp_path, "A01")
    try:
        assert wait_for(link.is_connected.is_set)
        for event in (edge_event("call_started", "A01"), edge_event("overtalk", "A01", overlap_s=0.8),
                      edge_event("overtalk", "A01", overlap_s=1.3),
                      edge_event("forbidden_phrase", "A01", keyword="不知道", score=0.9)):
            link.publish(event)
        link.publish_metrics({"call_state": "in_call", "call": "c1", "t_call": 14.0, "rate_cpm": 128.0,
                              "mic_dbfs": -23.0, "dose_pct": 12.0, "link": "ok"})
        assert link.flush(10.0)

        other, other_store = FloorState(), HistoryStore(tmp_path / "second.db")
        app = ConsoleApp(ingest=first, user="lin", refresh_s=0.1)
        async with app.run_test(size=(140, 40)) as pilot:
            floor = app.query_one("#floor", DataTable)
            feed = app.query_one("#feed", DataTable)
            for _ in range(100):
                await pilot.pause(0.1)
                if app.state.counters["events"] == 4 and app.state.counters["metrics"] == 1:
                    break
            row = [str(c) for c in floor.get_row_at(0)]
            assert row[:4] == ["A01", "王芳", "in_call", "00:14"]
            assert row[6] == "Taboo phrase: 不知道 “I don't know” (N4) +1"   # worst, and one more
            assert [str(feed.get_row_at(i)[3]) for i in range(feed.row_count)] == [
                "Taboo phrase: 不知道 “I don't know” (N4)", "Interrupted the caller (N8)"]
            assert str(feed.get_row_at(1)[4]) == "2"                       # grouped repeat
            assert app.sub_title.startswith("broker: connected")
            await pilot.press("tab", "a")                                  # ack on the first console
            assert wait_for(lambda: (pump(second, other, other_store) or
                                     other.counters["acks"] == 1))
        groups = {g.key[3]: g for g in other.feed.values()}
        assert groups["forbidden_phrase"].status == "acked" and groups["forbidden_phrase"].by == "lin"
        assert groups["overtalk"].status == "open"
        assert other_store.query("SELECT action, by_user FROM acks") == [("ack", "lin")]
    finally:
        link.close(2.0)
        second.stop()


async def test_broker_loss_is_shown_and_recovered(mosquitto: Mosquitto) -> None:
    ingest = Ingest(BrokerUrl(mosquitto.host, mosquitto.port), "console-outage").start()
    assert wait_for(ingest.is_connected.is_set)
    app = ConsoleApp(ingest=ingest, refresh_s=0.1)
    async with app.run_test() as pilot:
        await pilot.pause(0.2)
        assert app.sub_title == "broker: connected"
        mosquitto.stop()
        for _ in range(50):
            await pilot.pause(0.1)
            if "reconnecting" in app.sub_title:
                break
        assert app.sub_title == "broker: reconnecting"
        mosquitto.start()
        for _ in range(150):                # paho retries every 1-5 s
            await pilot.pause(0.1)
            if app.sub_title == "broker: connected":
                break
        assert app.sub_title == "broker: connected" and ingest.reconnects == 1
