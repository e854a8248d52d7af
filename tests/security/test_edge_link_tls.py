"""The edge's own MQTT link (MqttLink) through the shipped TLS + ACL broker config."""

from __future__ import annotations

import json
import time
from pathlib import Path

from seatwatch.contracts import topics
from seatwatch.contracts.events import Event
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity, TlsFiles
from seatwatch.edge.publish.outbox import Outbox
from tests.security.conftest import SITE, Client, SecureBroker, connect


def test_mqtt_link_delivers_over_tls(tmp_path: Path, secure_broker: SecureBroker,
                                     clients: list[Client]) -> None:
    console = connect(secure_broker, "console-1")
    clients.append(console)
    console.subscribe(f"seatwatch/v1/{SITE}/A02/#")
    url = BrokerUrl.parse(secure_broker.url("edge-a"))
    assert url.tls and url.username == "edge-a"
    link = MqttLink(url, SeatIdentity(SITE, "A02", "dev-7"), Outbox(tmp_path / "outbox.db"),
                    tls=TlsFiles(ca=str(secure_broker.ca.ca_cert))).start()
    try:
        assert link.is_connected.wait(10), link.state
        sent = [Event.new("dead_air", site=SITE, seat="A02", device="dev-7", call="c9",
                          t_call=float(i), data={"silence_s": 8.0}) for i in range(5)]
        for event in sent:
            link.publish(event)
        assert link.flush(10)
        want = {event.id for event in sent}
        assert console.wait_for(lambda: want <= {json.loads(p)["id"] for p in
                                                 console.received("/A02/events")})
        statuses = [json.loads(p)["state"] for p in console.received("/A02/status")]
        assert "online" in statuses
    finally:
        link.close(2.0)
    assert console.wait_for(lambda: [json.loads(p)["state"] for p in
                                     console.received("/A02/status")][-1] == "offline")


def test_mqtt_link_for_a_foreign_seat_is_refused(tmp_path: Path, secure_broker: SecureBroker,
                                                 clients: list[Client]) -> None:
    """An edge configured (or tampered) to speak for B01 with edge-a's account gets nowhere,
    and its event is kept in the outbox (the broker's MQTT 5 refusal is not a delivery)."""
    console = connect(secure_broker, "console-1")
    clients.append(console)
    console.subscribe(topics.events_topic(SITE, "B01"))
    outbox = Outbox(tmp_path / "outbox.db")
    link = MqttLink(BrokerUrl.parse(secure_broker.url("edge-a")), SeatIdentity(SITE, "B01", "dev-x"),
                    outbox, tls=TlsFiles(ca=str(secure_broker.ca.ca_cert))).start()
    try:
        assert link.is_connected.wait(10), link.state
        link.publish(Event.new("call_started", site=SITE, seat="B01", device="dev-x", call="c1",
                               t_call=0.0))
        deadline = time.monotonic() + 5
        while link.counters["refused"] == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert link.counters["refused"] == 1 and link.counters["acked"] == 0  # status not counted
        time.sleep(0.2)
        assert console.received() == []
        assert outbox.depth() == 1      # kept, not lost: it goes out once the account is fixed
    finally:
        link.close(0.1)
