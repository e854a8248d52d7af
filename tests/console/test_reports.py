"""Period reports: pure aggregation, the store's rows, the CLI with CSV, the app's screen."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from seatwatch import cli
from seatwatch.console import reports
from seatwatch.console.app import ConsoleApp
from seatwatch.console.reports import CardRow, ViolationRow
from seatwatch.console.screens.reports import ReportsScreen
from seatwatch.console.state import FloorState
from seatwatch.console.store import HistoryStore
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event
from tests.console.scenario import NOW, ROSTER

HOUR = 3600.0


def test_build_per_agent_and_per_norm() -> None:
    cards = [CardRow(NOW, "A01", "王芳", "c1", 90.0), CardRow(NOW + 10, "A01", "王芳", "c2", 70.0),
             CardRow(NOW + 20, "A02", None, "c3", 100.0),
             CardRow(NOW - 2 * HOUR, "A01", "王芳", "c0", 10.0)]            # before the period
    violations = [ViolationRow(NOW, "A01", "王芳", "c2", "speech_rate_high"),
                  ViolationRow(NOW, "A01", "王芳", "c2", "speech_rate_low"),
                  ViolationRow(NOW, "A01", "王芳", "c2", "overtalk"),
                  ViolationRow(NOW, "A02", None, "c3", "overtalk"),
                  ViolationRow(NOW, "A02", None, "c4", "forbidden_phrase"),   # call still running
                  ViolationRow(NOW + 2 * HOUR, "A02", None, "c5", "dead_air")]  # after the period
    report = reports.build(cards, violations, NOW - HOUR, NOW + HOUR)
    assert report.calls == 3 and report.mean_score == 86.7
    agents = {a.name: a for a in report.agents}
    assert agents["王芳"].calls == 2 and agents["王芳"].mean_score == 80.0
    assert agents["王芳"].violations == {"speech_rate_high": 1, "speech_rate_low": 1, "overtalk": 1}
    unknown = agents["(unknown) seat A02"]
    assert unknown.total == 2 and unknown.mean_score == 100.0
    assert report.agents[0].name == "王芳"                      # most violations first
    norms = {n.name: n for n in report.norms}
    assert list(norms) == ["N4", "N5", "N8"]                    # in NORMS.md order
    assert norms["N5"].total == 2 and norms["N5"].calls == 1 and norms["N5"].mean_score == 70.0
    assert norms["N8"].calls == 2 and norms["N8"].agents == {"王芳", "(unknown) seat A02"}
    assert norms["N8"].mean_score == 85.0
    assert norms["N4"].mean_score is None                       # its call has no scorecard yet


def test_periods_and_bars() -> None:
    assert reports.parse_when("8h", NOW) == NOW - 8 * HOUR
    assert reports.parse_when("30m", NOW) == NOW - 1800
    assert reports.parse_when("2026-11-25T08:00", NOW) == reports.parse_when("2026-11-25T08:00:00Z", NOW)
    with pytest.raises(reports.PeriodError, match="neither a duration"):
        reports.parse_when("yesterday", NOW)
    lines = reports.chart([("N5", 4.0), ("N8", 1.0), ("N9", 0.0)], width=8)
    assert lines[0].startswith("N5 ████████") and lines[1].startswith("N8 ██ ")
    assert lines[2].split() == ["N9", "0"]


def seat_event(kind: str, seat: str, call: str, at: float, **data: object) -> tuple[str, bytes, float]:
    ev = Event.new(kind, site="hq", seat=seat, device=f"dev-{seat}", call=call, t_call=5.0,
                   data=dict(data), now=at)
    return topics.events_topic("hq", seat), ev.to_json().encode(), at


def shift(db: Path) -> None:
    store = HistoryStore(db, roster=ROSTER)
    named = payloads.status("online", site="hq", seat="B07", device="dev-B07", agent="赵敏")
    store.record([
        (topics.status_topic("hq", "B07"), payloads.encode(named), NOW - HOUR),
        seat_event("overtalk", "A01", "c1", NOW - 600, overlap_s=0.9),
        seat_event("overtalk", "A01", "c1", NOW - 590, overlap_s=1.2),
        seat_event("call_ended", "A01", "c1", NOW - 500,
                   scorecard={"score": 80.0, "violations": {"overtalk": 2}}),
        seat_event("dead_air", "B07", "c2", NOW - 300, silence_s=9.0),
        seat_event("call_ended", "B07", "c2", NOW - 200,
                   scorecard={"score": 90.0, "violations": {"dead_air": 1}}),
        seat_event("call_ended", "A02", "c3", NOW - 20 * HOUR, scorecard={"score": 50.0}),
        seat_event("acoustic_shock", "A02", "c3", NOW - 100, peak_dba=112.0)])   # not a norm
    store.close()


def test_store_rows_feed_the_report(tmp_path: Path) -> None:
    shift(tmp_path / "h.db")
    store = HistoryStore(tmp_path / "h.db")
    report = reports.build(*store.report_rows(NOW - 8 * HOUR, NOW), NOW - 8 * HOUR, NOW)
    assert [(a.name, a.calls, a.mean_score, dict(a.violations)) for a in report.agents] == [
        ("王芳", 1, 80.0, {"overtalk": 2}), ("赵敏", 1, 90.0, {"dead_air": 1})]
    assert [(n.name, n.total) for n in report.norms] == [("N8", 2), ("N9", 1)]


def test_cli_report_text_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db, out = tmp_path / "h.db", tmp_path / "shift.csv"
    shift(db)
    since, until = reports.iso(NOW - 8 * HOUR)[:16], reports.iso(NOW)[:16]
    assert cli.main(["console", "report", "--db", str(db), "--since", since, "--until",
                     until.replace(" ", "T") + ":01", "--csv", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "王芳" in printed and "N8 no interrupting" in printed and "calls 2, mean score 85.0" in printed
    assert "Interrupted the caller (N8) ×2" in printed                     # most frequent, in words
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["section"], r["name"]) for r in rows] == [
        ("agent", "王芳"), ("agent", "赵敏"), ("norm", "N8"), ("norm", "N9")]
    assert rows[0]["overtalk"] == "2" and rows[0]["mean_score"] == "80.0"
    assert rows[2]["calls"] == "1" and rows[2]["agents"] == "1" and rows[3]["dead_air"] == "1"
    day_before = reports.iso(NOW - 86400)[:16].replace(" ", "T")
    assert cli.main(["console", "report", "--db", str(db), "--since", day_before, "--until",
                     until.replace(" ", "T") + ":01", "--csv", "-"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 5 and rows[2]["name"] == "李强"   # the 20 h old call too
    assert cli.main(["console", "report", "--db", str(db), "--since", "1h", "--csv", "-"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1                # months later: header only


def test_cli_report_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["console", "report", "--db", str(tmp_path / "none.db")]) == 2
    assert "no history database" in capsys.readouterr().err
    shift(tmp_path / "h.db")
    assert cli.main(["console", "report", "--db", str(tmp_path / "h.db"), "--since", "soon"]) == 2
    assert "neither a duration" in capsys.readouterr().err
    assert cli.main(["console", "report", "--db", str(tmp_path / "h.db"), "--since", "1h",
                     "--until", "2h"]) == 2
    assert not (tmp_path / "none.db").exists()


async def test_reports_screen_periods_and_export(tmp_path: Path) -> None:
    shift(tmp_path / "h.db")
    store = HistoryStore(tmp_path / "h.db")
    app = ConsoleApp(FloorState(), store=store, clock=lambda: NOW, export_dir=tmp_path)
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, ReportsScreen)
        table = app.screen.query_one("#agents", DataTable)
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["王芳", "赵敏"]
        chart = str(app.screen.query_one("#norm-chart", Static).render())
        assert "N8 no interrupting" in chart and "█" in chart
        await pilot.press("d")                         # a whole day: the 20 h old call too
        await pilot.pause()
        assert table.row_count == 3 and "calls 3" in str(app.screen.query_one("#report-title").render())
        await pilot.press("1")                         # last hour: nothing older than that
        await pilot.pause()
        assert table.row_count == 2
        await pilot.press("x")
        await pilot.pause()
        exported = list(tmp_path.glob("seatwatch-report-*.csv"))
        assert len(exported) == 1 and "王芳" in exported[0].read_text(encoding="utf-8")
        await pilot.press("escape")
        assert not isinstance(app.screen, ReportsScreen)
    store.close()
