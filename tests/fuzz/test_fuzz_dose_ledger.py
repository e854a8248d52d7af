"""Fuzzing the daily dose ledger's reader: a torn or hand-edited file never stops hearing
monitoring (load returns), and never loads a dose that could not cross a mark."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from seatwatch.edge.hearing.dose import FileLedger
from tests.fuzz.conftest import FUZZ

hostile = st.sampled_from([b'{"dose": NaN}', b'{"dose": Infinity}', b'{"dose": -1e300}',
                           b'{"dose": 1' + b"0" * 400 + b"}", b'{"dose": "0.5"}', b"[1]",
                           b'{"dose": 0.5, "crossed": 3}', b"[" * 3000 + b"]" * 3000, b"\xff",
                           b'{"dose": 0.5, "crossed": ["50"]}'])


@FUZZ
@given(st.one_of(st.binary(max_size=100), hostile))
def test_ledger_load_survives_any_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ledger = FileLedger(Path(folder))
        path = Path(folder) / "dose" / "2026-01-01" / "agent-1.json"
        path.parent.mkdir(parents=True)
        path.write_bytes(raw)
        dose, crossed = ledger.load("agent-1", "2026-01-01")
    assert math.isfinite(dose) and dose >= 0
    assert all(isinstance(mark, str) for mark in crossed)
