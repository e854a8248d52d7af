"""The MQTT topic layout and the non-event payloads are enforced, not just documented."""

from __future__ import annotations

import pytest

from seatwatch.contracts import payloads, topics


def test_topic_round_trip() -> None:
    for kind in topics.SEAT_KINDS:
        topic = topics.seat_topic("hq", "A01", kind)
        assert topic == f"seatwatch/v1/hq/A01/{kind}"
        parsed = topics.parse_topic(topic)
        assert (parsed.site, parsed.seat, parsed.kind) == ("hq", "A01", kind)
    acks = topics.parse_topic(topics.acks_topic("hq"))
    assert (acks.seat, acks.kind) == (None, "acks")


@pytest.mark.parametrize("site,seat", [("hq", "_consoles"), ("hq", "a/b"), ("", "A1"),
                                       ("hq", "+"), ("hq", "#"), ("h q", "A1")])
def test_bad_identifiers_refused(site: str, seat: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.events_topic(site, seat)


@pytest.mark.parametrize("topic", ["seatwatch/v2/hq/A1/events", "seatwatch/v1/hq/A1/audio",
                                   "seatwatch/v1/hq/A1", "other/v1/hq/A1/events",
                                   "seatwatch/v1/hq/A1/events/extra"])
def test_unknown_topics_refused(topic: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse_topic(topic)


def test_console_subscriptions_cover_every_seat_topic_but_cmd() -> None:
    subs = topics.console_subscriptions("hq")
    assert "seatwatch/v1/hq/+/events" in subs and "seatwatch/v1/hq/_consoles/acks" in subs
    assert not any(sub.endswith("/cmd") for sub in subs)


def test_status_payloads() -> None:
    online = payloads.status("online", site="hq", seat="A01", device="D1", firmware="1.0.0")
    assert payloads.check_status(payloads.encode(online))["state"] == "online"
    with pytest.raises(payloads.PayloadError, match="state"):
        payloads.check_status({**online, "state": "maybe"})
    with pytest.raises(payloads.PayloadError, match="seat"):
        payloads.check_status({**online, "seat": "_x"})


@pytest.mark.parametrize("bad,field", [({"rings": True}, "rings"), ({"rate_cpm": "fast"}, "rate_cpm"),
                                       ({"call_state": "dancing"}, "call_state"),
                                       ({"schema": 2}, "schema")])
def test_metrics_refusals_name_the_field(bad: dict[str, object], field: str) -> None:
    good = {"schema": 1, "ts": "2026-11-25T00:00:00Z", "seat": "A01", "call_state": "in_call",
            "rate_cpm": 120.5, "rings": 2}
    assert payloads.check_metrics(good) == good
    with pytest.raises(payloads.PayloadError, match=field):
        payloads.check_metrics({**good, **bad})


def test_ack_and_command_payloads() -> None:
    ack = payloads.ack("01JDQ0Q6Z4S6V1M9T3R8C2K5PA", seat="A01", action="resolve", by="sup1")
    assert payloads.check_ack(payloads.encode(ack))["action"] == "resolve"
    with pytest.raises(payloads.PayloadError, match="action"):
        payloads.check_ack({**ack, "action": "delete"})
    with pytest.raises(payloads.PayloadError, match="not JSON"):
        payloads.check_ack(b"\xff{")
    cmd = payloads.command("led", {"pattern": "slow_down"}, by="sup1")
    assert payloads.check_command(cmd)["args"] == {"pattern": "slow_down"}
    with pytest.raises(payloads.PayloadError, match="cmd"):
        payloads.check_command({**cmd, "cmd": "format_flash"})
