"""The ACL binds accounts to topics, not payloads: consumers must match the two."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
import pytest

from seatwatch.contracts import topics
from seatwatch.contracts.events import Event, decode
from tests.security.conftest import SITE, Client, SecureBroker, connect


def test_check_origin() -> None:
    topic = topics.events_topic(SITE, "A01")
    assert topics.check_origin(topic, SITE, "A01").seat == "A01"
    with pytest.raises(topics.TopicError, match="seat 'B01'"):
        topics.check_origin(topic, SITE, "B01")
    with pytest.raises(topics.TopicError, match="site 'far'"):
        topics.check_origin(topic, "far", "A01")
    assert topics.check_origin(topics.metrics_topic(SITE, "A01"), None, "A01").kind == "metrics"
    assert topics.check_origin(topics.acks_topic(SITE), SITE, "B01").kind == "acks"
    with pytest.raises(topics.TopicError):
        topics.check_origin("seatwatch/v1/hq/A01/../B01/events", SITE, "B01")


def test_a_payload_claiming_another_seat_passes_the_broker_but_not_check_origin(
        secure_broker: SecureBroker, clients: list[Client]) -> None:
    console = connect(secure_broker, "console-1")
    edge = connect(secure_broker, "edge-a", protocol=mqtt.MQTTv5)
    clients += [console, edge]
    console.subscribe("seatwatch/v1/#")
    lie = Event.new("assist_requested", site=SITE, seat="B01", device="dev-1", call=None,
                    t_call=None).to_json().encode()
    assert edge.publish(topics.events_topic(SITE, "A01"), lie) == 0     # the ACL allows it
    assert console.wait_for(lambda: console.received("/A01/events"))
    topic, payload = console.messages[-1]
    event = decode(payload)                                          # and the schema too
    assert json.loads(payload)["seat"] == "B01"
    with pytest.raises(topics.TopicError):
        topics.check_origin(topic, event.site, event.seat)
