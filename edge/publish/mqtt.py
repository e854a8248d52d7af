"""One seat's MQTT link: events from the durable outbox, retained status with last-will,
metrics, and commands from the consoles.

Correctness rests on what MQTT 3.1.1 and 5 both have (see session.py): QoS 1 with
PUBACK, retained messages, last-will, and ids inside the payload for deduplication.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import paho.mqtt.client as mqtt

from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event
from seatwatch.contracts.session import BrokerUrl, BrokerUrlError, Session, TlsFiles, Will
from seatwatch.edge.publish.outbox import Outbox, OutboxError

__all__ = ["BrokerUrl", "BrokerUrlError", "MqttLink", "SeatIdentity", "TlsFiles"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeatIdentity:
    site: str
    seat: str
    device: str
    firmware: str | None = None
    agent: str | None = None
    edge: str | None = None

    def status(self, state: str) -> bytes:
        return payloads.encode(payloads.status(state, site=self.site, seat=self.seat,
                                               device=self.device, firmware=self.firmware,
                                               agent=self.agent, edge=self.edge))


class MqttLink(Session):
    """Drains an Outbox to the broker in order; safe to call from any thread."""

    def __init__(self, url: BrokerUrl, who: SeatIdentity, outbox: Outbox, *,
                 tls: TlsFiles | None = None, window: int = 50,
                 on_command: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.who, self.outbox, self.window, self.on_command = who, outbox, window, on_command
        self.counters = {"sent": 0, "acked": 0, "bad_commands": 0, "ack_errors": 0,
                         "refused": 0}
        self._events_topic = topics.events_topic(who.site, who.seat)
        self._status_topic = topics.status_topic(who.site, who.seat)
        self._cmd_topic = topics.cmd_topic(who.site, who.seat)
        self._metrics_topic = topics.metrics_topic(who.site, who.seat)
        self._inflight: dict[int, int] = {}          # mid -> outbox seq
        self._early_acks: set[int] = set()           # PUBACKs that beat publish()'s return
        self._early_refusals: set[int] = set()       # refusals that beat publish()'s return
        # mids of our status and metrics publishes: their callbacks must not land in the
        # early sets, where a later event reusing the mid (paho wraps at 65535) would be
        # taken as acknowledged before the broker had it.
        self._own_mids: set[int] = set()
        self._last_seq = 0                           # highest seq handed to the client
        # the retained status says "online" only while the seat's device is there
        self.device_present = True
        self._generation = 0                         # connections so far
        self._sent_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        super().__init__(url, f"sw-{who.site}-{who.seat}", tls=tls,
                         will=Will(self._status_topic, who.status("offline")),
                         max_inflight=window)
        self._sender = threading.Thread(target=self._send_loop, name=f"mqtt-{who.seat}",
                                        daemon=True)

    def start(self) -> Self:
        super().start()
        if not self._sender.is_alive():
            self._sender.start()
        return self

    def publish(self, event: Event) -> None:
        """Commit the event to the outbox (durable), then let the sender deliver it."""
        self.outbox.put(event, self._events_topic)
        self._wake.set()

    def publish_metrics(self, metrics: dict[str, Any]) -> None:
        if self.is_connected.is_set():
            body = {"schema": 1, "ts": payloads.utc_now_iso(), "seat": self.who.seat, **metrics}
            info = self.client.publish(self._metrics_topic, payloads.encode(body), qos=0)
            with self._sent_lock:
                if info.mid in self._early_acks:    # its callback beat publish()'s return
                    self._early_acks.discard(info.mid)
                else:
                    self._own_mids.add(info.mid)

    def set_presence(self, present: bool, who: SeatIdentity | None = None) -> None:
        """The seat's device came (present) or went: the retained status follows it.

        `who` updates the identity (device id, firmware) the status carries; the last-will
        keeps the identity the session started with (MQTT cannot change it while connected).
        """
        with self._sent_lock:
            self.device_present = present
            if who is not None:
                self.who = who
        if self.is_connected.is_set():
            self._publish_status()

    def _publish_status(self, client: mqtt.Client | None = None) -> None:
        state = "online" if self.device_present else "offline"
        info = (client or self.client).publish(self._status_topic, self.who.status(state), qos=1,
                                               retain=True)
        with self._sent_lock:
            if info.mid in self._early_acks:    # its callback beat publish()'s return
                self._early_acks.discard(info.mid)
            else:
                self._own_mids.add(info.mid)

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every stored event."""
        deadline = time.monotonic() + timeout
        while self.outbox.depth() and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.02)
        return self.outbox.depth() == 0

    def close(self, flush_timeout: float = 5.0) -> None:
        self.flush(flush_timeout)
        self._stop.set()
        self._wake.set()
        if self.is_connected.is_set():
            info = self.client.publish(self._status_topic, self.who.status("offline"), qos=1,
                                       retain=True)
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass
        self.stop()
        self._sender.join(2.0)

    # --- session hooks (paho's network thread) -------------------------------------------
    def connected(self, client: mqtt.Client) -> None:
        with self._sent_lock:
            self._inflight.clear()
            self._early_acks.clear()
            self._early_refusals.clear()
            self._own_mids.clear()
            self._last_seq = 0          # resend everything still in the outbox, in order
            self._generation += 1       # a send pass that began before this must not go on
        # On paho's network thread: this PUBACK cannot be handled before the mid is noted.
        self._publish_status(client)
        client.subscribe(self._cmd_topic, qos=1)
        self._wake.set()
        log.info("%s: seat %s connected (MQTT %s)", self.url, self.who.seat, self.version)

    def published(self, mid: int) -> None:
        with self._sent_lock:
            if mid in self._own_mids:
                self._own_mids.discard(mid)
                return
            seq = self._inflight.pop(mid, None)
            if seq is None:
                self._early_acks.add(mid)
                return
        self._acked(seq)

    def publish_refused(self, mid: int, reason: Any) -> None:
        """Refused by the broker (MQTT 5, e.g. the ACL does not grant this seat's topic).

        The event stays in the outbox, not acknowledged: it is a configuration error, not
        bad data, and goes out after the next reconnection once the account is fixed.
        """
        with self._sent_lock:
            if mid in self._own_mids:
                self._own_mids.discard(mid)
                log.error("seat %s: broker refused the status on %s (%s)", self.who.seat,
                          self._status_topic, reason)
                return
            if self._inflight.pop(mid, None) is None:
                self._early_refusals.add(mid)
        self.counters["refused"] += 1
        log.error("seat %s: broker refused an event on %s (%s); kept in the outbox",
                  self.who.seat, self._events_topic, reason)
        self._wake.set()

    def _acked(self, seq: int) -> None:
        try:
            self.outbox.ack(seq)
        except OutboxError as exc:   # the row stays: sent again later, a duplicate not a loss
            self.counters["ack_errors"] += 1
            log.error("%s", exc)
        self.counters["acked"] += 1
        self._wake.set()

    def message(self, msg: mqtt.MQTTMessage) -> None:
        if msg.topic != self._cmd_topic:   # some brokers (amqtt) misroute retained messages
            self.counters["stray_messages"] = self.counters.get("stray_messages", 0) + 1
            return
        try:
            command = payloads.check_command(bytes(msg.payload))
        except payloads.PayloadError as exc:
            self.counters["bad_commands"] += 1
            log.warning("seat %s: refused command on %s: %s", self.who.seat, msg.topic, exc)
            return
        if self.on_command is not None:
            self.on_command(command)

    # --- sender thread -------------------------------------------------------------------
    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(0.5)
            self._wake.clear()
            if not self.is_connected.is_set():
                continue
            with self._sent_lock:
                room = self.window - len(self._inflight)
                after, generation = self._last_seq, self._generation
            if room <= 0:
                continue
            for row in self.outbox.pending(after, room):
                info = self.client.publish(row.topic, row.payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    break  # connection gone: resent from the outbox after reconnecting
                with self._sent_lock:
                    if generation != self._generation:
                        # reconnected meanwhile: connected() rewound to the oldest row, and
                        # moving _last_seq forward here would skip rows lost with the old link
                        break
                    self._last_seq = row.seq
                    early = info.mid in self._early_acks
                    if early:
                        self._early_acks.discard(info.mid)
                    elif info.mid in self._early_refusals:
                        self._early_refusals.discard(info.mid)
                    else:
                        self._inflight[info.mid] = row.seq
                self.counters["sent"] += 1
                if early:
                    self._acked(row.seq)
