"""Alerts a supervisor can read and work: labels with their norm, evidence in words, the
worst open alert per seat, the newest alert in view, waiting and acknowledgement times,
per-call numbers that reset with the call, a footer that fits 80 columns."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from textual.widgets import DataTable, Static

from seatwatch.console import labels
from seatwatch.console.app import ConsoleApp
from seatwatch.console.reports import NORM_OF
from seatwatch.console.screens.alert import AlertScreen, describe, waited
from seatwatch.console.screens.seat import SeatScreen, open_alerts, summary
from seatwatch.console.state import FloorState
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import EVENT_TYPES, NORM_TYPES, decode
from tests.console.scenario import NOW, ack, busy_floor, event, metrics, status
from tests.console.test_robustness import json_values

ROOT = Path(__file__).resolve().parents[2]


# --- labels and evidence ---------------------------------------------------------------------

def test_every_event_type_has_a_label_and_norm_types_their_norm() -> None:
    assert set(labels.KINDS) == set(EVENT_TYPES)
    for kind in NORM_TYPES:
        assert labels.norm_of(kind) == NORM_OF[kind] and NORM_OF[kind].startswith("N")
    assert labels.label("hold_checkin_missed") == "Caller waiting without a check-in (N7)"
    assert labels.label("speech_rate_low") == "Speaking too slowly (N5)"
    assert labels.label("agent_volume_low") == "Agent too quiet (N6)"
    assert labels.label("dead_air") == "Dead air (N9)"
    assert labels.label("overtalk") == "Interrupted the caller (N8)"
    assert labels.label("greeting_missing") == "No greeting (N2)"
    assert labels.label("closing_missing") == "No closing (N11)"
    assert labels.label("agent_hung_up_first") == "Agent hung up first (N12)"
    assert labels.label("acoustic_shock") == "Acoustic shock in the earpiece (hearing)"
    assert labels.label("device_fault") == "Device fault (device)"
    assert labels.label("some_new_type") == "Some new type"          # unknown: still words


def test_console_doc_lists_every_label() -> None:
    doc = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    for kind, entry in labels.KINDS.items():
        assert f"| `{kind}` | {entry.label.replace('{keyword}', '<keyword>')} ({entry.norm}) |" in doc


def test_taboo_phrase_names_its_keyword() -> None:
    assert labels.label("forbidden_phrase", {"keyword": "不知道", "score": 0.9}) == \
        "Taboo phrase: 不知道 “I don't know” (N4)"
    assert labels.label("forbidden_phrase", {"keyword": "不归我管"}) == \
        "Taboo phrase: 不归我管 “not my job” (N4)"
    assert labels.label("forbidden_phrase", {"keyword": "别的词"}) == "Taboo phrase: 别的词 (N4)"
    assert labels.label("forbidden_phrase", {"keyword": ["x"]}) == "Taboo phrase (N4)"
    assert labels.label("forbidden_phrase", {}) == "Taboo phrase (N4)"


def test_fit_cuts_the_words_never_the_norm() -> None:
    data = {"keyword": "不知道"}
    assert labels.fit("forbidden_phrase", data, 60) == "Taboo phrase: 不知道 “I don't know” (N4)"
    assert labels.fit("forbidden_phrase", data, 30) == "Taboo phrase: 不知道 (N4)"     # no gloss
    assert labels.fit("forbidden_phrase", data, 20, " +1") == "Taboo phrase (N4) +1"   # no keyword
    cut = labels.fit("hold_checkin_missed", {}, 20, " +2")
    assert cut.endswith("… (N7) +2") and len(cut) <= 20


def rule_keys() -> dict[str, set[str]]:
    """The `data` keys each report(...) call of the edge puts in an event (from the source)."""
    found: dict[str, set[str]] = {}
    sources = [*sorted((ROOT / "edge" / "rules").glob("*.py")), ROOT / "edge" / "pipeline.py",
               ROOT / "edge" / "hearing" / "monitor.py"]
    for path in sources:
        src = path.read_text(encoding="utf-8")
        for match in re.finditer(r'report\(\s*f?"([\w{}]+)"\s*,\s*[^,]+,\s*\{', src):
            depth, at = 1, match.end()
            while depth and at < len(src):
                depth += {"{": 1, "}": -1}.get(src[at], 0)
                at += 1
            found.setdefault(match.group(1), set()).update(
                re.findall(r'"(\w+)"\s*:', src[match.end():at - 1]))
    return found


def test_every_evidence_key_the_edge_sends_is_read_in_words() -> None:
    found = rule_keys()
    assert {"agent_volume_{side}", "speech_rate_{side}", "hold_checkin_missed"} <= set(found)
    unknown = {(kind, key) for kind, keys in found.items() for key in keys
               if key not in labels.KEYS and kind != "call_ended"}
    assert not unknown, f"evidence keys the console shows only generically: {sorted(unknown)}"


def pairs(kind: str, data: dict[str, Any]) -> dict[str, str]:
    return dict(labels.evidence(kind, data))


def test_evidence_in_words_with_units() -> None:
    volume = pairs("agent_volume_low", {
        "dbfs": -41.2, "limit_dbfs": -40.0, "hysteresis_db": 3.0, "speech_s": 10.0,
        "window_from_s": 12.0, "window_to_s": 34.5, "headset": "generic"})
    assert volume == {"active speech level": "-41.2 dBFS", "limit": "-40.0 dBFS",
                      "hysteresis": "3 dB", "agent speech judged": "10 s",
                      "window": "00:12.0-00:34.5 into the call", "headset": "generic"}
    rate = pairs("speech_rate_low", {"cpm": 85.2, "limit_cpm": 100.0, "tolerance_cpm": 10.0,
                                     "speech_s": 60.0, "window_from_s": 3.0, "window_to_s": 95.3})
    assert rate["speaking rate"] == "85.2 characters/min" and rate["tolerance"] == "± 10 cpm"
    assert rate["window"] == "00:03.0-01:35.3 into the call"
    hold = pairs("hold_checkin_missed", {
        "reason": "no_checkin", "silent_s": 17.1, "interval_s": 15.0, "tolerance_s": 2.0,
        "announced": False, "hold_s": 17.3, "wait_from_s": 44.0, "caller_speech_s": 0.6})
    assert hold["reason"] == "no check-in while the caller waited"
    assert hold["waited in silence"] == "17.1 s" and hold["check-in due every"] == "15 s"
    assert hold["hold"] == "not announced: found from the line"
    assert hold["waiting since"] == "00:44.0 into the call"
    notice = pairs("hold_checkin_missed", {"reason": "not_announced", "hold_s": 30.2,
                                           "notice_by_s": 30.0, "hold_from_s": 20.0})
    assert notice["reason"] == "long hold without a progress notice"
    assert pairs("forbidden_phrase", {"keyword": "不知道", "score": 0.934}) == {
        "keyword": "不知道", "keyword confidence": "0.93"}
    assert pairs("dead_air", {"silence_s": 8.02, "limit_s": 8.0, "from_s": 41.2}) == {
        "silence": "8 s", "raised after": "8 s", "silent since": "00:41.2 into the call"}
    assert pairs("closing_missing", {"window_s": 10.0, "last_turns": 2, "keywords": ["谢谢", "再见"],
                                     "end": "caller_hung_up", "agent_turns": 9, "end_s": 190.2}) == {
        "judged on": "the agent's last 2 turns or the last 10 s", "listened for": "谢谢, 再见",
        "call ended by": "the caller hanging up", "agent turns in the call": "9",
        "ended at": "03:10.2 into the call"}
    assert pairs("greeting_missing", {"first_turn_s": None})["agent's first turn"] == \
        "none: the agent never spoke"
    assert pairs("call_too_long", {"duration_s": 181.0, "limit_s": 180.0})["target"] == "180 s"
    assert pairs("earpiece_exposure", {"mark": "dose_50pct", "dose_pct": 50.2})["crossed"] == \
        "50 % of the daily noise dose"
    assert pairs("acoustic_shock", {"peak_db_spl": 121.3})["peak"] == "121.3 dB SPL"
    assert pairs("device_fault", {"kind": "audio_lost", "lost_s": 1.5, "reason": "frames lost"}) == {
        "fault": "audio lost", "audio lost for": "1.5 s", "reason": "frames lost"}


def test_unknown_and_odd_evidence_is_shown_generically() -> None:
    odd = pairs("dead_air", {"gap_ms": 120, "new_level_dbfs": -3.25, "flags": ["a", "b"],
                             "silence_s": "long", "from_s": True})
    assert odd == {"gap": "120 ms", "new level": "-3.25 dBFS", "flags": "a, b",
                   "silence": "long", "silent since": "yes"}
    assert labels.evidence("dead_air", "not a dict") == []
    assert labels.evidence("call_ended", {"scorecard": {"score": 90}}) == []


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(labels.KINDS) + ["x_y"]),
       st.dictionaries(st.sampled_from(sorted(labels.KEYS) + ["odd_s", "odd"]), json_values,
                       max_size=6))
def test_evidence_never_raises(kind: str, data: dict[str, Any]) -> None:
    for name, value in labels.evidence(kind, data):
        assert isinstance(name, str) and isinstance(value, str)
    assert isinstance(labels.evidence_line(kind, data), str)
    assert labels.fit(kind, data, 16, " +1")


# --- floor model: acknowledgements, waiting, per-call numbers --------------------------------

def ack_at(ev_payload: bytes, ts: str, by: str = "lin") -> tuple[str, bytes]:
    ev = decode(ev_payload)
    body = payloads.ack(ev.id, seat=ev.seat, action="ack", by=by)
    body["ts"] = ts
    return topics.acks_topic("hq"), payloads.encode(body)


def test_acknowledged_by_whom_when_and_after_how_long() -> None:
    state = FloorState()
    topic, payload = event("dead_air", "A01", silence_s=9.0)
    state.handle(topic, payload, NOW)
    group = next(iter(state.feed.values()))
    assert group.opened_at == NOW and group.waited_s(NOW + 75) == 75
    state.handle(*ack_at(payload, "2026-05-28T20:28:10.000Z"), NOW + 95)
    assert group.status == "acked" and group.by == "lin"
    assert group.acked_at == NOW + 90 and group.time_to_ack_s == 90
    assert group.waited_s(NOW + 600) == 90                         # waiting ended with the ack
    assert "acknowledged by lin at 20:28:10 UTC, 1 min 30 s after it was raised" in \
        describe(group, NOW + 600).plain
    state.handle(*ack(payload, by="wang"), NOW + 200)
    assert group.by == "lin" and group.acked_at == NOW + 90       # the first one stands
    # an ack whose time cannot be read counts from when it arrived
    topic, payload = event("overtalk", "A01", overlap_s=0.9)
    state.handle(topic, payload, NOW)
    state.handle(*ack_at(payload, "yesterday"), NOW + 12)
    assert state.feed[("hq", "A01", "c1", "overtalk")].time_to_ack_s == 12


def test_no_rate_or_call_timer_outside_a_call_and_none_of_the_previous_call() -> None:
    state = FloorState()
    for message in (status("A01"), metrics("A01", call_state="in_call", call="c1", t_call=60.0,
                                           rate_cpm=131.0)):
        state.handle(*message, NOW)
    view = state.seats[("hq", "A01")]
    assert view.rate_cpm == 131.0 and list(view.rate_history) == [131.0]
    # the call ends; the edge keeps sending its last rate on the idle seat
    state.handle(*event("call_ended", "A01", call="c1", t_call=61.0, scorecard={"score": 90}), NOW)
    state.handle(*metrics("A01", call_state="idle", call=None, t_call=None, rate_cpm=131.0), NOW)
    assert view.rate_cpm is None and view.t_call is None
    state.handle(*metrics("A01", call_state="ringing", call=None, rate_cpm=131.0, rings=1), NOW)
    assert view.rate_cpm is None
    # a new call: its metrics still carry the previous call's rate until a new reading
    state.handle(*metrics("A01", call_state="in_call", call="c2", t_call=3.0, rate_cpm=131.0), NOW)
    assert view.call == "c2" and view.rate_cpm is None and not view.rate_history
    state.handle(*event("call_started", "A01", call="c2", t_call=0.0), NOW)
    assert view.rate_cpm is None and view.t_call == 3.0            # metrics were fresher
    state.handle(*metrics("A01", call_state="in_call", call="c2", t_call=18.0, rate_cpm=118.0), NOW)
    assert view.rate_cpm == 118.0 and list(view.rate_history) == [118.0]
    state.handle(*metrics("A01", call_state="in_call", call="c2", t_call=19.0, rate_cpm=131.0), NOW)
    assert view.rate_cpm == 131.0                                  # now a reading of this call


def test_a_call_started_event_alone_resets_the_numbers() -> None:
    state = FloorState()
    state.handle(*metrics("A01", call_state="in_call", call="c1", t_call=80.0, rate_cpm=140.0), NOW)
    state.handle(*event("call_started", "A01", call="c2", t_call=0.0), NOW)
    view = state.seats[("hq", "A01")]
    assert (view.call, view.t_call, view.rate_cpm, view.stale_rate) == ("c2", 0.0, None, 140.0)


# --- the console ---------------------------------------------------------------------------

def row(table: DataTable[Any], index: int) -> list[str]:
    return [str(cell) for cell in table.get_row_at(index)]


async def test_floor_row_shows_no_stale_numbers() -> None:
    state = FloorState()
    for message in (status("A01"), status("A02"),
                    metrics("A01", call_state="idle", call=None, t_call=95.0, rate_cpm=131.0),
                    metrics("A02", call_state="ringing", call=None, t_call=None, rate_cpm=125.0)):
        state.handle(*message, NOW)
    state.seats[("hq", "A01")].t_call = 95.0           # as an older console model could hold it
    app = ConsoleApp(state, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        floor = app.query_one("#floor", DataTable)
        for index in range(2):
            assert row(floor, index)[3] == "" and row(floor, index)[4].strip() == ""
        assert "rate" not in summary(state.seats[("hq", "A01")]).plain


async def test_newest_alert_stays_in_view_after_thirty() -> None:
    state = FloorState()
    for i in range(30):
        state.handle(*event("dead_air", f"S{i:02d}", silence_s=9.0), NOW)
    app = ConsoleApp(state, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        feed = app.query_one("#feed", DataTable)
        await pilot.press("tab")
        assert app.focused is feed and feed.cursor_row == 0
        state.handle(*event("forbidden_phrase", "S05", keyword="不知道", score=0.9), NOW + 1)
        app.tick()
        await pilot.pause()
        assert feed.cursor_row == 0 and row(feed, 0)[3].startswith("Taboo phrase")
        assert feed.scroll_y == 0                                   # on screen, selected
        assert app.selected_alert() is not None and app.selected_alert().key[3] == "forbidden_phrase"


async def test_moving_down_keeps_the_selection_and_counts_new_alerts_above() -> None:
    app = ConsoleApp(busy_floor(), clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        feed = app.query_one("#feed", DataTable)
        await pilot.press("tab", "down", "down")
        chosen = app.selected_alert()
        assert chosen is not None and chosen.key[3] == "forbidden_phrase"
        for seat in ("A01", "A03"):
            app.state.handle(*event("dead_air", seat, call="c9", silence_s=9.0), NOW + 5)
        app.tick()
        await pilot.pause()
        assert app.selected_alert() is chosen and feed.cursor_row == 4   # not moved under you
        assert app.unseen == 2 and "2 new: press n" in str(feed.border_title)
        await pilot.press("n")
        assert feed.cursor_row == 0 and app.unseen == 0 and "press n" not in str(feed.border_title)
        await pilot.press("down", "up")                             # back on top: all seen
        assert app.unseen == 0


async def test_alert_detail_shows_evidence_age_and_acknowledgement() -> None:
    now = [NOW + 125.0]
    state = FloorState()
    state.handle(*status("A01"), NOW)
    state.handle(*event("hold_checkin_missed", "A01", t_call=46.0, reason="no_checkin",
                        silent_s=17.1, interval_s=15.0, tolerance_s=2.0, announced=True,
                        hold_s=17.3, wait_from_s=29.0, caller_speech_s=0.4), NOW)
    app = ConsoleApp(state, clock=lambda: now[0], user="lin")
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter")
        assert isinstance(app.screen, AlertScreen)
        await pilot.pause()
        text = str(app.screen.query_one("#alert-detail", Static).render())
        for part in ("Caller waiting without a check-in (N7)", "norm N7: hold check-ins",
                     "raised 20:26:40 UTC, 00:46.0 into the call",
                     "waiting for a supervisor for 2 min 05 s", "What to do:"):
            assert part in text, part
        for line in (r"waited in silence +17.1 s", r"check-in due every +15 s",
                     r"hold +announced by the agent \(请稍等\)", r"waiting since +00:29.0 into the call"):
            assert re.search(line, text), line
        now[0] = NOW + 140.0
        await pilot.press("a")
        await pilot.pause()
        text = str(app.screen.query_one("#alert-detail", Static).render())
        assert "acknowledged by lin at 20:29:00 UTC, 2 min 20 s after it was raised" in text
        await pilot.press("escape")
        feed = app.query_one("#feed", DataTable)
        assert row(feed, 0)[0] == "2m20" and row(feed, 0)[5] == "acked lin 20:29"
        await pilot.press("enter", "s")
        assert isinstance(app.screen, SeatScreen)


async def test_read_only_alert_detail_does_not_ack() -> None:
    app = ConsoleApp(busy_floor(), clock=lambda: NOW, read_only=True)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.press("tab", "enter", "a")
        assert isinstance(app.screen, AlertScreen)
        assert all(group.status == "open" for group in app.state.feed.values())


def test_seat_detail_lists_open_alerts_with_evidence() -> None:
    state = busy_floor()
    text = open_alerts(state.seats[("hq", "A01")], NOW + 30).plain
    assert "Taboo phrase: 不知道 “I don't know” (N4)  waiting 30 s" in text
    assert "keyword: 不知道 · keyword confidence: 0.93" in text
    assert "Interrupted the caller (N8) ×2" in text


async def test_footer_keeps_quit_and_help_at_80_columns() -> None:
    app = ConsoleApp(busy_floor(), clock=lambda: NOW)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        lines = ["".join(seg.text for seg in strip)
                 for strip in app.screen._compositor.render_strips()]
        footer = lines[-1]
        assert "q Quit" in footer and "? Help" in footer
        assert "Dead air (N9)" in "\n".join(lines)


def test_waited_fits_its_column() -> None:
    assert [waited(s) for s in (0, 59.9, 125, 3599, 4800, 90000)] == [
        "0s", "59s", "2m05", "59m59", "1h20", "1d"]


async def test_selection_is_kept_while_an_alert_detail_is_open() -> None:
    app = ConsoleApp(busy_floor(), clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        feed = app.query_one("#feed", DataTable)
        await pilot.press("tab", "down", "enter")
        assert isinstance(app.screen, AlertScreen)
        chosen = app.screen.group
        app.state.handle(*event("dead_air", "A03", call="c9", silence_s=9.0), NOW + 5)
        app.tick()
        await pilot.pause()
        await pilot.press("escape")
        assert app.selected_alert() is chosen and feed.cursor_row == 2 and app.unseen == 1


async def test_columns_settle_on_a_thousand_seats() -> None:
    state = FloorState()
    for i in range(1000):
        state.handle(*status(f"S{i:04d}"), NOW)
        state.handle(*event("dead_air", f"S{i:04d}", silence_s=9.0), NOW)
    app = ConsoleApp(state, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        widths = dict(app._widths)
        for _ in range(3):
            state.handle(*metrics("S0001", call_state="in_call", call="c1", t_call=5.0), NOW)
            app.tick()
            await pilot.pause()
        assert app._widths == widths                    # no rebuild back and forth
        floor = app.query_one("#floor", DataTable)
        assert sum(c.get_render_width(floor) for c in floor.columns.values()) == \
            floor.scrollable_content_region.width       # the alert column fills the rest
