"""A seat whose device the edge cannot reach (issue 15) shows offline, and comes back."""

from __future__ import annotations

import json

from seatwatch.console import labels
from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event


def _event(kind: str) -> bytes:
    return Event.new("device_fault", site="hq", seat="A1", device="none", call=None, t_call=None,
                     data={"kind": kind, "reason": "serial:/dev/ttyACM3: cannot open the port"}
                     ).to_json().encode()


def _metrics(**fields: object) -> bytes:
    return json.dumps({"schema": 1, "ts": payloads.utc_now_iso(), "seat": "A1", **fields}).encode()


def test_device_missing_keeps_the_seat_offline_until_the_device_is_back() -> None:
    state = FloorState()
    status = payloads.encode(payloads.status("offline", site="hq", seat="A1", device="none"))
    state.handle(topics.status_topic("hq", "A1"), status, 1.0)
    state.handle(topics.events_topic("hq", "A1"), _event("device_missing"), 2.0)
    view = state.seats[("hq", "A1")]
    assert not view.online and view.state == "offline"
    assert [g.key[3] for g in state.feed.values()] == ["device_fault"]      # an alert to act on
    state.handle(topics.metrics_topic("hq", "A1"), _metrics(link="down", call_state="idle"), 3.0)
    assert not view.online
    back = payloads.encode(payloads.status("online", site="hq", seat="A1", device="SN1"))
    state.handle(topics.status_topic("hq", "A1"), back, 4.0)
    state.handle(topics.metrics_topic("hq", "A1"), _metrics(link="ok", call_state="idle"), 5.0)
    assert view.online and view.device == "SN1"
    # lost audio reported after the device came back does not take the seat offline
    state.handle(topics.events_topic("hq", "A1"), _event("audio_lost"), 6.0)
    assert view.online


def test_device_missing_in_words() -> None:
    words = dict(labels.evidence("device_fault", {"kind": "device_missing", "reason": "x"}))
    assert words["fault"] == "device not connected or not answering"
