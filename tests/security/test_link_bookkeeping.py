"""MqttLink's PUBACK bookkeeping stays clean however many metrics it sends.

Every paho publish takes a message id and ids wrap at 65535. A metrics or status
callback parked in the "early acknowledgements" set would, once ids wrap, make a later
event count as delivered before the broker had it: the outbox row would be deleted and
a crash at that moment would lose the event. Reaching the wrap needs 65535 publishes,
so the test checks the bookkeeping directly: nothing stale is left behind.
"""

from __future__ import annotations

import time
from pathlib import Path

from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from tests.fixtures.broker import Mosquitto


def test_metrics_and_status_leave_no_stale_acks(tmp_path: Path, mosquitto: Mosquitto) -> None:
    outbox = Outbox(tmp_path / "outbox.db")
    link = MqttLink(BrokerUrl.parse(mosquitto.url), SeatIdentity("hq", "A01", "d1"), outbox).start()
    try:
        assert link.is_connected.wait(10)
        for index in range(300):
            link.publish_metrics({"rings": index})
            if index % 30 == 0:
                link.publish(Event.new("dead_air", site="hq", seat="A01", device="d1",
                                       call="c1", t_call=float(index)))
        assert link.flush(10)
        time.sleep(0.5)                      # the last QoS 0 callbacks
        assert link.counters["acked"] == 10
        assert link._early_acks == set() and link._own_mids == set()
        assert link._inflight == {}
    finally:
        link.close(1.0)
