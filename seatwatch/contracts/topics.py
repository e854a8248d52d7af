"""MQTT topic layout v1: one subtree per seat, a shared subtree for the consoles.

    seatwatch/v1/{site}/{seat}/events    device -> consoles, QoS 1, schema v1 events
    seatwatch/v1/{site}/{seat}/status    retained JSON status; last-will {"state": "offline"}
    seatwatch/v1/{site}/{seat}/metrics   periodic device/edge metrics, QoS 0
    seatwatch/v1/{site}/{seat}/cmd       console -> device commands, QoS 1
    seatwatch/v1/{site}/_consoles/acks   alert acknowledgements shared by consoles, QoS 1

Seat ids never start with "_" (see events.valid_ident), so `_consoles` cannot collide
with a seat and an ACL can grant it to consoles only.
"""

from __future__ import annotations

from dataclasses import dataclass

from seatwatch.contracts.events import valid_ident

ROOT = "seatwatch/v1"
SEAT_KINDS = ("events", "status", "metrics", "cmd")
ACKS = "_consoles/acks"


class TopicError(ValueError):
    pass


def _check(site: str, seat: str | None = None) -> None:
    if not valid_ident(site):
        raise TopicError(f"site {site!r} is not a valid identifier")
    if seat is not None and not valid_ident(seat):
        raise TopicError(f"seat {seat!r} is not a valid identifier")


def seat_topic(site: str, seat: str, kind: str) -> str:
    if kind not in SEAT_KINDS:
        raise TopicError(f"unknown seat topic kind {kind!r}")
    _check(site, seat)
    return f"{ROOT}/{site}/{seat}/{kind}"


def events_topic(site: str, seat: str) -> str:
    return seat_topic(site, seat, "events")


def status_topic(site: str, seat: str) -> str:
    return seat_topic(site, seat, "status")


def metrics_topic(site: str, seat: str) -> str:
    return seat_topic(site, seat, "metrics")


def cmd_topic(site: str, seat: str) -> str:
    return seat_topic(site, seat, "cmd")


def acks_topic(site: str) -> str:
    _check(site)
    return f"{ROOT}/{site}/{ACKS}"


def console_subscriptions(site: str = "+") -> list[str]:
    """What a console subscribes to: every seat's events, status, metrics, and the acks."""
    return [f"{ROOT}/{site}/+/events", f"{ROOT}/{site}/+/status",
            f"{ROOT}/{site}/+/metrics", f"{ROOT}/{site}/{ACKS}"]


@dataclass(frozen=True)
class ParsedTopic:
    site: str
    seat: str | None  # None for the consoles' shared subtree
    kind: str         # events | status | metrics | cmd | acks


def parse_topic(topic: str) -> ParsedTopic:
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != ROOT:
        raise TopicError(f"not a seatwatch v1 topic: {topic!r}")
    site = parts[2]
    if "/".join(parts[3:]) == ACKS:
        _check(site)
        return ParsedTopic(site, None, "acks")
    if len(parts) != 5 or parts[4] not in SEAT_KINDS:
        raise TopicError(f"unknown seatwatch topic: {topic!r}")
    _check(site, parts[3])
    return ParsedTopic(site, parts[3], parts[4])


def check_origin(topic: str, site: object = None, seat: object = None) -> ParsedTopic:
    """Refuse a payload whose site or seat differs from the topic it came on.

    The broker's ACL binds an account to topics, not to what its payloads say: without
    this check a device allowed only on seat A01 could publish, on A01's topic, an event
    or a status claiming seat B01. Consumers call it after decoding; None means the
    payload does not carry that field (metrics have no site; an ack's seat is the seat of
    the acknowledged event, not of its topic).
    """
    where = parse_topic(topic)
    check_parsed_origin(where, site, seat)
    return where


def check_parsed_origin(where: ParsedTopic, site: object = None, seat: object = None) -> None:
    """check_origin for a topic already parsed."""
    if site is not None and site != where.site:
        raise TopicError(f"payload site {site!r} arrived on {where.site}/{where.seat or ''}")
    if seat is not None and where.seat is not None and seat != where.seat:
        raise TopicError(f"payload seat {seat!r} arrived on {where.site}/{where.seat}")
