"""Event schema v1: the one contract between devices, the edge and every console.

An event is a small JSON object carrying labels, levels and timings only: never audio,
never a transcript (NORMS.md N14). `validate()` is used by producers before publishing
and by consumers on receipt, so both ends reject the same things for the same reasons.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

SEVERITIES = ("info", "warn", "alert")

# Event type -> default severity. The names are those of NORMS.md.
EVENT_TYPES: dict[str, str] = {
    "answer_late": "warn",
    "greeting_missing": "warn",
    "forbidden_phrase": "alert",
    "speech_rate_high": "warn",
    "speech_rate_low": "warn",
    "agent_volume_high": "warn",
    "agent_volume_low": "warn",
    "hold_checkin_missed": "warn",
    "overtalk": "warn",
    "dead_air": "warn",
    "call_too_long": "info",
    "closing_missing": "warn",
    "agent_hung_up_first": "warn",
    "agent_tone_strained": "warn",
    "earpiece_exposure": "warn",
    "acoustic_shock": "alert",
    "assist_requested": "alert",
    "device_fault": "alert",
    "call_started": "info",
    "call_ended": "info",
}

# Types that are facts about a call rather than something a supervisor must act on.
LIFECYCLE_TYPES = frozenset({"call_started", "call_ended"})

# Breaches of a service norm by the agent (N1-N13): these count against the call's score.
NORM_TYPES = frozenset({
    "answer_late", "greeting_missing", "forbidden_phrase", "speech_rate_high",
    "speech_rate_low", "agent_volume_high", "agent_volume_low", "hold_checkin_missed",
    "overtalk", "dead_air", "call_too_long", "closing_missing", "agent_hung_up_first",
    "agent_tone_strained"})

# Site, seat and device identifiers: safe as MQTT topic levels, never starting with "_"
# (that prefix is reserved for shared subtrees such as the consoles' acknowledgements).
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$")
_EVENT_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_MAX_EVENT_BYTES = 8192
_MAX_DATA_DEPTH = 4
_MAX_STRING = 200

_REQUIRED = ("schema", "id", "type", "severity", "site", "seat", "device", "call", "ts",
             "t_call", "data")
_OPTIONAL = ("t",)


class EventError(ValueError):
    """An event that does not follow schema v1; the message names the field and reason."""


# The one id rule, in words: every tool that takes a site or seat id (edge config, analyze
# --seat, console, firmware build/flash, the device's own config) checks it with
# valid_ident() and says this when it refuses one.
IDENT_RULE = "1 to 64 characters: letters A-Z/a-z, digits, '.' or '-', starting with a letter or digit"


def valid_ident(value: object) -> bool:
    # fullmatch: `$` alone also matches before a trailing newline ("A01\n").
    return isinstance(value, str) and bool(_IDENT.fullmatch(value))


def ident_error(value: object, what: str = "seat id") -> str | None:
    """None for a valid id, else why it is refused (names the value and the rule)."""
    if valid_ident(value):
        return None
    return f"{what} {value!r} is not a valid id ({IDENT_RULE})"


# --- sortable unique ids (ULID layout: 48-bit ms time + 80 bits, Crockford base32) ---

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_id_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(out))


def new_event_id(now_ms: int | None = None) -> str:
    """A ULID: lexicographic order follows creation order, also within one millisecond."""
    global _last_ms, _last_rand
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    with _id_lock:
        if ms <= _last_ms:
            # Same (or an earlier, after a clock step back) millisecond: keep ids monotonic.
            ms = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last_ms = ms
        rand = _last_rand
    return _b32(ms, 10) + _b32(rand, 16)


def utc_now_iso(now: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_ts(value: str) -> datetime:
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() != UTC.utcoffset(None):
        raise ValueError("not UTC")
    return moment


@dataclass(frozen=True)
class Event:
    type: str
    site: str
    seat: str
    device: str
    call: str | None
    t_call: float | None
    data: dict[str, Any] = field(default_factory=dict)
    severity: str = ""
    id: str = ""
    ts: str = ""
    t: float | None = None  # seconds from the start of a recorded file (analyze only)
    schema: int = SCHEMA_VERSION

    @classmethod
    def new(cls, type: str, *, site: str, seat: str, device: str, call: str | None,
            t_call: float | None, data: dict[str, Any] | None = None,
            severity: str | None = None, t: float | None = None,
            now: float | None = None) -> Event:
        event = cls(type=type, site=site, seat=seat, device=device, call=call,
                    t_call=None if t_call is None else round(t_call, 3),
                    data=dict(data or {}), severity=severity or EVENT_TYPES.get(type, ""),
                    id=new_event_id(None if now is None else int(now * 1000)),
                    ts=utc_now_iso(now), t=None if t is None else round(t, 3))
        validate(event.to_dict())
        return event

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schema": self.schema, "id": self.id, "type": self.type,
            "severity": self.severity, "site": self.site, "seat": self.seat,
            "device": self.device, "call": self.call, "ts": self.ts,
            "t_call": self.t_call, "data": self.data,
        }
        if self.t is not None:
            out["t"] = self.t
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @property
    def actionable(self) -> bool:
        return self.type not in LIFECYCLE_TYPES


def _check_utf8(text: str, path: str) -> None:
    """JSON's \\ud800 escapes decode to lone surrogates that no UTF-8 encoder accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(f"{path}: not valid Unicode (lone surrogate)") from None


def _check_data(value: Any, path: str, depth: int) -> None:
    if depth > _MAX_DATA_DEPTH:
        raise EventError(f"{path}: nested deeper than {_MAX_DATA_DEPTH}")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise EventError(f"{path}: keys must be strings")
            _check_utf8(key, f"{path} key")
            _check_data(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_data(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        # Labels only: a long string could smuggle a transcript off the device.
        if len(value) > _MAX_STRING:
            raise EventError(f"{path}: string longer than {_MAX_STRING} characters")
        _check_utf8(value, path)
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise EventError(f"{path}: not a finite number")
    elif value is not None and not isinstance(value, (bool, int)):
        raise EventError(f"{path}: unsupported type {type(value).__name__}")


def validate(obj: Any) -> Event:
    """Check a decoded event against schema v1 and return it as an Event."""
    if not isinstance(obj, dict):
        raise EventError("event: not a JSON object")
    missing = [name for name in _REQUIRED if name not in obj]
    if missing:
        raise EventError(f"event: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(obj) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise EventError(f"event: unknown field(s) {', '.join(unknown)}")
    if obj["schema"] != SCHEMA_VERSION or isinstance(obj["schema"], bool):
        raise EventError(f"schema: unsupported version {obj['schema']!r} (expected 1)")
    if not isinstance(obj["id"], str) or not _EVENT_ID.fullmatch(obj["id"]):
        raise EventError("id: not a 26-character ULID")
    if not isinstance(obj["type"], str) or obj["type"] not in EVENT_TYPES:
        raise EventError(f"type: unknown event type {obj['type']!r}")
    if obj["severity"] not in SEVERITIES:
        raise EventError(f"severity: {obj['severity']!r} is not one of info|warn|alert")
    for name in ("site", "seat", "device"):
        if not valid_ident(obj[name]):
            raise EventError(f"{name}: {obj[name]!r} is not a valid identifier")
    if obj["call"] is not None and not valid_ident(obj["call"]):
        raise EventError(f"call: {obj['call']!r} is neither null nor a valid identifier")
    if not isinstance(obj["ts"], str):
        raise EventError("ts: not a string")
    try:
        _parse_ts(obj["ts"])
    except ValueError:
        raise EventError(f"ts: {obj['ts']!r} is not a UTC ISO-8601 time") from None
    for name in ("t_call", "t"):
        value = obj.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value < float("inf")):
            raise EventError(f"{name}: must be null or a finite non-negative number of seconds")
    if not isinstance(obj["data"], dict):
        raise EventError("data: not an object")
    _check_data(obj["data"], "data", 1)
    return Event(type=obj["type"], site=obj["site"], seat=obj["seat"], device=obj["device"],
                 call=obj["call"], t_call=obj["t_call"], data=obj["data"],
                 severity=obj["severity"], id=obj["id"], ts=obj["ts"], t=obj.get("t"),
                 schema=obj["schema"])


def decode(payload: bytes | str) -> Event:
    """Parse and validate one wire payload; every failure is an EventError."""
    if isinstance(payload, bytes):
        if len(payload) > _MAX_EVENT_BYTES:
            raise EventError(f"event: payload larger than {_MAX_EVENT_BYTES} bytes")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise EventError("event: payload is not UTF-8") from None
    if len(payload) > _MAX_EVENT_BYTES:
        raise EventError(f"event: payload larger than {_MAX_EVENT_BYTES} bytes")
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError) as exc:   # ValueError: also ints over 4300 digits
        raise EventError(f"event: not JSON ({exc})") from None
    return validate(obj)
