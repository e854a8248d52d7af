"""Fuzzing the edge config loader: only ConfigError escapes, and what loads is usable."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwatch.edge.config import ConfigError, parse_config
from tests.fuzz.conftest import FUZZ, corpus

GOOD = {"site": '"hq"', "broker": '"mqtt://127.0.0.1:1883"', "metrics_interval_s": "1.0",
        "outbox_max_events": "1000"}
GOOD_SEAT = {"id": '"A01"', "source": '"wav:call.wav"', "realtime": "false", "offset_s": "0.0"}
TOP_KEYS = sorted(GOOD) + ["edge", "password_file", "tls_ca", "state_dir", "policy", "nope"]
SEAT_KEYS = sorted(GOOD_SEAT) + ["agent", "headset", "control", "loop", "nope"]

values = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400).map(str),
    st.floats().map(lambda f: "nan" if f != f else ("inf" if f == math.inf else
                                                    "-inf" if f == -math.inf else repr(f))),
    st.sampled_from(['"a\\u0000b"', '"/dev/null/x"', '""', '"mqtts://u:p@h:99999"', '"mqtt://"',
                     '"serial:"', "true", "[]", "{}", '"_x"', '"A01\\n"', "1e400", "-0.0"]),
    st.text(max_size=12).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.integers(min_value=1, max_value=2000).map(lambda n: "[" * n + "]" * n))


@st.composite
def config_text(draw: st.DrawFn) -> str:
    top = dict(GOOD)
    top.update(draw(st.dictionaries(st.sampled_from(TOP_KEYS), values, max_size=3)))
    seat = dict(GOOD_SEAT)
    seat.update(draw(st.dictionaries(st.sampled_from(SEAT_KEYS), values, max_size=3)))
    return ("\n".join(f"{k} = {v}" for k, v in top.items()) + "\n\n[[seat]]\n"
            + "\n".join(f"{k} = {v}" for k, v in seat.items()) + "\n")


def check(text: str) -> None:
    try:
        config = parse_config(text, "fuzz.toml", Path("/nonexistent"))
    except ConfigError as exc:
        assert str(exc).startswith("fuzz.toml")
        return
    assert math.isfinite(config.metrics_interval_s) and config.metrics_interval_s > 0
    for seat in config.seats:
        assert math.isfinite(seat.offset_s)      # negative wraps around like any other


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    check(text)


@FUZZ
@given(config_text())
def test_config_shaped_toml(text: str) -> None:
    check(text)


@pytest.mark.parametrize("path", corpus("config"), ids=lambda p: p.name)
def test_config_corpus_is_refused(path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_config(path.read_text(encoding="utf-8"), path.name, Path("/nonexistent"))


def test_config_corpus_is_there() -> None:
    assert len(corpus("config")) >= 3
