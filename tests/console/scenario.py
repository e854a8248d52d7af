"""Shared floor scenarios for console tests: real schema-v1 payloads on real topics."""

from __future__ import annotations

from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event, decode

NOW = 1_780_000_000.0


def event(kind: str, seat: str, call: str | None = "c1", t_call: float | None = 10.0,
          site: str = "hq", **data: object) -> tuple[str, bytes]:
    ev = Event.new(kind, site=site, seat=seat, device=f"dev-{seat}", call=call, t_call=t_call,
               data=dict(data), now=NOW)
    return topics.events_topic(site, seat), ev.to_json().encode()


def status(seat: str, state: str = "online", site: str = "hq") -> tuple[str, bytes]:
    body = payloads.status(state, site=site, seat=seat, device=f"dev-{seat}", firmware="1.0.0")
    return topics.status_topic(site, seat), payloads.encode(body)


def metrics(seat: str, site: str = "hq", **fields: object) -> tuple[str, bytes]:
    body = {"schema": 1, "ts": "2026-11-25T08:00:00Z", "seat": seat, **fields}
    return topics.metrics_topic(site, seat), payloads.encode(body)


ROSTER = {"A01": {"agent": "王芳", "team": "pension"}, "A02": {"agent": "李强", "team": "medical"}}


def ack(ev_payload: bytes, action: str = "ack", by: str = "lin", site: str = "hq") -> tuple[str, bytes]:
    ev = decode(ev_payload)
    body = payloads.ack(ev.id, seat=ev.seat, action=action, by=by)
    return topics.acks_topic(site), payloads.encode(body)


def scorecard(seat: str, call: str, score: float, site: str = "hq",
              **violations: int) -> tuple[str, bytes]:
    card = {"score": score, "duration_s": 95.0, "violations": violations}
    return event("call_ended", seat, call=call, t_call=95.0, site=site, scorecard=card)


def busy_messages() -> list[tuple[str, bytes]]:
    return [status("A01"), status("A02"), status("A03"),
            event("call_started", "A01", t_call=0.0),
            metrics("A01", call_state="in_call", rate_cpm=131.0, mic_dbfs=-24.0, t_call=42.0),
            event("forbidden_phrase", "A01", keyword="不知道", score=0.93),
            event("overtalk", "A01", overlap_s=0.8, started_by="agent", limit_s=0.5,
                  caller_turn_s=2.1, cut_in_s=9.2),
            event("overtalk", "A01", overlap_s=1.1, started_by="agent", limit_s=0.5,
                  caller_turn_s=1.6, cut_in_s=8.9),
            event("call_started", "A02", call="c7", t_call=0.0),
            event("dead_air", "A02", call="c7", silence_s=8.0, limit_s=8.0, from_s=2.0),
            status("A03", "offline")]


def busy_floor() -> FloorState:
    state = FloorState(roster=ROSTER)
    for topic, payload in busy_messages():
        state.handle(topic, payload, NOW)
    return state
