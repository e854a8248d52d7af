"""Shared hypothesis settings and strategies for the fuzz tests.

SEATWATCH_FUZZ_EXAMPLES raises the example count for a long run (default keeps
`make test` fast). No example database is written into the tree: inputs that ever
broke something are kept as files under tests/fuzz/corpus/ and replayed every run.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLES = int(os.environ.get("SEATWATCH_FUZZ_EXAMPLES", "150"))

FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Scalars JSON can carry (json.loads also yields NaN/Infinity and huge numbers), plus
# strings with the awkward characters: lone surrogates, controls, newlines, Han.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["", "A01", "A01\n", "hq", "_consoles", "+", "#", "a/b", "\ud800", "您好",
                     "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00+08:00",
                     "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAV\n"]))

json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                     st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)

# Python objects a caller might hand to validate() that JSON never yields.
python_oddities = st.one_of(st.tuples(st.integers()), st.frozensets(st.integers(), max_size=2),
                            st.binary(max_size=4), st.dictionaries(st.integers(), st.integers(),
                                                                   max_size=2))


def corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*"))
