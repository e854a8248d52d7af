"""Fuzzing the console's message handler: FloorState.handle promises never to raise."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads
from seatwatch.contracts.events import Event
from tests.fuzz.conftest import FUZZ, json_values, scalars

SEATS = ["A01", "B01", "_consoles", "A01/x", "+", ""]
KINDS = ["events", "status", "metrics", "cmd", "acks", "other"]

topic_strategy = st.one_of(
    st.builds(lambda site, seat, kind: f"seatwatch/v1/{site}/{seat}/{kind}",
              st.sampled_from(["hq", "far", "", "#"]), st.sampled_from(SEATS), st.sampled_from(KINDS)),
    st.sampled_from(["seatwatch/v1/hq/_consoles/acks", "seatwatch/v1", "", "/",
                     "seatwatch/v2/hq/A01/events"]),
    st.text(max_size=40))


def valid_bodies() -> list[dict[str, Any]]:
    event = Event.new("forbidden_phrase", site="hq", seat="A01", device="d1", call="c1",
                      t_call=3.0, data={"keyword": "不知道"}).to_dict()
    return [event,
            payloads.status("online", site="hq", seat="A01", device="d1"),
            {"schema": 1, "ts": "2026-01-01T00:00:00.000Z", "seat": "A01", "mic_dbfs": -20.0},
            payloads.ack(event["id"], seat="A01", action="resolve", by="sup")]


@st.composite
def payload_strategy(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return draw(st.binary(max_size=200))
    body = dict(draw(st.sampled_from(valid_bodies())))
    if choice == 2:
        body.update(draw(st.dictionaries(st.sampled_from(sorted(body) + ["note", "state"]),
                                         st.one_of(scalars, json_values), max_size=3)))
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


@FUZZ
@given(st.lists(st.tuples(topic_strategy, payload_strategy(), st.floats(0, 1e9)), max_size=12))
def test_handle_never_raises(messages: list[tuple[str, bytes, float]]) -> None:
    floor = FloorState()
    for topic, payload, now in messages:
        floor.handle(topic, payload, now)
        floor.mark_stale(now + 120)
