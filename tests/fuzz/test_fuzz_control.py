"""Fuzzing the call-control file reader (analyze --control, wav sources): only
ControlFileError escapes, and accepted events fall inside the audio."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwatch.edge.sources.control import ControlFileError, load_control, parse_control
from tests.fuzz.conftest import FUZZ, corpus, json_values, scalars

RATE = 16000
DURATION_S = 60.0

items = st.one_of(
    st.fixed_dictionaries({"t": st.one_of(scalars, st.integers(min_value=0, max_value=10**400)),
                           "type": st.one_of(st.sampled_from(["ring", "off_hook", "on_hook",
                                                              "far_end_hangup", "button"]),
                                             json_values)}),
    json_values)


def check_parsed(obj: Any) -> None:
    try:
        events = parse_control(obj, DURATION_S, RATE, "fuzz")
    except ControlFileError:
        return
    assert all(0 <= e.sample <= DURATION_S * RATE for e in events)
    assert [e.sample for e in events] == sorted(e.sample for e in events)


@FUZZ
@given(st.one_of(json_values, st.fixed_dictionaries({"events": st.lists(items, max_size=6)})))
def test_parse_control_objects(obj: Any) -> None:
    check_parsed(obj)


def load_bytes(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "control.json"
        path.write_bytes(raw)
        try:
            load_control(path, DURATION_S, RATE)
        except ControlFileError:
            pass


@FUZZ
@given(st.one_of(st.binary(max_size=200),
                 st.integers(min_value=1, max_value=3000).map(lambda n: b"[" * n + b"]" * n),
                 st.integers(min_value=4301, max_value=6000).map(
                     lambda n: b'{"events": [{"type": "ring", "t": ' + b"9" * n + b"}]}")))
def test_load_control_bytes(raw: bytes) -> None:
    load_bytes(raw)


@pytest.mark.parametrize("path", corpus("control"), ids=lambda p: p.name)
def test_control_corpus_is_refused(path: Path) -> None:
    with pytest.raises(ControlFileError):
        load_control(path, DURATION_S, RATE)


def test_control_corpus_is_there() -> None:
    assert len(corpus("control")) >= 3
