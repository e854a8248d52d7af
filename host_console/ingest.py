"""The console's MQTT worker: receives on paho's network thread, never touches the UI.

Messages are queued; the UI drains the queue on a timer and applies them to the floor
model in one batch, so a burst of events costs one redraw. The session is persistent
(fixed client id, clean session off / MQTT 5 session expiry), so QoS 1 events published
while the console was closed are delivered when it comes back.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import paho.mqtt.client as mqtt

from seatwatch.contracts import payloads, topics
from seatwatch.contracts.session import BrokerUrl, Session, TlsFiles


class Ingest(Session):
    def __init__(self, url: BrokerUrl, client_id: str, *, site: str = "+",
                 tls: TlsFiles | None = None, max_queue: int = 1_000_000) -> None:
        super().__init__(url, client_id, tls=tls, persistent=True)
        self.site = site
        # A full inbox blocks paho's thread: back-pressure to the broker, never a drop.
        self.inbox: queue.Queue[tuple[str, bytes, float]] = queue.Queue(max_queue)
        self.received = 0

    def connected(self, client: mqtt.Client) -> None:
        for topic in topics.console_subscriptions(self.site):
            client.subscribe(topic, qos=1)

    def message(self, msg: mqtt.MQTTMessage) -> None:
        self.received += 1
        self.inbox.put((msg.topic, bytes(msg.payload), time.time()))

    def publish(self, topic: str, body: dict[str, Any]) -> bool:
        """Publish an ack or a command (QoS 1); False when not connected."""
        if not self.is_connected.is_set():
            return False
        info = self.client.publish(topic, payloads.encode(body), qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    def wait(self, timeout: float, limit: int = 10_000) -> list[tuple[str, bytes, float]]:
        """Block until a message arrives (or `timeout`), then take what is queued."""
        try:
            first = self.inbox.get(timeout=timeout)
        except queue.Empty:
            return []
        return [first, *self.drain(limit - 1)]

    def drain(self, limit: int = 10_000) -> list[tuple[str, bytes, float]]:
        batch: list[tuple[str, bytes, float]] = []
        try:
            while len(batch) < limit:
                batch.append(self.inbox.get_nowait())
        except queue.Empty:
            pass
        return batch
