"""Fuzzing the policy loader: only PolicyError escapes, and what loads is in range.

Two generators: arbitrary text (mostly syntax errors), and TOML built from the real
policy keys with hostile values (nan, inf, huge numbers, wrong types, deep nesting),
which reaches the per-field checks.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwatch.edge.policy import Policy, PolicyError, describe, parse_policy
from tests.fuzz.conftest import FUZZ, corpus

KEYS = [key for key, _, _ in describe()]

toml_scalars = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["nan", "+nan", "-nan", "inf", "-inf", "1e400", "true", "false", '""',
                     '"您好"', "1979-05-27T07:32:00Z", "07:32:00", "0x7f", "0o17", "1_000",
                     "[]", '["", "x"]', '["您好", 1]', "{}", "{ a = 1 }", '"eu"', '"niosh"']),
    st.text(max_size=10).map(lambda t: '"' + t.replace("\\", "").replace('"', "") + '"'),
    st.integers(min_value=1, max_value=3000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=3000).map(lambda n: "{a = " * n + "1" + "}" * n),
)


@st.composite
def policy_text(draw: st.DrawFn) -> str:
    lines: dict[str, list[str]] = {}
    for key in draw(st.lists(st.one_of(st.sampled_from(KEYS), st.sampled_from(
            ["score.weights.dead_air", "score.weights.nope", "answer.nope", "nope"])),
            max_size=6, unique=True)):
        section, _, name = key.rpartition(".")
        lines.setdefault(section, []).append(f"{name} = {draw(toml_scalars)}")
    parts = [f"[{section}]\n" * bool(section) + "\n".join(body) for section, body in
             sorted(lines.items())]   # "" (top level) sorts first, as TOML needs
    return "\n".join(parts) + "\n"


def assert_in_range(obj: Any, cls: type = Policy, prefix: str = "") -> None:
    hints = get_type_hints(cls)
    for fld in fields(obj):
        value, key = getattr(obj, fld.name), f"{prefix}{fld.name}"
        if is_dataclass(hints[fld.name]):
            assert_in_range(value, hints[fld.name], f"{key}.")
            continue
        numbers = list(value.values()) if isinstance(value, dict) else [value]
        for number in numbers:
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                assert math.isfinite(number), key
                lo, hi = fld.metadata.get("lo"), fld.metadata.get("hi")
                assert (lo is None or number >= lo) and (hi is None or number <= hi), key


def check(text: str) -> None:
    try:
        policy = parse_policy(text, "fuzz.toml")
    except PolicyError as exc:
        assert str(exc).startswith("fuzz.toml: ")
        return
    assert_in_range(policy)


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    check(text)


@FUZZ
@given(policy_text())
def test_policy_shaped_toml(text: str) -> None:
    check(text)


@pytest.mark.parametrize("path", corpus("policy"), ids=lambda p: p.name)
def test_policy_corpus_is_refused(path: Path) -> None:
    with pytest.raises(PolicyError):
        parse_policy(path.read_text(encoding="utf-8"), path.name)


def test_policy_corpus_is_there() -> None:
    assert len(corpus("policy")) >= 4
