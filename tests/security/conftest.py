"""A real mosquitto running the shipped production config (deploy/mosquitto/seatwatch.conf).

Only what a test machine must change is changed: the files folder (a tmp dir holding a
CA, certificates, password and ACL files made by `seatwatch provision`'s own code) and
the listener port. Accounts: three edge devices (two sites), two consoles.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from seatwatch.edge.security import acl
from seatwatch.edge.security.ca import CaFiles, make_ca
from seatwatch.edge.security.provision import provision
from tests.fixtures.broker import Mosquitto, free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "seatwatch.conf"
FILES_DIR = "/etc/mosquitto/seatwatch"
SITE = "hq"

# user -> ACL block; every password is random, made by provision()
ACCOUNTS = {
    "edge-a": acl.device_block("edge-a", SITE, ["A01", "A02"]),
    "edge-b": acl.device_block("edge-b", SITE, ["B01"]),
    "edge-far": acl.device_block("edge-far", "far", ["Z01"]),
    "console-1": acl.console_block("console-1"),
    "console-hq": acl.console_block("console-hq", [SITE]),
}


def render_conf(shipped: str, files: Path, port: int) -> str:
    """The shipped config with the test's folder and port; refuses a config it cannot map."""
    if shipped.count("\nlistener 8883\n") != 1 or FILES_DIR not in shipped:
        raise AssertionError("shipped config no longer has the expected listener/paths")
    text = shipped.replace(FILES_DIR, str(files)).replace("\nlistener 8883\n",
                                                          f"\nlistener {port} 127.0.0.1\n")
    if os.geteuid() == 0:
        # Started as root, mosquitto switches to the `mosquitto` user, which cannot read
        # a root-only pytest tmp dir; production files are made readable to it instead.
        text += "\nuser root\n"
    return text


@dataclass
class SecureBroker:
    broker: Mosquitto
    ca: CaFiles
    passwords: dict[str, str]
    folder: Path

    @property
    def port(self) -> int:
        return self.broker.port

    def url(self, user: str, password: str | None = None) -> str:
        return f"mqtts://{user}:{password or self.passwords[user]}@127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBroker]:
    folder = tmp_path_factory.mktemp("broker")
    ca, _ = make_ca(folder, ["localhost", "127.0.0.1"])
    passwords = {}
    for user, block in ACCOUNTS.items():
        done = provision(block, passwd_file=folder / "passwd", acl_file=folder / "acl",
                         secret_file=folder / "secrets" / f"{user}.pass")
        passwords[user] = done.secret_file.read_text().strip()
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(render_conf(SHIPPED_CONF.read_text(), folder, port))
    broker = Mosquitto("127.0.0.1", port, conf)
    broker.start()
    try:
        yield SecureBroker(broker, ca, passwords, folder)
    finally:
        broker.stop()


@dataclass
class Client:
    """A paho 2 client that records what it sees; one per test actor."""
    client: mqtt.Client
    connack: Any = None
    connected: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    messages: list[tuple[str, bytes]] = field(default_factory=list)
    pubacks: dict[int, int] = field(default_factory=dict)     # mid -> reason code value
    subacks: dict[int, list[int]] = field(default_factory=dict)

    def received(self, topic_suffix: str = "") -> list[bytes]:
        return [payload for topic, payload in list(self.messages) if topic.endswith(topic_suffix)]

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.02)
        return bool(predicate())

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> int:
        """Publish and wait for the PUBACK; the reason code value (0 = accepted)."""
        info = self.client.publish(topic, payload, qos=qos)
        assert self.wait_for(lambda: info.mid in self.pubacks), f"no PUBACK for {topic}"
        return self.pubacks[info.mid]

    def subscribe(self, topic: str) -> list[int]:
        _, mid = self.client.subscribe(topic, qos=1)
        assert self.wait_for(lambda: mid in self.subacks), f"no SUBACK for {topic}"
        return self.subacks[mid]

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


_counter = iter(range(1_000_000))


def connect(broker: SecureBroker, user: str | None, *, password: str | None = None,
            protocol: int = mqtt.MQTTv5, tls: bool = True, wait: bool = True,
            ca: Path | None = None) -> Client:
    """Connect (TLS unless told otherwise); `answered` is set by CONNACK or a drop."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{next(_counter)}",
                         protocol=protocol)
    if user is not None:
        client.username_pw_set(user, password if password is not None else broker.passwords[user])
    if tls:
        client.tls_set(ca_certs=str(ca or broker.ca.ca_cert))
    client.reconnect_delay_set(30, 60)      # one attempt per test: a refusal stays a refusal
    record = Client(client)

    def on_connect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        record.connack = reason
        if not reason.is_failure:
            record.connected.set()
        record.answered.set()

    def on_disconnect(c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        record.answered.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_message = lambda c, u, msg: record.messages.append((msg.topic, bytes(msg.payload)))
    client.on_publish = lambda c, u, mid, reason, props: record.pubacks.__setitem__(mid, reason.value)
    client.on_subscribe = lambda c, u, mid, reasons, props: record.subacks.__setitem__(
        mid, [r.value for r in reasons])
    client.connect_async("127.0.0.1", broker.port, keepalive=15)
    client.loop_start()
    if wait:
        assert record.answered.wait(10), f"{user}: no answer from the broker"
    return record


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """Register clients here so they are stopped after the test."""
    made: list[Client] = []
    yield made
    for client in made:
        client.stop()
