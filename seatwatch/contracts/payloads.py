"""Payloads of the non-event topics (status, metrics, cmd, acks), schema v1.

Events have their own module (events.py). These are small JSON objects too; each
`check_*` returns the decoded dict or raises PayloadError naming the field.

status  (retained; last-will is the offline form)
    {"schema": 1, "state": "online"|"offline", "site", "seat", "device", "ts",
     "firmware": str|null, "agent": str|null, "edge": str|null}
metrics (every ~1 s per seat, QoS 0; all fields but schema/ts/seat optional)
    {"schema": 1, "ts", "seat", "call_state": "idle"|"ringing"|"in_call"|"hold",
     "call": str|null, "t_call": s|null, "rings": int, "rate_cpm": float|null,
     "mic_dbfs": float|null, "ear_dba": float|null, "dose_pct": float|null,
     "led": str|null, "queue_depth": int, "frames_dropped": int, "bad_frames": int,
     "cpu_pct": float, "model_ms": float, "link": "ok"|"degraded"|"down"}
cmd     (console -> device, QoS 1)
    {"schema": 1, "id", "ts", "cmd": "led"|"info"|"reboot"|"gain", "args": {...}, "by"}
ack     (console <-> console on seatwatch/v1/{site}/_consoles/acks, QoS 1)
    {"schema": 1, "event": <event id>, "seat", "action": "ack"|"resolve", "by", "ts",
     "note": str|null}
"""

from __future__ import annotations

import json
from typing import Any

from seatwatch.contracts.events import SCHEMA_VERSION, new_event_id, utc_now_iso, valid_ident

CALL_STATES = ("idle", "ringing", "in_call", "hold")
STATUS_STATES = ("online", "offline")
COMMANDS = ("led", "info", "reboot", "gain")
ACK_ACTIONS = ("ack", "resolve")
_MAX_PAYLOAD = 4096


class PayloadError(ValueError):
    pass


def _load(payload: bytes | str | dict[str, Any], kind: str) -> dict[str, Any]:
    if isinstance(payload, dict):
        obj: Any = payload
    else:
        if len(payload) > _MAX_PAYLOAD:
            raise PayloadError(f"{kind}: payload larger than {_MAX_PAYLOAD} bytes")
        try:
            obj = json.loads(payload)
        except (ValueError, RecursionError) as exc:
            raise PayloadError(f"{kind}: not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise PayloadError(f"{kind}: not a JSON object")
    if obj.get("schema") != SCHEMA_VERSION:
        raise PayloadError(f"{kind}: schema: unsupported version {obj.get('schema')!r}")
    if not isinstance(obj.get("ts"), str):
        raise PayloadError(f"{kind}: ts: missing or not a string")
    try:   # what is accepted must re-encode: the console stores and redraws it
        json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:
        raise PayloadError(f"{kind}: not strict UTF-8 JSON (NaN/Infinity, a lone surrogate or "
                           f"a non-JSON value): {exc}") from None
    return obj


def _opt(obj: dict[str, Any], kind: str, name: str, types: tuple[type, ...]) -> None:
    value = obj.get(name)
    if value is not None and (isinstance(value, bool) and bool not in types
                              or not isinstance(value, types)):
        raise PayloadError(f"{kind}: {name}: expected {'/'.join(t.__name__ for t in types)}")


def _ident(obj: dict[str, Any], kind: str, name: str) -> None:
    if not valid_ident(obj.get(name)):
        raise PayloadError(f"{kind}: {name}: {obj.get(name)!r} is not a valid identifier")


def status(state: str, *, site: str, seat: str, device: str, firmware: str | None = None,
           agent: str | None = None, edge: str | None = None) -> dict[str, Any]:
    return check_status({"schema": SCHEMA_VERSION, "state": state, "site": site, "seat": seat,
                         "device": device, "ts": utc_now_iso(), "firmware": firmware,
                         "agent": agent, "edge": edge})


def check_status(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    obj = _load(payload, "status")
    if obj.get("state") not in STATUS_STATES:
        raise PayloadError(f"status: state: {obj.get('state')!r} is not online|offline")
    for name in ("site", "seat", "device"):
        _ident(obj, "status", name)
    for name in ("firmware", "agent", "edge"):
        _opt(obj, "status", name, (str,))
    return obj


def check_metrics(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    obj = _load(payload, "metrics")
    _ident(obj, "metrics", "seat")
    if obj.get("call_state", "idle") not in CALL_STATES:
        raise PayloadError(f"metrics: call_state: {obj.get('call_state')!r} is not one of "
                           f"{'|'.join(CALL_STATES)}")
    for name in ("t_call", "rate_cpm", "mic_dbfs", "ear_dba", "dose_pct", "cpu_pct", "model_ms"):
        _opt(obj, "metrics", name, (int, float))
    for name in ("rings", "queue_depth", "frames_dropped", "bad_frames"):
        _opt(obj, "metrics", name, (int,))
    for name in ("call", "led", "link"):
        _opt(obj, "metrics", name, (str,))
    return obj


def command(cmd: str, args: dict[str, Any] | None = None, *, by: str) -> dict[str, Any]:
    return check_command({"schema": SCHEMA_VERSION, "id": new_event_id(), "ts": utc_now_iso(),
                          "cmd": cmd, "args": args or {}, "by": by})


def check_command(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    obj = _load(payload, "cmd")
    if obj.get("cmd") not in COMMANDS:
        raise PayloadError(f"cmd: cmd: {obj.get('cmd')!r} is not one of {'|'.join(COMMANDS)}")
    if not isinstance(obj.get("args", {}), dict):
        raise PayloadError("cmd: args: not an object")
    _opt(obj, "cmd", "by", (str,))
    return obj


def ack(event_id: str, *, seat: str, action: str, by: str, note: str | None = None) -> dict[str, Any]:
    return check_ack({"schema": SCHEMA_VERSION, "event": event_id, "seat": seat,
                      "action": action, "by": by, "ts": utc_now_iso(), "note": note})


def check_ack(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    obj = _load(payload, "ack")
    if not isinstance(obj.get("event"), str) or len(obj["event"]) != 26:
        raise PayloadError("ack: event: not an event id")
    _ident(obj, "ack", "seat")
    if obj.get("action") not in ACK_ACTIONS:
        raise PayloadError(f"ack: action: {obj.get('action')!r} is not ack|resolve")
    if not isinstance(obj.get("by"), str) or not obj["by"]:
        raise PayloadError("ack: by: missing")
    _opt(obj, "ack", "note", (str,))
    if obj.get("note") and len(obj["note"]) > 200:
        raise PayloadError("ack: note: longer than 200 characters")
    return obj


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
