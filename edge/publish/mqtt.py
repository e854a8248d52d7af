"""One seat's MQTT link: events from the durable outbox, retained status with last-will,
metrics, and commands from the consoles.

MQTT 5 is tried first and 3.1.1 used when the broker refuses it (the embedded demo
broker speaks 3.1.1 only). Correctness rests on what both versions have: QoS 1 with
PUBACK, retained messages, last-will, and ids inside the payload for deduplication.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge import payloads, topics
from edge.events import Event
from edge.publish.outbox import Outbox

log = logging.getLogger(__name__)

UNSUPPORTED_PROTOCOL = (1, 132)  # MQTT 3.1.1 CONNACK code 1; MQTT 5 reason 0x84


class BrokerUrlError(ValueError):
    pass


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerUrlError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise BrokerUrlError(f"broker URL {url!r}: no host")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise BrokerUrlError(f"broker URL {url!r}: bad port") from None
        return cls(parts.hostname, port, tls,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    def __str__(self) -> str:
        user = f"{self.username}@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    ca: str | None = None        # CA bundle that signed the broker's certificate
    cert: str | None = None      # client certificate (optional, mutual TLS)
    key: str | None = None


@dataclass(frozen=True)
class SeatIdentity:
    site: str
    seat: str
    device: str
    firmware: str | None = None
    agent: str | None = None
    edge: str | None = None


class MqttLink:
    """Drains an Outbox to the broker; safe to call from any thread."""

    def __init__(self, url: BrokerUrl, who: SeatIdentity, outbox: Outbox, *,
                 tls: TlsFiles | None = None, window: int = 50,
                 on_command: Callable[[dict[str, Any]], None] | None = None,
                 keepalive: int = 15) -> None:
        self.url, self.who, self.outbox = url, who, outbox
        self.tls, self.window, self.keepalive = tls, window, keepalive
        self.on_command = on_command
        self.protocol = mqtt.MQTTv5
        self.connected = threading.Event()
        self.counters = {"sent": 0, "acked": 0, "reconnects": 0, "bad_commands": 0}
        self._events_topic = topics.events_topic(who.site, who.seat)
        self._status_topic = topics.status_topic(who.site, who.seat)
        self._cmd_topic = topics.cmd_topic(who.site, who.seat)
        self._metrics_topic = topics.metrics_topic(who.site, who.seat)
        self._lock = threading.Lock()
        self._inflight: dict[int, int] = {}          # mid -> outbox seq
        self._early_acks: set[int] = set()           # PUBACKs that beat publish()'s return
        self._last_seq = 0                           # highest seq handed to the client
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._downgrade = False
        self._client = self._new_client()
        self._sender = threading.Thread(target=self._send_loop, name=f"mqtt-{who.seat}",
                                        daemon=True)

    # --- lifecycle -----------------------------------------------------------------------
    def _new_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2,
                             client_id=f"sw-{self.who.site}-{self.who.seat}",
                             protocol=self.protocol)
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            tls = self.tls or TlsFiles()
            client.tls_set(ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key,
                           cert_reqs=ssl.CERT_REQUIRED)
        offline = payloads.status("offline", site=self.who.site, seat=self.who.seat,
                                  device=self.who.device, firmware=self.who.firmware,
                                  agent=self.who.agent, edge=self.who.edge)
        client.will_set(self._status_topic, payloads.encode(offline), qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.max_inflight_messages_set(self.window)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def start(self) -> MqttLink:
        self._client.connect_async(self.url.host, self.url.port, keepalive=self.keepalive)
        self._client.loop_start()
        self._sender.start()
        return self

    def publish(self, event: Event) -> None:
        """Commit the event to the outbox (durable), then let the sender deliver it."""
        self.outbox.put(event, self._events_topic)
        self._wake.set()

    def publish_metrics(self, metrics: dict[str, Any]) -> None:
        if self.connected.is_set():
            body = {"schema": 1, "ts": payloads.utc_now_iso(), "seat": self.who.seat, **metrics}
            self._client.publish(self._metrics_topic, payloads.encode(body), qos=0)

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every stored event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0:
                return True
            self._wake.set()
            time.sleep(0.02)
        return self.outbox.depth() == 0

    def close(self, flush_timeout: float = 5.0) -> None:
        self.flush(flush_timeout)
        self._stop.set()
        self._wake.set()
        if self.connected.is_set():
            offline = payloads.status("offline", site=self.who.site, seat=self.who.seat,
                                      device=self.who.device, firmware=self.who.firmware,
                                      agent=self.who.agent, edge=self.who.edge)
            info = self._client.publish(self._status_topic, payloads.encode(offline), qos=1,
                                        retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self._sender.join(2.0)

    # --- paho callbacks (network thread) -------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any = None) -> None:
        code = getattr(reason, "value", reason)
        if code in UNSUPPORTED_PROTOCOL and self.protocol == mqtt.MQTTv5:
            log.info("%s: broker refuses MQTT 5, using 3.1.1", self.url)
            self._downgrade = True
            self._wake.set()
            return
        if code != 0:
            log.warning("%s: connection refused: %s", self.url, reason)
            return
        with self._lock:
            self._inflight.clear()
            self._early_acks.clear()
            self._last_seq = 0          # resend everything still in the outbox, in order
        online = payloads.status("online", site=self.who.site, seat=self.who.seat,
                                 device=self.who.device, firmware=self.who.firmware,
                                 agent=self.who.agent, edge=self.who.edge)
        client.publish(self._status_topic, payloads.encode(online), qos=1, retain=True)
        client.subscribe(self._cmd_topic, qos=1)
        self.connected.set()
        self._wake.set()
        log.info("%s: connected (MQTT %s)", self.url,
                 "5" if self.protocol == mqtt.MQTTv5 else "3.1.1")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any = None) -> None:
        if self.connected.is_set():
            self.counters["reconnects"] += 1
            log.warning("%s: disconnected (%s); events stay in the outbox", self.url, reason)
        self.connected.clear()

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any = None,
                    properties: Any = None) -> None:
        with self._lock:
            seq = self._inflight.pop(mid, None)
            if seq is None:
                self._early_acks.add(mid)
                return
        self._acked(seq)

    def _acked(self, seq: int) -> None:
        self.outbox.ack(seq)
        self.counters["acked"] += 1
        self._wake.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            command = payloads.check_command(bytes(message.payload))
        except payloads.PayloadError as exc:
            self.counters["bad_commands"] += 1
            log.warning("seat %s: refused command: %s", self.who.seat, exc)
            return
        if self.on_command is not None:
            self.on_command(command)

    # --- sender thread -------------------------------------------------------------------
    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if self._downgrade:
                self._reconnect_as_311()
                continue
            if not self.connected.is_set():
                continue
            with self._lock:
                room = self.window - len(self._inflight)
                after = self._last_seq
            if room <= 0:
                continue
            for row in self.outbox.pending(after, room):
                info = self._client.publish(row.topic, row.payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # not connected any more: resent from the outbox after reconnect
                with self._lock:
                    self._last_seq = row.seq
                    early = info.mid in self._early_acks
                    if early:
                        self._early_acks.discard(info.mid)
                    else:
                        self._inflight[info.mid] = row.seq
                self.counters["sent"] += 1
                if early:
                    self._acked(row.seq)

    def _reconnect_as_311(self) -> None:
        self._downgrade = False
        old = self._client
        old.loop_stop()
        try:
            old.disconnect()
        except OSError:
            pass
        self.protocol = mqtt.MQTTv311
        self._client = self._new_client()
        self._client.connect_async(self.url.host, self.url.port, keepalive=self.keepalive)
        self._client.loop_start()

