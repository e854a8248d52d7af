"""Pilot tests: the console a supervisor drives with the keyboard."""

from __future__ import annotations

from textual.widgets import DataTable

from seatwatch.console.app import ConsoleApp
from seatwatch.console.screens.help import HelpScreen
from seatwatch.console.screens.seat import SeatScreen
from seatwatch.console.state import FloorState
from tests.console.scenario import NOW, busy_floor, metrics, status


def app_for_test(**kwargs: object) -> ConsoleApp:
    return ConsoleApp(busy_floor(), clock=lambda: NOW, user="lin", **kwargs)  # type: ignore[arg-type]


async def test_floor_lists_seats_with_states_and_worst_severity() -> None:
    app = app_for_test()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        floor = app.query_one("#floor", DataTable)
        rows = [[str(cell) for cell in floor.get_row_at(i)] for i in range(floor.row_count)]
        assert [r[0] for r in rows] == ["A01", "A02", "A03"]
        assert rows[0][1] == "王芳" and rows[0][2] == "in_call" and rows[0][3] == "00:42"
        assert rows[2][2] == "offline"
        # the worst open alert in words, and how many others are open
        assert rows[0][6] == "Taboo phrase: 不知道 “I don't know” (N4) +1"
        assert rows[1][6] == "Dead air (N9)" and rows[2][6] == ""
        await pilot.press("s")                # sort by severity: the alert seat first
        assert str(floor.get_row_at(0)[0]) == "A01" and app.sort == "severity"


async def test_feed_groups_repeats_and_ack_resolve_from_keyboard() -> None:
    app = app_for_test()
    async with app.run_test(size=(140, 40)) as pilot:
        feed = app.query_one("#feed", DataTable)
        await pilot.press("tab")
        assert app.focused is feed
        top = [str(c) for c in feed.get_row_at(0)]
        assert top[3] == "Dead air (N9)" and top[1] == "A02"  # newest first
        overtalk = [str(c) for c in feed.get_row_at(1)]
        assert overtalk[3] == "Interrupted the caller (N8)" and overtalk[4] == "2"  # grouped
        await pilot.press("a")
        assert [str(c) for c in feed.get_row_at(0)][5] == "acked lin 20:26"   # who and when
        await pilot.press("r")
        await pilot.pause()
        assert feed.row_count == 2                            # resolved leaves the feed
        assert not app.state.seats[("hq", "A02")].open_alerts


async def test_severity_filter_and_read_only() -> None:
    app = app_for_test(read_only=True)
    async with app.run_test(size=(140, 40)) as pilot:
        feed = app.query_one("#feed", DataTable)
        await pilot.press("f")     # warn and above: all three groups are warn/alert
        assert feed.row_count == 3
        await pilot.press("f")     # alert only: the forbidden phrase
        assert feed.row_count == 1 and str(feed.get_row_at(0)[3]).startswith("Taboo phrase")
        await pilot.press("tab", "a")
        assert str(feed.get_row_at(0)[5]) == "open"  # read-only: no acknowledgement


async def test_seat_detail_and_help_screens() -> None:
    app = app_for_test()
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, SeatScreen) and app.screen.key == ("hq", "A01")
        await pilot.pause()
        assert "王芳" in str(app.screen.query_one("#info").render())
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, (HelpScreen, SeatScreen))


async def test_floor_filters_by_team_and_state() -> None:
    app = app_for_test()
    async with app.run_test(size=(140, 40)) as pilot:
        floor = app.query_one("#floor", DataTable)

        def seats() -> list[str]:
            return [str(floor.get_row_at(i)[0]) for i in range(floor.row_count)]

        await pilot.press("g")                  # teams in name order: medical, then pension
        assert app.team == "medical" and seats() == ["A02"]
        await pilot.press("g")
        assert seats() == ["A01"]
        await pilot.press("g", "v")             # all teams; seats needing attention
        assert app.show == "attention" and seats() == ["A01", "A02"]
        await pilot.press("v", "v")             # active calls, then idle seats
        assert seats() == []
        await pilot.press("v")                  # offline
        assert seats() == ["A03"]
        assert "team all · show offline" in str(app.query_one("#status-line").render())


async def test_meters_off_screen_catch_up_when_scrolled_into_view() -> None:
    state = FloorState()
    for i in range(100):
        state.handle(*status(f"S{i:03d}"), NOW)
        state.handle(*metrics(f"S{i:03d}", call_state="in_call", rate_cpm=100.0), NOW)
    app = ConsoleApp(state, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        floor = app.query_one("#floor", DataTable)
        await pilot.pause()
        for seat in ("S000", "S099"):
            state.handle(*metrics(seat, call_state="hold", rate_cpm=180.0), NOW + 1)
        app.tick()
        assert str(floor.get_row_at(0)[4]).endswith("180")          # in view: at once
        assert str(floor.get_row_at(99)[4]).endswith("100")         # off screen: not yet
        assert str(floor.get_row_at(99)[2]) == "hold"               # but its state is
        floor.focus()
        await pilot.press("ctrl+end")
        await pilot.pause(0.3)
        assert floor.scroll_y > 80
        app.tick()
        assert str(floor.get_row_at(99)[4]).endswith("180")


async def test_meter_columns_keep_room_for_values_that_arrive_later() -> None:
    state = FloorState()
    state.handle(*status("S1"), NOW)                           # no metrics yet: empty meters
    app = ConsoleApp(state, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        state.handle(*metrics("S1", call_state="in_call", rate_cpm=131.0, mic_dbfs=-20.0,
                              t_call=754.0), NOW + 1)
        app.tick()
        await pilot.pause()
        line = app.query_one("#floor", DataTable).render_line(1).text
        assert "███░░░░░ 131" in line and "12:34" in line and "█████░░░" in line
