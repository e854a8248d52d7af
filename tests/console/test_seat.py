"""Seat detail: the call timeline, hearing dose gauge, device information; palette commands."""

from __future__ import annotations

from textual.widgets import Static

from seatwatch.console.app import ConsoleApp
from seatwatch.console.screens.alert import AlertScreen
from seatwatch.console.screens.reports import ReportsScreen
from seatwatch.console.screens.seat import SeatScreen, device_info, dose_gauge, timeline
from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads, topics
from tests.console.scenario import NOW, event, metrics


def call_with_hold() -> FloorState:
    state = FloorState()
    named = payloads.status("online", site="hq", seat="A01", device="dev-A01", firmware="1.4.2",
                            agent="王芳", edge="pi-3")
    steps = [(topics.status_topic("hq", "A01"), payloads.encode(named)),
             metrics("A01", call_state="ringing", rings=1),
             event("call_started", "A01", t_call=0.0),
             metrics("A01", call_state="in_call", t_call=20.0, led=None),
             metrics("A01", call_state="hold", t_call=31.0),
             metrics("A01", call_state="hold", t_call=44.0, led="hold_checkin_due"),
             event("hold_checkin_missed", "A01", t_call=46.0, reason="no_checkin", silent_s=15.0),
             metrics("A01", call_state="in_call", t_call=58.0, dose_pct=62.0, ear_dba=79.0,
                     link="degraded", queue_depth=3, events_dropped=0, model_ms=4.25)]
    for topic, payload in steps:
        state.handle(topic, payload, NOW)
    return state


def test_timeline_of_the_current_call() -> None:
    state = call_with_hold()
    view = state.seats[("hq", "A01")]
    assert [(t, what) for t, what, _ in view.timeline] == [
        (None, "ringing"), (0.0, "call_started"), (31.0, "hold"), (44.0, "led"),
        (46.0, "hold_checkin_missed"), (58.0, "hold")]
    assert [d for _, _, d in view.timeline][2:6] == [
        "started", "check-in reminder",
        "reason: no check-in while the caller waited · waited in silence: 15 s", "ended"]
    text = timeline(view).plain
    assert "Current call" in text and "00:31.0  hold         started" in text
    assert "00:46.0  Caller waiting without a check-in (N7)\n           reason: no check-in" in text
    card = {"score": 72.5, "greeting": True, "greeting_t": 1.4, "holds": 1,
            "hold_checkins_missed": 1, "closing": False}
    state.handle(*event("call_ended", "A01", t_call=70.0, scorecard=card), NOW)
    assert [(t, what, d) for t, what, d in view.timeline][-4:] == [
        (1.4, "greeting", "heard"), (None, "holds", "1, check-ins missed 1"),
        (None, "closing", "missing"), (None, "score", "72.5")]
    assert "Last call" in timeline(view).plain
    state.handle(*event("call_started", "A01", call="c2", t_call=0.0), NOW + 300)
    assert [what for _, what, _ in view.timeline] == ["call_started"]     # a new call, a new timeline


def test_dose_gauge_and_device_info() -> None:
    view = call_with_hold().seats[("hq", "A01")]
    gauge = dose_gauge(view, cells=30)
    assert "62 % of the daily limit" in gauge.plain and "79 dB(A)" in gauge.plain
    assert gauge.plain.count("█") == 12 and "│" in gauge.plain      # 62 % of a 150 % scale, limit mark
    assert any(span.style == "yellow" for span in gauge.spans)      # past the 50 % action value
    view.dose_pct = 120.0
    assert any(span.style == "red" for span in dose_gauge(view).spans)
    info = device_info(view, NOW + 12).plain
    for part in ("dev-A01", "firmware 1.4.2", "edge pi-3", "link degraded", "last seen 12 s ago",
                 "outbox 3", "dropped 0", "model 4.2 ms"):
        assert part in info, part


async def test_seat_screen_shows_timeline_dose_and_device() -> None:
    app = ConsoleApp(call_with_hold(), clock=lambda: NOW + 5)
    async with app.run_test(size=(140, 50)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, SeatScreen)
        await pilot.pause()
        shown = {name: str(app.screen.query_one(f"#{name}", Static).render())
                 for name in ("info", "dose", "device", "timeline", "cards")}
        assert "王芳" in shown["info"] and "62 %" in shown["dose"]
        assert "last seen 5 s ago" in shown["device"] and "check-in reminder" in shown["timeline"]
        assert "none yet" in shown["cards"]


async def test_command_palette_runs_console_actions() -> None:
    app = ConsoleApp(call_with_hold(), clock=lambda: NOW)
    async with app.run_test(size=(140, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Acknowledge alert", "Resolve alert", "Reports", "Help"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"Reports")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReportsScreen)
    read_only = ConsoleApp(FloorState(), read_only=True)
    async with read_only.run_test() as pilot:
        assert "Acknowledge alert" not in [c.title for c in read_only.get_system_commands(read_only.screen)]


async def test_floor_actions_are_off_on_other_screens() -> None:
    app = ConsoleApp(call_with_hold(), clock=lambda: NOW)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("tab", "enter")             # the alert's detail, then its seat's
        assert isinstance(app.screen, AlertScreen)
        await pilot.press("s")
        assert isinstance(app.screen, SeatScreen)
        await pilot.press("a", "r", "p")              # no ack behind the supervisor's back
        assert isinstance(app.screen, SeatScreen)
        assert all(g.status == "open" for g in app.state.feed.values())
