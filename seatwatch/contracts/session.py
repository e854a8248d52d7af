"""An MQTT client session that speaks 5 where the broker does and 3.1.1 otherwise.

Shared by the edge's publisher and the console's ingest. paho runs the network thread
and reconnects by itself; this class owns the version fallback: a broker that answers
a v5 CONNECT with "unsupported protocol" or drops it before any CONNACK (amqtt does
both) gets 3.1.1 from then on. Nothing else may depend on the version.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger(__name__)

UNSUPPORTED_PROTOCOL = (1, 132)  # MQTT 3.1.1 CONNACK code 1; MQTT 5 reason 0x84
# A broker that took the TCP connection but has not answered a v5 CONNECT after this long
# does not speak v5 (amqtt sits on a CONNECT carrying properties until the keepalive).
V5_CONNACK_TIMEOUT_S = 3.0


# A DNS name or an IPv4 address (IPv6 literals come bracketed and keep their colons).
_HOST = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?")


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
        form = "expected mqtt[s]://[user[:pass]@]host[:port]"
        if not url.strip():
            raise BrokerUrlError(f"broker URL is empty ({form})")
        if any(ch.isspace() or ord(ch) < 32 for ch in url):
            raise BrokerUrlError(f"broker URL {url!r}: contains spaces or control characters "
                                 f"({form})")
        try:
            parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        except ValueError as exc:            # e.g. an unbalanced IPv6 bracket
            raise BrokerUrlError(f"broker URL {url!r}: {exc} ({form})") from None
        if parts.scheme not in ("mqtt", "mqtts"):
            raise BrokerUrlError(f"broker URL {url!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise BrokerUrlError(f"broker URL {url!r}: no host ({form})")
        if not _HOST.fullmatch(parts.hostname) and ":" not in parts.hostname:
            raise BrokerUrlError(f"broker URL {url!r}: {parts.hostname!r} is not a host name or "
                                 f"IP address ({form})")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise BrokerUrlError(f"broker URL {url!r}: a broker URL has no path, query or "
                                 f"fragment ({form})")
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise BrokerUrlError(f"broker URL {url!r}: bad port, 1-65535 ({form})") from None
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
class Will:
    topic: str
    payload: bytes


class Session:
    """Subclasses override `connected(client)` and `message(msg)`."""

    def __init__(self, url: BrokerUrl, client_id: str, *, tls: TlsFiles | None = None,
                 will: Will | None = None, persistent: bool = False,
                 session_expiry_s: int = 7 * 24 * 3600, keepalive: int = 15,
                 max_inflight: int = 50) -> None:
        self.url, self.client_id, self.tls, self.will = url, client_id, tls, will
        self.persistent, self.session_expiry_s = persistent, session_expiry_s
        self.keepalive, self.max_inflight = keepalive, max_inflight
        self.protocol = mqtt.MQTTv5
        self.state = "connecting"            # connecting | connected | reconnecting | refused
        self.is_connected = threading.Event()
        self.reconnects = 0
        self._v5_confirmed = False
        self._stopping = False
        self._lock = threading.Lock()
        self.client = self._new_client()

    # --- for subclasses ------------------------------------------------------------------
    def connected(self, client: mqtt.Client) -> None:
        """Called on every (re)connection, on paho's network thread."""

    def disconnected(self) -> None:
        """Called when the connection is lost, on paho's network thread."""

    def message(self, msg: mqtt.MQTTMessage) -> None:
        """Called for every received message, on paho's network thread."""

    def published(self, mid: int) -> None:
        """The broker acknowledged message `mid` (QoS 1 PUBACK)."""

    def publish_refused(self, mid: int, reason: Any) -> None:
        """The broker refused message `mid` (MQTT 5 PUBACK reason >= 0x80, e.g. 0x87 not
        authorised by the ACL). MQTT 3.1.1 cannot say so: mosquitto drops it silently."""
        log.error("%s: broker refused message %d: %s", self.url, mid, reason)

    # --- lifecycle -----------------------------------------------------------------------
    def _new_client(self) -> mqtt.Client:
        v5 = self.protocol == mqtt.MQTTv5
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=self.protocol,
                             clean_session=None if v5 else not self.persistent)
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            tls = self.tls or TlsFiles()
            client.tls_set(ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key,
                           cert_reqs=ssl.CERT_REQUIRED)
        if self.will is not None:
            client.will_set(self.will.topic, self.will.payload, qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.max_inflight_messages_set(self.max_inflight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = lambda c, u, msg: self.message(msg)
        client.on_publish = self._on_publish
        return client

    def start(self) -> Self:
        kwargs: dict[str, Any] = {}
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            if self.persistent:
                props.SessionExpiryInterval = self.session_expiry_s
            kwargs = {"clean_start": not self.persistent, "properties": props}
        self.client.connect_async(self.url.host, self.url.port, keepalive=self.keepalive,
                                  **kwargs)
        self.client.loop_start()
        if self.protocol == mqtt.MQTTv5 and not self._v5_confirmed:
            threading.Thread(target=self._await_v5_connack, args=(self.client,),
                             name="mqtt-v5-probe", daemon=True).start()
        return self

    def _await_v5_connack(self, client: mqtt.Client) -> None:
        """Fall back to 3.1.1 when a v5 CONNECT sits unanswered on an open socket."""
        since: float | None = None
        while not self._stopping and client is self.client and not self._v5_confirmed:
            if self.is_connected.wait(0.25):
                return
            if client.socket() is None:       # broker down: paho retries, nothing to judge
                since = None
            elif since is None:
                since = time.monotonic()
            elif time.monotonic() - since > V5_CONNACK_TIMEOUT_S:
                self._downgrade()
                return

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def _downgrade(self) -> None:
        """Restart on MQTT 3.1.1 (off paho's thread: loop_stop joins it)."""
        def restart() -> None:
            with self._lock:
                if self.protocol != mqtt.MQTTv5 or self._stopping:
                    return
                log.info("%s: broker does not speak MQTT 5, using 3.1.1", self.url)
                self.client.loop_stop()
                self.protocol = mqtt.MQTTv311
                self.client = self._new_client()
                self.start()
        threading.Thread(target=restart, name="mqtt-downgrade", daemon=True).start()

    # --- paho callbacks ------------------------------------------------------------------
    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason: Any = None,
                    properties: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            self.publish_refused(mid, reason)
        else:
            self.published(mid)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any = None) -> None:
        code = getattr(reason, "value", reason)
        if code in UNSUPPORTED_PROTOCOL and self.protocol == mqtt.MQTTv5:
            self._downgrade()
            return
        if code != 0:
            self.state = "refused"
            log.warning("%s: connection refused: %s", self.url, reason)
            return
        self._v5_confirmed = self._v5_confirmed or self.protocol == mqtt.MQTTv5
        self.state = "connected"
        self.is_connected.set()
        self.connected(client)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any = None) -> None:
        was_connected = self.is_connected.is_set()
        self.is_connected.clear()
        if self._stopping:
            return
        if not was_connected and self.protocol == mqtt.MQTTv5 and not self._v5_confirmed:
            self._downgrade()  # dropped before any CONNACK: a broker that cannot parse v5
            return
        if was_connected:
            self.reconnects += 1
            log.warning("%s: connection lost (%s); reconnecting", self.url, reason)
        self.state = "reconnecting"
        self.disconnected()

    @property
    def version(self) -> str:
        return "5" if self.protocol == mqtt.MQTTv5 else "3.1.1"
