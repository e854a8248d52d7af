"""Snapshots of the main screens (pytest-textual-snapshot; `--snapshot-update` to accept
a deliberate change after looking at the report)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from seatwatch.console.app import ConsoleApp
from seatwatch.console.store import HistoryStore
from tests.console.scenario import NOW, ROSTER, busy_floor, busy_messages, event, scorecard

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


def test_floor_at_80x24_keeps_quit_and_help(snap_compare: Compare) -> None:
    """Alerts waited 20 s; the footer keeps Quit and Help, the rest is in help and ctrl+p."""
    assert snap_compare(app(NOW + 20), terminal_size=(80, 24))


def test_new_alerts_above_the_selection_are_counted(snap_compare: Compare) -> None:
    async def two_more(pilot: Pilot[None]) -> None:
        await pilot.press("tab", "down", "down")        # the supervisor looks at an older one
        console = pilot.app
        assert isinstance(console, ConsoleApp)
        console.state.handle(*event("hold_checkin_missed", "A02", call="c7", t_call=40.0,
                                    reason="no_checkin", silent_s=17.2), NOW + 15)
        console.state.handle(*event("speech_rate_low", "A01", t_call=70.0, cpm=84.0), NOW + 18)
        console.tick()
        await pilot.pause()

    assert snap_compare(app(NOW + 20), run_before=two_more, terminal_size=(80, 24))


def test_alert_detail_acknowledged(snap_compare: Compare) -> None:
    """Enter on an alert: its evidence in words, how long it waited, who acknowledged it."""
    assert snap_compare(app(NOW + 20, user="lin"), press=["tab", "down", "a", "enter"],
                        terminal_size=(100, 30))
