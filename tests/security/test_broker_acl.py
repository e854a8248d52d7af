"""The shipped mosquitto config and provisioned ACL, against a real broker over TLS.

mosquitto 2 drops an unauthorised MQTT 3.1.1 publish silently (it still sends PUBACK)
and answers MQTT 5 with reason 0x87 "not authorised"; so every refusal is proved by a
console subscriber that receives a later, allowed message but never the refused one.
"""

from __future__ import annotations

import signal
import socket
import struct
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event
from seatwatch.edge.security import acl
from seatwatch.edge.security.ca import make_ca
from seatwatch.edge.security.provision import provision
from tests.security.conftest import SITE, Client, SecureBroker, connect

NOT_AUTHORISED = 0x87
PROTOCOLS = pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5], ids=["3.1.1", "5"])


def event_for(seat: str, device: str = "dev-1") -> bytes:
    event = Event.new("call_started", site=SITE, seat=seat, device=device, call="c1", t_call=0.0)
    return event.to_json().encode()


def watcher(broker: SecureBroker, clients: list[Client], user: str = "console-1") -> Client:
    """A console subscribed to everything, as the floor console is."""
    console = connect(broker, user)
    clients.append(console)
    assert console.connected.is_set(), console.connack
    assert console.subscribe("seatwatch/v1/#") == [1]
    return console


def device(broker: SecureBroker, clients: list[Client], user: str, protocol: int) -> Client:
    client = connect(broker, user, protocol=protocol)
    clients.append(client)
    assert client.connected.is_set(), client.connack
    return client


@PROTOCOLS
def test_device_own_events_arrive(secure_broker: SecureBroker, clients: list[Client],
                                  protocol: int) -> None:
    console = watcher(secure_broker, clients)
    edge = device(secure_broker, clients, "edge-a", protocol)
    body = event_for("A02")
    assert edge.publish(topics.events_topic(SITE, "A02"), body) == 0
    assert console.wait_for(lambda: body in console.received("/A02/events"))


@PROTOCOLS
def test_device_publishing_as_another_seat_is_refused(secure_broker: SecureBroker,
                                                      clients: list[Client], protocol: int) -> None:
    console = watcher(secure_broker, clients)
    edge = device(secure_broker, clients, "edge-a", protocol)
    forged = [(topics.events_topic(SITE, "B01"), event_for("B01")),
              (topics.status_topic(SITE, "B01"), b'{"forged": 1}'),
              (topics.metrics_topic(SITE, "B01"), b'{"forged": 2}'),
              (topics.events_topic("other-site", "A01"), event_for("A01")),
              (topics.acks_topic(SITE), b'{"forged": 3}'),
              (topics.cmd_topic(SITE, "B01"), b'{"forged": 4}')]
    for topic, body in forged:
        reason = edge.publish(topic, body)
        assert reason == (NOT_AUTHORISED if protocol == mqtt.MQTTv5 else 0), topic
    marker = event_for("A01")
    assert edge.publish(topics.events_topic(SITE, "A01"), marker) == 0
    # Same publisher, same QoS: the broker keeps order, so once the marker is in, any
    # forged message that had been let through would be in too.
    assert console.wait_for(lambda: marker in console.received())
    time.sleep(0.2)
    leaked = [t for t, _ in console.messages if "/B01/" in t or "other-site" in t or "_consoles" in t]
    assert leaked == []


def test_device_reads_only_its_own_commands(secure_broker: SecureBroker,
                                            clients: list[Client]) -> None:
    """mosquitto 2.0 grants the SUBACK; the read ACL filters every delivery instead."""
    edge = device(secure_broker, clients, "edge-a", mqtt.MQTTv5)
    edge.subscribe("seatwatch/v1/#")
    other = device(secure_broker, clients, "edge-b", mqtt.MQTTv5)
    assert other.publish(topics.events_topic(SITE, "B01"), event_for("B01")) == 0
    console = connect(secure_broker, "console-1")
    clients.append(console)
    for seat in ("B01", "A01"):      # A01 last: its arrival proves B01's had its chance
        command = payloads.encode(payloads.command("led", {"pattern": "blink"}, by="sup-1"))
        assert console.publish(topics.cmd_topic(SITE, seat), command) == 0
    assert edge.wait_for(lambda: edge.received("/A01/cmd"))
    time.sleep(0.2)
    assert [t for t, _ in edge.messages] == [topics.cmd_topic(SITE, "A01")]


@PROTOCOLS
def test_console_cannot_publish_events_but_acks_and_commands(
        secure_broker: SecureBroker, clients: list[Client], protocol: int) -> None:
    watching = watcher(secure_broker, clients, "console-hq")
    console = connect(secure_broker, "console-1", protocol=protocol)
    clients.append(console)
    refused = NOT_AUTHORISED if protocol == mqtt.MQTTv5 else 0
    for kind in ("events", "status", "metrics"):
        assert console.publish(topics.seat_topic(SITE, "A01", kind), event_for("A01")) == refused
    ack = payloads.encode(payloads.ack("0" * 26, seat="A01", action="ack", by="sup-1"))
    command = payloads.encode(payloads.command("info", by="sup-1"))
    assert console.publish(topics.acks_topic(SITE), ack) == 0
    assert console.publish(topics.cmd_topic(SITE, "A01"), command) == 0
    assert watching.wait_for(lambda: ack in watching.received("/acks")
                             and command in watching.received("/cmd"))
    time.sleep(0.2)
    forged = [t for t, body in watching.messages
              if t.endswith(("/events", "/status", "/metrics")) and b'"call_started"' in body]
    assert forged == []


def test_site_scoped_console_sees_only_its_site(secure_broker: SecureBroker,
                                                clients: list[Client]) -> None:
    console = connect(secure_broker, "console-hq")
    clients.append(console)
    console.subscribe("seatwatch/v1/#")
    far = device(secure_broker, clients, "edge-far", mqtt.MQTTv5)
    near = device(secure_broker, clients, "edge-a", mqtt.MQTTv5)
    assert far.publish(topics.events_topic("far", "Z01"), event_for("Z01")) == 0
    time.sleep(0.1)
    assert near.publish(topics.events_topic(SITE, "A01"), event_for("A01")) == 0
    assert console.wait_for(lambda: console.received("/A01/events"))
    assert not [t for t, _ in console.messages if "/far/" in t]
    assert console.publish(topics.cmd_topic("far", "Z01"),
                           payloads.encode(payloads.command("info", by="x"))) == NOT_AUTHORISED


@PROTOCOLS
def test_anonymous_and_wrong_password_are_refused(secure_broker: SecureBroker,
                                                  clients: list[Client], protocol: int) -> None:
    anonymous = connect(secure_broker, None, protocol=protocol)
    wrong = connect(secure_broker, "edge-a", password="not-the-password", protocol=protocol)
    unknown = connect(secure_broker, "nobody", password="x", protocol=protocol)
    clients += [anonymous, wrong, unknown]
    for client in (anonymous, wrong, unknown):
        assert not client.connected.is_set()
        assert client.connack is not None and client.connack.is_failure


def test_plain_text_paho_client_is_refused(secure_broker: SecureBroker, clients: list[Client]) -> None:
    plain = connect(secure_broker, "edge-a", tls=False, wait=False)
    clients.append(plain)
    time.sleep(1.5)
    assert not plain.connected.is_set()
    assert plain.connack is None      # never a CONNACK: the broker only speaks TLS


def mqtt311_connect(user: str, password: str) -> bytes:
    def field(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("!H", len(raw)) + raw

    body = field("MQTT") + bytes([4, 0xC2]) + struct.pack("!H", 15)
    body += field("plain-probe") + field(user) + field(password)
    return bytes([0x10, len(body)]) + body


def test_plain_text_connect_gets_no_connack(secure_broker: SecureBroker) -> None:
    """A valid CONNECT with valid credentials, sent in clear, is never answered by MQTT."""
    with socket.create_connection(("127.0.0.1", secure_broker.port), timeout=5) as sock:
        sock.sendall(mqtt311_connect("edge-a", secure_broker.passwords["edge-a"]))
        try:
            answer = sock.recv(64)
        except (ConnectionResetError, TimeoutError):
            answer = b""
    assert not answer.startswith(b"\x20"), answer   # 0x20 = CONNACK


def test_shipped_config_has_no_plain_listener() -> None:
    from tests.security.conftest import SHIPPED_CONF

    lines = [line.split("#")[0].split() for line in SHIPPED_CONF.read_text().splitlines()]
    settings = [line for line in lines if line]
    keys = [line[0] for line in settings]
    assert ["allow_anonymous", "false"] in settings
    assert keys.count("listener") == 1 and keys.count("password_file") == 1
    assert keys.count("acl_file") == 1
    after_listener = keys[keys.index("listener"):]
    assert {"certfile", "keyfile", "cafile"} <= set(after_listener)
    assert ["require_certificate", "false"] in settings
    assert "port" not in keys and "bind_address" not in keys   # no implicit default listener


def test_a_broker_not_signed_by_the_trusted_ca_is_refused(
        secure_broker: SecureBroker, clients: list[Client], tmp_path: Path) -> None:
    """Clients authenticate the broker: an impostor's certificate fails the handshake
    before the password is sent."""
    other, _ = make_ca(tmp_path / "other-ca")
    client = connect(secure_broker, "edge-a", ca=other.ca_cert, wait=False)
    clients.append(client)
    time.sleep(1.5)
    assert not client.connected.is_set() and client.connack is None


def test_provisioning_a_running_broker_takes_effect_on_reload(
        secure_broker: SecureBroker, clients: list[Client]) -> None:
    """The operator's flow: provision, SIGHUP, the new account works within its ACL."""
    done = provision(acl.device_block("edge-new", SITE, ["C01"]),
                     passwd_file=secure_broker.folder / "passwd",
                     acl_file=secure_broker.folder / "acl",
                     secret_file=secure_broker.folder / "secrets" / "edge-new.pass")
    password = done.secret_file.read_text().strip()
    assert secure_broker.broker.proc is not None
    secure_broker.broker.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    console = watcher(secure_broker, clients)
    edge = connect(secure_broker, "edge-new", password=password)
    clients.append(edge)
    assert edge.connected.is_set(), edge.connack
    assert edge.publish(topics.events_topic(SITE, "A01"), event_for("A01")) == NOT_AUTHORISED
    body = event_for("C01")
    assert edge.publish(topics.events_topic(SITE, "C01"), body) == 0
    assert console.wait_for(lambda: body in console.received("/C01/events"))
    old = connect(secure_broker, "edge-a")          # existing accounts survive the reload
    clients.append(old)
    assert old.connected.is_set()
