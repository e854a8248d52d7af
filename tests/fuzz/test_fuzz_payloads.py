"""Fuzzing the status/metrics/cmd/ack checkers: only PayloadError escapes, and what
passes re-encodes as strict UTF-8 JSON (what the console's store and screens need)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwatch.contracts import payloads
from tests.fuzz.conftest import FUZZ, corpus, json_values, python_oddities, scalars

CHECKERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "status": payloads.check_status, "metrics": payloads.check_metrics,
    "cmd": payloads.check_command, "ack": payloads.check_ack}

GOOD: dict[str, dict[str, Any]] = {
    "status": payloads.status("online", site="hq", seat="A01", device="d1", firmware="1.0"),
    "metrics": {"schema": 1, "ts": "2026-01-01T00:00:00.000Z", "seat": "A01",
                "call_state": "in_call", "mic_dbfs": -30.5, "rings": 2, "led": "green"},
    "cmd": payloads.command("led", {"pattern": "blink"}, by="sup-1"),
    "ack": payloads.ack("01KAWTXD2Y0000000000000000", seat="A01", action="ack", by="sup-1"),
}
NAMES = sorted({name for body in GOOD.values() for name in body} | {"args", "note", "t_call"})


def check(kind: str, payload: Any) -> None:
    try:
        obj = CHECKERS[kind](payload)
    except payloads.PayloadError:
        return
    wire = json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert CHECKERS[kind](wire) == json.loads(wire)


@FUZZ
@given(st.sampled_from(sorted(CHECKERS)), st.one_of(st.binary(max_size=200), st.text(max_size=200)))
def test_arbitrary_bytes_and_text(kind: str, payload: bytes | str) -> None:
    check(kind, payload)


@FUZZ
@given(st.sampled_from(sorted(CHECKERS)),
       st.dictionaries(st.sampled_from(NAMES), st.one_of(scalars, json_values, python_oddities),
                       max_size=3), st.booleans())
def test_mutated_payloads(kind: str, changes: dict[str, Any], as_dict: bool) -> None:
    body = {**GOOD[kind], **changes}
    if as_dict:
        check(kind, body)
        return
    try:
        wire = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except TypeError:          # a Python-only value: the dict form above covers it
        return
    check(kind, wire)


@pytest.mark.parametrize("path", corpus("payloads"), ids=lambda p: p.name)
def test_payload_corpus_is_refused(path: Path) -> None:
    kind = path.name.split("_", 1)[0]
    with pytest.raises(payloads.PayloadError):
        CHECKERS[kind](path.read_bytes())


def test_payload_corpus_is_there() -> None:
    assert len(corpus("payloads")) >= 3
