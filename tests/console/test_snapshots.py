"""Snapshots of the main screens (pytest-textual-snapshot; `--snapshot-update` to accept
a deliberate change after looking at the report)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from host_console.app import ConsoleApp
from host_console.store import HistoryStore
from tests.console.scenario import NOW, ROSTER, busy_floor, busy_messages, scorecard

SIZE = (120, 36)
Compare = Callable[..., bool]


def app(now: float = NOW, **kwargs: Any) -> ConsoleApp:
    return ConsoleApp(busy_floor(), clock=lambda: now, header_clock=False, **kwargs)


def test_floor_and_feed(snap_compare: Compare) -> None:
    assert snap_compare(app(), terminal_size=SIZE)


def test_floor_sorted_by_severity_alerts_only(snap_compare: Compare) -> None:
    assert snap_compare(app(), press=["s", "f", "f"], terminal_size=SIZE)


def test_seat_detail(snap_compare: Compare) -> None:
    assert snap_compare(app(), press=["enter"], terminal_size=SIZE)


def test_help(snap_compare: Compare) -> None:
    assert snap_compare(app(), press=["question_mark"], terminal_size=SIZE)


def test_reports(snap_compare: Compare, tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db", roster=ROSTER)
    store.record([(topic, payload, NOW) for topic, payload in busy_messages()])
    store.record([(*scorecard("A02", "c7", 84.0, dead_air=1), NOW)])
    assert snap_compare(app(NOW + 600, store=store), press=["p"], terminal_size=SIZE)
    store.close()
