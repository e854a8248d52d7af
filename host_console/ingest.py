"""The console's MQTT worker: receives on paho's network thread, never touches the UI.

Messages are queued; the UI drains the queue on a timer and applies them to the floor
model in one batch, so a burst of events costs one redraw. The session is persistent
(fixed client id, clean session off / MQTT 5 session expiry), so QoS 1 events published
while the console was closed are delivered when it comes back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge import payloads, topics
from edge.publish.mqtt import UNSUPPORTED_PROTOCOL, BrokerUrl, TlsFiles

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600   # the broker keeps a closed console's queue this long


class Ingest:
    def __init__(self, url: BrokerUrl, client_id: str, *, site: str = "+",
                 tls: TlsFiles | None = None, max_queue: int = 1_000_000) -> None:
        self.url, self.client_id, self.site, self.tls = url, client_id, site, tls
        self.inbox: queue.Queue[tuple[str, bytes, float]] = queue.Queue(max_queue)
        self.connected = threading.Event()
        self.state = "connecting"           # connecting | connected | reconnecting | refused
        self.protocol = mqtt.MQTTv5
        self.received = 0
        self._client = self._new_client()
        self._downgrade = threading.Event()
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watch_loop, name="ingest", daemon=True)

    def _new_client(self) -> mqtt.Client:
        v5 = self.protocol == mqtt.MQTTv5
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             protocol=self.protocol, clean_session=None if v5 else False)
        if self.url.username:
            client.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            tls = self.tls or TlsFiles()
            client.tls_set(ca_certs=tls.ca, certfile=tls.cert, keyfile=tls.key)
        client.reconnect_delay_set(1, 5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> Ingest:
        self._connect()
        self._watch.start()
        return self

    def _connect(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            kwargs = {"clean_start": False, "properties": props}
        self._client.connect_async(self.url.host, self.url.port, keepalive=15, **kwargs)
        self._client.loop_start()

    def stop(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, body: dict[str, Any]) -> bool:
        """Publish an ack or a command (QoS 1); False when not connected."""
        if not self.connected.is_set():
            return False
        info = self._client.publish(topic, payloads.encode(body), qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def drain(self, limit: int = 10_000) -> list[tuple[str, bytes, float]]:
        batch: list[tuple[str, bytes, float]] = []
        try:
            while len(batch) < limit:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return batch

    # --- paho callbacks ------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any = None) -> None:
        code = getattr(reason, "value", reason)
        if code in UNSUPPORTED_PROTOCOL and self.protocol == mqtt.MQTTv5:
            self._downgrade.set()
            return
        if code != 0:
            self.state = "refused"
            log.warning("console: broker refused the connection: %s", reason)
            return
        for topic in topics.console_subscriptions(self.site):
            client.subscribe(topic, qos=1)
        self.state = "connected"
        self.connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any = None) -> None:
        self.connected.clear()
        if not self._stop.is_set():
            self.state = "reconnecting"

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.inbox.put((message.topic, bytes(message.payload), time.time()))

    def _watch_loop(self) -> None:
        while not self._stop.is_set():
            if self._downgrade.wait(0.5):
                self._downgrade.clear()
                self._client.loop_stop()
                self.protocol = mqtt.MQTTv311
                self._client = self._new_client()
                self._connect()
