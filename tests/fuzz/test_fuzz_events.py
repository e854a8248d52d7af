"""Fuzzing the event validator: only EventError escapes, and what passes is sound.

"Sound" means what a consumer relies on after validate(): it re-encodes to UTF-8 JSON
(the outbox, the console store), its numbers are finite, and its site/seat make a
topic level (no '/', '+', '#', control characters).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from seatwatch.contracts import topics
from seatwatch.contracts.events import Event, EventError, decode, valid_ident, validate
from tests.fuzz.conftest import FUZZ, corpus, json_values, python_oddities, scalars

FIELDS = ("schema", "id", "type", "severity", "site", "seat", "device", "call", "ts",
          "t_call", "data", "t")


def good() -> dict[str, Any]:
    return Event.new("dead_air", site="hq", seat="A01", device="dev-1", call="c1", t_call=12.5,
                     data={"silence_s": 8.0, "labels": ["您好"]}).to_dict()


def assert_sound(event: Event) -> None:
    wire = event.to_json().encode("utf-8")          # must not raise (lone surrogates would)
    again = decode(wire)
    assert again.to_dict() == event.to_dict()
    assert json.loads(wire) == event.to_dict()       # strict JSON: no NaN/Infinity
    for name in ("t_call", "t"):
        value = getattr(event, name)
        assert value is None or math.isfinite(value)
    topic = topics.events_topic(event.site, event.seat)
    assert topic.count("/") == 4 and not any(ch in topic for ch in "+#\n\r\t\x00")


def check(obj: Any) -> None:
    try:
        event = validate(obj)
    except EventError:
        return
    assert_sound(event)


@FUZZ
@given(st.one_of(json_values, python_oddities))
def test_validate_arbitrary_objects(obj: Any) -> None:
    check(obj)


@FUZZ
@given(st.dictionaries(st.sampled_from(FIELDS), st.one_of(scalars, json_values, python_oddities)),
       st.booleans())
def test_validate_mutated_events(changes: dict[str, Any], drop: bool) -> None:
    obj = good()
    obj.update(changes)
    if drop and changes:
        obj.pop(next(iter(changes)))
    check(obj)


@FUZZ
@given(st.binary(max_size=300))
def test_decode_arbitrary_bytes(payload: bytes) -> None:
    try:
        event = decode(payload)
    except EventError:
        return
    assert_sound(event)


@FUZZ
@given(st.sampled_from(FIELDS), st.sampled_from([
    "NaN", "Infinity", "-Infinity", "1e999", "9" * 5000, '"\\ud800"', '"A01\\n"', "[]", "{}",
    '"01ARZ3NDEKTSV4RRFFQ69G5FAV\\n"', '{"\\ud800": 1}', "[[[[[[1]]]]]]", "true", "1.0"]))
@example("data", '{"x": "\\udfff"}')
def test_decode_hostile_json_values(field: str, raw: str) -> None:
    """Wire values json.loads accepts but a Python object rarely has."""
    obj = good()
    obj[field] = None
    text = json.dumps(obj, ensure_ascii=False).replace(f'"{field}": null', f'"{field}": {raw}')
    try:
        event = decode(text.encode("utf-8", "surrogatepass"))
    except EventError:
        return
    assert_sound(event)


@FUZZ
@given(st.text(max_size=70))
def test_valid_ident_is_a_topic_level(value: str) -> None:
    if valid_ident(value):
        assert value == value.strip() and "/" not in value and "+" not in value
        assert "#" not in value and not value.startswith("_")
        assert all(ch.isascii() and ch.isprintable() for ch in value)


@pytest.mark.parametrize("path", corpus("events"), ids=lambda p: p.name)
def test_event_corpus_is_refused(path: Path) -> None:
    """Inputs that once crashed the validator or got through it (see the README there)."""
    with pytest.raises(EventError):
        decode(path.read_bytes())
    try:
        obj = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError:      # the 5000-digit number: refused by json.loads itself
        return
    with pytest.raises(EventError):
        validate(obj)


def test_event_corpus_is_there() -> None:
    assert len(corpus("events")) >= 10
