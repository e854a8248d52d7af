"""The message handler under malformed input (hypothesis), heartbeats and last-will."""

from __future__ import annotations

import io
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from textual.widgets._data_table import default_cell_formatter

from seatwatch.console.app import feed_row, floor_row
from seatwatch.console.screens.seat import describe
from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import EVENT_TYPES, Event, EventError
from tests.console.scenario import NOW, event, metrics, status

KINDS = ("events", "status", "metrics", "acks", "cmd")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


CARD = {"score": 80.0, "duration_s": 95.0, "violations": {"overtalk": 1}, "greeting": True,
        "greeting_t": 1.2, "holds": 1, "hold_checkins_missed": 0, "closing": False}


def valid_body(kind: str, seat: str, event_type: str = "overtalk") -> dict[str, Any]:
    """A well-formed payload of each topic kind, the seed that mutations start from."""
    data = {"scorecard": dict(CARD)} if event_type == "call_ended" else {"overlap_s": 0.7}
    ev = Event.new(event_type, site="hq", seat=seat, device="d1", call="c1", t_call=3.0,
                   data=data, now=NOW)
    if kind == "events":
        return ev.to_dict()
    if kind == "status":
        return payloads.status("online", site="hq", seat=seat, device="d1", firmware="1.2")
    if kind == "metrics":
        return {"schema": 1, "ts": "2026-11-25T08:00:00Z", "seat": seat, "call_state": "hold",
                "call": "c1", "t_call": 12.5, "rings": 2, "rate_cpm": 140.0, "mic_dbfs": -22.0,
                "ear_dba": 71.0, "dose_pct": 35.0, "led": "green", "queue_depth": 0,
                "link": "ok", "model_ms": 4.1}
    if kind == "acks":
        return payloads.ack(ev.id, seat=seat, action="resolve", by="lin")
    return payloads.command("led", {"pattern": "blink"}, by="lin")


def topic_for(kind: str, seat: str) -> str:
    return topics.acks_topic("hq") if kind == "acks" else topics.seat_topic("hq", seat, kind)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(KINDS))
    seat = draw(st.sampled_from(["S1", "S2", "S3"]))
    body = valid_body(kind, seat, draw(st.sampled_from(["overtalk", "call_started", "call_ended"])))
    # Mutate the payload, or (events) its data and scorecard, which the schema leaves open.
    data = body.get("data", body)
    target = draw(st.sampled_from([body, data, data.get("scorecard", body)]))
    for _ in range(draw(st.integers(0, 3))):
        field = draw(st.sampled_from(sorted(target) + ["extra", "agent", "firmware"]))
        if draw(st.booleans()):
            target.pop(field, None)
        else:
            target[field] = draw(json_values | st.sampled_from(["[b", "[/x]", "[red]x[/", "\\["]))
    return topic_for(kind, seat), json.dumps(body, allow_nan=True).encode()


@st.composite
def garbage(draw: st.DrawFn) -> tuple[str, bytes]:
    """Payloads no topic kind can accept: not JSON, or JSON but not an object."""
    kind = draw(st.sampled_from(KINDS[:4]))
    payload = draw(st.one_of(
        st.binary(max_size=64).filter(lambda b: not b.strip().startswith(b"{")),
        json_values.filter(lambda v: not isinstance(v, dict)).map(
            lambda v: json.dumps(v, allow_nan=True).encode())))
    return topic_for(kind, "S1"), payload


random_topics = st.one_of(st.text(max_size=40),
                          st.lists(st.sampled_from(["seatwatch", "v1", "hq", "S1", "_consoles", "acks",
                                                    "events", "+", "#", "", "x/y"]), max_size=6)
                          .map("/".join))

messages = st.one_of(mutated(), garbage(), st.tuples(random_topics, st.binary(max_size=64)))

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.lists(messages, min_size=1, max_size=25))
def test_handler_never_raises_and_counts_every_message(batch: list[tuple[str, bytes]]) -> None:
    state = FloorState()
    for topic, payload in [*batch, event("dead_air", "S1"), metrics("S1", mic_dbfs=-30.0)]:
        before = sum(state.counters.values())
        state.handle(topic, payload, NOW)
        assert sum(state.counters.values()) == before + 1   # counted once: accepted or refused
    state.mark_stale(NOW + 60)
    drawable(state)


def drawable(state: FloorState) -> None:
    """Whatever got in, the screens can still draw it: cells as DataTable formats them,
    the detail as rich renders it."""
    console = Console(file=io.StringIO(), width=120)
    for view in state.seats.values():
        for cell in floor_row(view):
            console.print(default_cell_formatter(cell))
        console.print(describe(view, NOW))
    for group in state.alerts():
        for cell in feed_row(group):
            default_cell_formatter(cell)


markupish = st.text(alphabet="[]/\\=#@ab 王", max_size=12)
names = st.none() | markupish | st.text(max_size=20)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(sorted(EVENT_TYPES)), st.dictionaries(
    st.sampled_from(["scorecard", "keyword", "overlap_s", "x"]),
    json_values | markupish | st.fixed_dictionaries({}, optional={
        k: json_values | markupish for k in [*CARD, "violations"]}), max_size=3)),
    min_size=1, max_size=6), names, names)
def test_events_with_data_of_any_shape(events: list[tuple[str, dict[str, Any]]], agent: str | None,
                                       firmware: str | None) -> None:
    """The schema leaves `data` open (a scorecard is whatever the edge put there)."""
    state = FloorState()
    body = {**valid_body("status", "S1"), "agent": agent, "firmware": firmware}
    state.handle(topics.status_topic("hq", "S1"), json.dumps(body).encode(), NOW)
    for kind, data in events:
        try:
            ev = Event.new(kind, site="hq", seat="S1", device="d1", call="c1", t_call=2.0, data=data)
        except EventError:
            continue                     # not a valid event: the other tests cover refusals
        state.handle(topics.events_topic("hq", "S1"), ev.to_json().encode(), NOW)
        assert state.counters["events"] >= 1
    drawable(state)


@FUZZ
@given(garbage())
def test_malformed_payloads_raise_their_kind_counter(message: tuple[str, bytes]) -> None:
    state = FloorState()
    topic, payload = message
    kind = topics.parse_topic(topic).kind
    assert state.handle(topic, payload, NOW) is False
    assert state.counters[f"malformed_{kind}"] == 1 and topic in state.last_error
    assert not state.seats and not state.feed


def test_non_finite_and_misrouted_payloads_are_refused() -> None:
    state = FloorState()
    nan_rate = metrics("S1", rate_cpm=float("nan"))
    assert not state.handle(nan_rate[0], nan_rate[1], NOW)
    inf_clock = metrics("S1", t_call=float("inf"))
    assert not state.handle(inf_clock[0], inf_clock[1], NOW)
    _, other_seat = event("forbidden_phrase", "S2")
    assert not state.handle(topics.events_topic("hq", "S1"), other_seat, NOW)
    _, other_status = status("S2")
    assert not state.handle(topics.status_topic("hq", "S1"), other_status, NOW)
    assert state.counters["malformed_metrics"] == 2 and state.counters["malformed_events"] == 1
    assert state.counters["malformed_status"] == 1 and "arrived on hq/S1" in state.last_error
    assert not state.seats


def test_heartbeats_keep_a_seat_online_and_silence_or_last_will_take_it_offline() -> None:
    state = FloorState(stale_after_s=5.0)
    state.handle(*status("S1"), NOW)
    state.handle(*metrics("S1", call_state="in_call"), NOW + 4)
    assert not state.mark_stale(NOW + 8.9)
    assert state.seats[("hq", "S1")].state == "in_call"
    assert state.mark_stale(NOW + 9.1)                     # no heartbeat for 5 s
    assert state.seats[("hq", "S1")].state == "offline"
    state.handle(*metrics("S1", call_state="idle"), NOW + 10)
    assert state.seats[("hq", "S1")].state == "idle"       # back with its next heartbeat
    state.handle(*status("S1", "offline"), NOW + 10.5)     # the broker's last-will
    assert state.seats[("hq", "S1")].state == "offline"
