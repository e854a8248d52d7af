"""SQLite history: a console restart rebuilds exactly the floor it showed before."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import DataTable

from seatwatch.console.app import ConsoleApp
from seatwatch.console.state import FloorState
from seatwatch.console.store import HistoryStore, StoreConfig
from seatwatch.contracts import payloads, topics
from tests.console.scenario import NOW, ROSTER, ack, busy_messages, event, metrics, scorecard, status


def snapshot(state: FloorState) -> dict[str, object]:
    """What a supervisor sees, as plain data."""
    return {
        "seats": {key: (v.state, v.agent, v.call, v.call_state, v.firmware, v.rate_cpm,
                        list(v.level_history), list(v.timeline), list(v.scorecards),
                        sorted(v.open_alerts)) for key, v in state.seats.items()},
        "feed": [(g.key, g.count, g.status, g.by, g.first.id, g.last.id) for g in state.feed.values()],
    }


def live(db: Path, messages: list[tuple[str, bytes]], now: float = NOW) -> FloorState:
    """A console that records each batch, then shows it (the app's order)."""
    state, store = FloorState(roster=ROSTER), HistoryStore(db, roster=ROSTER)
    batch = [(topic, payload, now) for topic, payload in messages]
    store.record(batch)
    for topic, payload, received in batch:
        state.handle(topic, payload, received)
    store.close()
    return state


def restored(db: Path, now: float = NOW) -> FloorState:
    state, store = FloorState(roster=ROSTER), HistoryStore(db, roster=ROSTER)
    store.restore(state, now)
    store.close()
    return state


def test_restart_rebuilds_seats_feed_acks_and_scorecards(tmp_path: Path) -> None:
    messages = busy_messages()
    dead_air = messages[9][1]
    forbidden = messages[5][1]
    messages += [ack(dead_air, "ack", by="lin"), ack(forbidden, "resolve", by="zhou"),
                 scorecard("A03", "c9", 82.5, dead_air=1), event("overtalk", "A01", overlap_s=2.0)]
    before = live(tmp_path / "h.db", messages)
    after = restored(tmp_path / "h.db")
    assert snapshot(after) == snapshot(before)
    groups = {g.key[3]: g for g in after.feed.values()}
    assert groups["dead_air"].status == "acked" and groups["dead_air"].by == "lin"
    assert groups["forbidden_phrase"].status == "resolved"
    assert groups["overtalk"].count == 3
    assert after.seats[("hq", "A03")].scorecards[0]["score"] == 82.5


def test_history_survives_many_restarts_and_adds_up(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    messages = busy_messages()
    live(db, messages[:5])
    live(db, messages[5:])          # a second session writes the rest
    expected = FloorState(roster=ROSTER)
    for topic, payload in messages:
        expected.handle(topic, payload, NOW)
    assert snapshot(restored(db)) == snapshot(expected)


def test_duplicates_and_own_ack_echo_stored_once(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    ev = event("dead_air", "B01", silence_s=9.0)
    echo = ack(ev[1])
    assert store.record([(*ev, NOW), (*ev, NOW), (*echo, NOW)]) == 2
    assert store.record([(*echo, NOW + 1), (*ev, NOW + 1)]) == 0
    assert store.query("SELECT COUNT(*) FROM journal")[0][0] == 2
    assert store.query("SELECT type, seat FROM events") == [("dead_air", "B01")]


def test_malformed_messages_are_not_history(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db")
    good = event("overtalk", "B01")
    bad = [(good[0], b"{not json", NOW), (good[0], good[1].replace(b'"overtalk"', b'"nope"'), NOW),
           ("seatwatch/v1/hq/B01/status", b'{"schema": 1}', NOW), ("elsewhere/x", b"{}", NOW),
           ("seatwatch/v1/hq/_consoles/acks", b'{"schema":1,"ts":"x","event":"short"}', NOW),
           ("seatwatch/v1/hq/B01/metrics", b'{"schema":1,"ts":"x","seat":"B01","rings":"two"}', NOW)]
    assert store.record([*bad, (*good, NOW)]) == 1
    assert store.query("SELECT kind FROM journal") == [("events",)]


def test_metrics_window_pruned_and_restored_seats_go_stale(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    store = HistoryStore(db, config=StoreConfig(metrics_keep_s=60.0, prune_every_s=30.0))
    store.record([(*status("C01"), NOW)])
    for second in range(0, 120, 10):
        store.record([(*metrics("C01", mic_dbfs=-40.0 + second / 10), NOW + second)])
    kept = store.query("SELECT received FROM journal WHERE kind = 'metrics'")
    assert min(r[0] for r in kept) >= NOW + 110 - 60 - 30   # pruned at most prune_every_s late
    store.close()
    state = FloorState()
    HistoryStore(db, config=StoreConfig(metrics_keep_s=60.0)).restore(state, NOW + 115)
    seat = state.seats[("hq", "C01")]
    assert list(seat.level_history) == [-40.0 + s / 10 for s in range(60, 120, 10)]
    assert seat.online and seat.firmware == "1.0.0"
    state = FloorState()
    HistoryStore(db).restore(state, NOW + 3600)              # an hour later: nothing heard since
    assert state.seats[("hq", "C01")].state == "offline"


def test_scorecards_and_agents_in_structured_tables(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.db", roster=ROSTER)
    named = payloads.status("online", site="hq", seat="D01", device="dev-D01", agent="赵敏")
    store.record([(topics.status_topic("hq", "D01"), payloads.encode(named), NOW),
                  (*scorecard("D01", "c1", 71.0, overtalk=2, dead_air=1), NOW),
                  (*scorecard("A01", "c2", 95.0), NOW)])
    rows = store.query("SELECT seat, agent, call, score, violations FROM scorecards ORDER BY seat")
    assert rows == [("A01", "王芳", "c2", 95.0, "{}"),
                    ("D01", "赵敏", "c1", 71.0, '{"overtalk": 2, "dead_air": 1}')]
    store.close()
    assert HistoryStore(tmp_path / "h.db").agent("hq", "D01") == "赵敏"   # known after a restart


async def test_app_ack_is_recorded_and_shown_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    live(db, busy_messages())
    store = HistoryStore(db, roster=ROSTER)
    state = FloorState(roster=ROSTER)
    store.restore(state, NOW)
    app = ConsoleApp(state, store=store, clock=lambda: NOW, user="lin")
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.press("tab", "a")
        assert str(app.query_one("#feed", DataTable).get_row_at(0)[5]) == "acked lin 20:26"
    store.close()
    app = ConsoleApp(restored(db), clock=lambda: NOW)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        top = [str(c) for c in app.query_one("#feed", DataTable).get_row_at(0)]
        assert top[3] == "Dead air (N9)" and top[5] == "acked lin 20:26"   # who and when, kept
