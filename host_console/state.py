"""The floor model: everything the console shows, built from MQTT messages. Pure.

No Textual and no MQTT here: `FloorState.handle(topic, payload, now)` is the single
entry point, so the model is tested directly, fuzzed, and fed by the ingest worker.
Memory is bounded: per-seat history and the alert feed are capped.
"""

from __future__ import annotations

import logging
import math
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from seatwatch.console import labels
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import LIFECYCLE_TYPES, Event, EventError, decode

log = logging.getLogger(__name__)

SEVERITY_RANK = {"info": 0, "warn": 1, "alert": 2}
HISTORY_POINTS = 300          # per seat: ~5 minutes of 1 s metrics
SCORECARDS_KEPT = 20          # per seat
TIMELINE_KEPT = 60            # entries of the current call per seat
FEED_LIMIT = 5_000            # alert groups kept in the feed
SEEN_IDS = 200_000            # event ids remembered for de-duplication
STALE_AFTER_S = 30.0          # no status/metrics/event for this long: shown offline
LOG_EVERY = 1_000             # a flood of bad messages logs its first and every 1000th
METRIC_NUMBERS = ("t_call", "rate_cpm", "mic_dbfs", "ear_dba", "dose_pct", "cpu_pct", "model_ms")
TimelineEntry = tuple[float | None, str, str]    # t_call (s), what, detail
IN_CALL = frozenset({"in_call", "hold"})      # call states with a call timer and a rate


def epoch(ts: object, default: float) -> float:
    """An ISO-8601 time from the wire (event or ack `ts`) as epoch seconds."""
    try:
        moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
    except ValueError:
        return default
    if moment.tzinfo is None:
        return default
    seconds = moment.timestamp()
    return seconds if math.isfinite(seconds) else default


@dataclass
class AlertGroup:
    """Repeated alerts of one kind on one call, shown once with a count."""
    key: tuple[str, str, str | None, str]       # site, seat, call, type
    first: Event
    last: Event
    count: int = 1
    status: str = "open"                        # open | acked | resolved
    by: str | None = None                       # who acknowledged (or resolved) it
    opened_at: float = 0.0                      # when it was raised (or raised again): epoch s
    acked_at: float | None = None               # when it was acknowledged (or resolved unacked)
    resolved_at: float | None = None
    resolved_by: str | None = None

    def __post_init__(self) -> None:
        if not self.opened_at:
            self.opened_at = epoch(self.first.ts, 0.0)

    @property
    def severity(self) -> str:
        return self.last.severity

    @property
    def label(self) -> str:
        return labels.label(self.last.type, self.last.data)

    def waited_s(self, now: float) -> float:
        """How long it has waited for a supervisor: until acknowledged, else until now."""
        until = self.acked_at if self.acked_at is not None else now
        return max(0.0, until - self.opened_at)

    @property
    def time_to_ack_s(self) -> float | None:
        return None if self.acked_at is None else max(0.0, self.acked_at - self.opened_at)

    @property
    def ids(self) -> tuple[str, str]:
        return self.first.id, self.last.id


def device_missing(event: Event) -> bool:
    """The edge's report that a seat's device is gone (unplugged, not answering)."""
    return event.type == "device_fault" and event.data.get("kind") == "device_missing"


@dataclass
class SeatView:
    site: str
    seat: str
    agent: str | None = None
    team: str | None = None
    online: bool = False
    call_state: str = "idle"                    # idle | ringing | in_call | hold
    call: str | None = None
    t_call: float | None = None
    rings: int = 0
    rate_cpm: float | None = None
    mic_dbfs: float | None = None
    ear_dba: float | None = None
    dose_pct: float | None = None
    led: str | None = None
    device: str | None = None
    firmware: str | None = None
    edge: str | None = None
    link: str | None = None
    queue_depth: int | None = None
    last_seen: float = 0.0
    level_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    rate_history: deque[float] = field(default_factory=lambda: deque(maxlen=HISTORY_POINTS))
    events_dropped: int | None = None
    model_ms: float | None = None
    cpu_pct: float | None = None
    # The current (or last) call: (t_call s, what, detail), in arrival order.
    timeline: deque[TimelineEntry] = field(default_factory=lambda: deque(maxlen=TIMELINE_KEPT))
    scorecards: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=SCORECARDS_KEPT))
    open_alerts: dict[tuple[str, str, str | None, str], AlertGroup] = field(default_factory=dict)
    # The rate the edge last sent before this call: an edge that keeps it into the next
    # call (or onto an idle seat) is not showing this call's rate until it changes.
    stale_rate: float | None = None

    @property
    def state(self) -> str:
        return self.call_state if self.online else "offline"

    @property
    def in_call(self) -> bool:
        return self.online and self.call_state in IN_CALL

    @property
    def open_groups(self) -> list[AlertGroup]:
        """Open (unacknowledged) alerts, the worst first: severity, then the newest."""
        if not self.open_alerts:
            return []                           # most seats: drawn every redraw, kept cheap
        groups = [a for a in self.open_alerts.values() if a.status == "open"]
        if len(groups) > 1:
            groups.sort(key=lambda a: (SEVERITY_RANK.get(a.severity, -1), a.last.id), reverse=True)
        return groups

    @property
    def worst_alert(self) -> AlertGroup | None:
        groups = self.open_groups
        return groups[0] if groups else None

    @property
    def worst(self) -> str | None:
        worst = self.worst_alert
        return None if worst is None else worst.severity

    def new_call(self, call: str | None, t_call: float | None) -> None:
        """A call begins: its numbers start empty, never with the previous call's."""
        if self.rate_cpm is not None:
            self.stale_rate = self.rate_cpm
        self.call, self.t_call, self.rate_cpm = call, t_call, None
        self.rate_history.clear()

    def take_rate(self, rate: float | None) -> None:
        """A rate from the metrics: this call's only; none outside a call."""
        if self.call_state not in IN_CALL:
            if rate is not None:
                self.stale_rate = rate
            elif self.rate_cpm is not None:
                self.stale_rate = self.rate_cpm
            self.rate_cpm = None
            return
        if rate is not None and self.stale_rate is not None and rate == self.stale_rate:
            return                              # the previous call's, repeated
        self.stale_rate = None
        self.rate_cpm = rate
        if rate is not None:
            self.rate_history.append(float(rate))


def summary(event_type: str, data: dict[str, Any], limit: int = 90) -> str:
    """An event's evidence in words, for one timeline line."""
    return labels.evidence_line(event_type, data, limit)


def milestones(card: dict[str, Any]) -> list[TimelineEntry]:
    """What the ended call's scorecard says about greeting, holds and closing."""
    out: list[TimelineEntry] = []
    greeting_t = card.get("greeting_t")
    if card.get("greeting") is True:
        out.append((greeting_t if isinstance(greeting_t, (int, float)) else None, "greeting", "heard"))
    if isinstance(card.get("holds"), int) and card["holds"]:
        out.append((None, "holds", f"{card['holds']}, check-ins missed "
                                   f"{card.get('hold_checkins_missed', 0)}"))
    if isinstance(card.get("closing"), bool):
        out.append((None, "closing", "heard" if card["closing"] else "missing"))
    if isinstance(card.get("score"), (int, float)):
        out.append((None, "score", f"{card['score']}"))
    return out


def same_seat(where: topics.ParsedTopic, site: str, seat: str, kind: str) -> None:
    """A payload about another seat than its topic is misrouted or spoofed: refused."""
    try:
        topics.check_parsed_origin(where, site, seat)
    except topics.TopicError as exc:
        raise payloads.PayloadError(f"{kind}: {exc}") from None


def check(where: topics.ParsedTopic, payload: bytes) -> Event | dict[str, Any]:
    """Decode and validate one message for its topic kind; raises EventError/PayloadError."""
    if where.kind == "events":
        event = decode(payload)
        same_seat(where, event.site, event.seat, "event")
        return event
    if where.kind == "status":
        status = payloads.check_status(payload)
        same_seat(where, status["site"], status["seat"], "status")
        return status
    if where.kind == "metrics":
        metrics = payloads.check_metrics(payload)
        same_seat(where, where.site, metrics["seat"], "metrics")
        for name in METRIC_NUMBERS:
            value = metrics.get(name)
            # JSON parsers accept NaN and Infinity; a meter or a clock cannot show them.
            if value is not None and not math.isfinite(value):
                raise payloads.PayloadError(f"metrics: {name}: not a finite number")
        if metrics.get("t_call") is not None and metrics["t_call"] < 0:
            raise payloads.PayloadError("metrics: t_call: negative")
        return metrics
    if where.kind == "acks":
        return payloads.check_ack(payload)
    raise payloads.PayloadError(f"{where.kind}: not a topic the console reads")


# kind, site, seat (None for acks), topic, payload, received, what was parsed
Recorder = Callable[[str, str, "str | None", str, bytes, float, "Event | dict[str, Any]"], None]


class FloorState:
    def __init__(self, roster: dict[str, dict[str, str]] | None = None, *,
                 stale_after_s: float = STALE_AFTER_S) -> None:
        self.stale_after_s = stale_after_s
        self.recorder: Recorder | None = None     # the history store, when there is one
        self.last_error = ""
        self.seats: dict[tuple[str, str], SeatView] = {}
        self.feed: OrderedDict[tuple[str, str, str | None, str], AlertGroup] = OrderedDict()
        self.counters: Counter[str] = Counter()
        self.roster = roster or {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._ack_of: dict[str, tuple[str, str, str | None, str]] = {}   # event id -> group key
        self.version = 0                                                  # bumps on every change

    # --- entry point ---------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, now: float) -> bool:
        """Apply one MQTT message; never raises. Returns True when the model changed."""
        try:
            where = topics.parse_topic(topic)
        except topics.TopicError:
            self.counters["unknown_topic"] += 1
            return False
        if where.kind == "cmd":
            self.counters["ignored"] += 1
            return False
        try:
            obj = check(where, payload)
        # TypeError: seatwatch.contracts.events.validate looks an unhashable "type" (a list) up in a dict.
        except (EventError, payloads.PayloadError, TypeError) as exc:
            name = f"malformed_{where.kind}"
            self.counters[name] += 1
            self.last_error = f"{topic}: {exc}"
            if self.counters[name] % LOG_EVERY == 1:
                log.warning("%s (%s so far): %s", name, self.counters[name], self.last_error)
            return False
        if isinstance(obj, Event) and obj.id in self._seen:
            self.counters["duplicate"] += 1
            return False
        if self.recorder is not None:
            # Kept (written) before it is applied, so before any redraw can show it.
            self.recorder(where.kind, where.site, where.seat, topic, payload, now, obj)
        if isinstance(obj, Event):
            changed = self.apply_event(obj, now)
        elif where.kind == "status":
            changed = self.apply_status(obj, now)
        elif where.kind == "metrics":
            changed = self.apply_metrics(where.site, obj, now)
        else:
            changed = self.apply_ack(where.site, obj, now)
        if changed:
            self.version += 1
        return changed

    # --- seats ---------------------------------------------------------------------------
    def seat(self, site: str, seat: str) -> SeatView:
        view = self.seats.get((site, seat))
        if view is None:
            info = self.roster.get(seat, {})
            view = SeatView(site, seat, agent=info.get("agent"), team=info.get("team"))
            self.seats[(site, seat)] = view
        return view

    def apply_status(self, status: dict[str, Any], now: float) -> bool:
        view = self.seat(status["site"], status["seat"])
        view.online = status["state"] == "online"
        view.device, view.firmware = status["device"], status.get("firmware")
        view.edge = status.get("edge")
        view.agent = status.get("agent") or view.agent
        view.last_seen = now
        self.counters["status"] += 1
        return True

    def apply_metrics(self, site: str, metrics: dict[str, Any], now: float) -> bool:
        view = self.seat(site, metrics["seat"])
        # an edge whose seat has lost its device still sends metrics: link "down", offline
        view.online, view.last_seen = metrics.get("link") != "down", now
        # Hold and LED changes only show in metrics: they become timeline milestones.
        t_call = metrics.get("t_call", view.t_call)
        state = metrics.get("call_state", view.call_state)
        call = metrics.get("call", view.call)
        if call is not None and call != view.call:
            view.new_call(call, t_call)           # metrics can overtake the call_started event
        if state != view.call_state:
            if state == "hold":
                view.timeline.append((t_call, "hold", "started"))
            elif view.call_state == "hold" and state == "in_call":
                view.timeline.append((t_call, "hold", "ended"))
            elif state == "ringing":
                view.timeline.clear()
                view.timeline.append((None, "ringing", ""))
        led = metrics.get("led", view.led)
        if led and led != view.led:
            view.timeline.append((t_call, "led", "check-in reminder" if led == "hold_checkin_due" else led))
        for name in ("call_state", "call", "t_call", "rings", "mic_dbfs", "ear_dba",
                     "dose_pct", "led", "link", "queue_depth", "events_dropped", "model_ms", "cpu_pct"):
            if name in metrics:
                setattr(view, name, metrics[name])
        if view.call_state not in IN_CALL:
            view.t_call = None                    # no call timer outside a call
        if "rate_cpm" in metrics or view.call_state not in IN_CALL:
            view.take_rate(metrics.get("rate_cpm", view.rate_cpm))
        if metrics.get("mic_dbfs") is not None:
            view.level_history.append(float(metrics["mic_dbfs"]))
        self.counters["metrics"] += 1
        return True

    def mark_stale(self, now: float, after_s: float | None = None) -> bool:
        """Heartbeats (status, metrics, events) stopped without a last-will: offline."""
        after_s = self.stale_after_s if after_s is None else after_s
        changed = False
        for view in self.seats.values():
            if view.online and now - view.last_seen > after_s:
                view.online, changed = False, True
        if changed:
            self.version += 1
        return changed

    # --- events and alerts ---------------------------------------------------------------
    def apply_event(self, event: Event, now: float) -> bool:
        if event.id in self._seen:
            self.counters["duplicate"] += 1
            return False
        self._seen[event.id] = None
        if len(self._seen) > SEEN_IDS:
            self._seen.popitem(last=False)
        self.counters["events"] += 1
        view = self.seat(event.site, event.seat)
        # the edge reports a seat whose device is missing (`device_fault`, `device_missing`)
        view.last_seen, view.online = now, not device_missing(event)
        if event.type == "call_started" and view.call != event.call:
            # Metrics (QoS 0, sent at once) can overtake the event (QoS 1, via the outbox):
            # a call already known from its metrics keeps their fresher state and clock.
            view.new_call(event.call, event.t_call or 0.0)
            view.call_state = "in_call"
            if view.timeline and view.timeline[-1][1] != "ringing":
                view.timeline.clear()
        view.timeline.append((event.t_call, event.type, summary(event.type, event.data)))
        if event.type == "call_ended" and view.call in (event.call, None):
            view.call_state, view.call, view.t_call = "idle", None, None
            view.take_rate(None)
        if event.type == "call_ended":
            given = event.data.get("scorecard")
            card = dict(given) if isinstance(given, dict) else {}
            card["call"], card["ts"], card["agent"] = event.call, event.ts, view.agent
            view.scorecards.append(card)
            view.timeline.extend(milestones(card))
        if event.type in LIFECYCLE_TYPES:
            return True
        key = (event.site, event.seat, event.call, event.type)
        group = self.feed.get(key)
        if group is None or group.status == "resolved":
            group = AlertGroup(key, event, event, opened_at=epoch(event.ts, now))
        else:
            group.count += 1
            group.last = event
            if group.status == "acked" and SEVERITY_RANK[event.severity] >= 2:
                # a new alert reopens an acknowledged group: it waits again, from now
                group.status, group.by, group.acked_at = "open", None, None
                group.opened_at = epoch(event.ts, now)
        self.feed[key] = group
        self.feed.move_to_end(key, last=False)  # newest first
        self._ack_of[event.id] = key
        if group.status != "resolved":
            view.open_alerts[key] = group
        while len(self.feed) > FEED_LIMIT:
            old_key, old = self.feed.popitem(last=True)
            self.seat(old_key[0], old_key[1]).open_alerts.pop(old_key, None)
        return True

    def apply_ack(self, site: str, ack: dict[str, Any], now: float | None = None) -> bool:
        key = self._ack_of.get(ack["event"])
        group = self.feed.get(key) if key else None
        if key is None or group is None:
            self.counters["ack_unknown_event"] += 1
            return False
        when = epoch(ack.get("ts"), now if now is not None else group.opened_at)
        if ack["action"] == "resolve":
            group.status, group.resolved_at, group.resolved_by = "resolved", when, ack["by"]
            self.seat(key[0], key[1]).open_alerts.pop(key, None)
        elif group.status == "open":
            group.status = "acked"
        else:
            return self._counted_ack()            # acknowledged already: the first one stands
        if group.acked_at is None:
            group.acked_at, group.by = when, ack["by"]
        return self._counted_ack()

    def _counted_ack(self) -> bool:
        self.counters["acks"] += 1
        return True

    def alerts(self, min_severity: str = "info", include_resolved: bool = False) -> list[AlertGroup]:
        floor = SEVERITY_RANK[min_severity]
        return [g for g in self.feed.values()
                if SEVERITY_RANK[g.severity] >= floor and (include_resolved or g.status != "resolved")]
