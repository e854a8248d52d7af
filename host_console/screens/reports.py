"""Reports: the period summary per agent and per norm, with terminal bar charts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from seatwatch.console import reports
from seatwatch.console.store import HistoryStore

PERIODS = {"1": 3600.0, "8": 8 * 3600.0, "d": 86400.0, "w": 7 * 86400.0}
PERIOD_NAMES = {3600.0: "last hour", 8 * 3600.0: "last 8 h (shift)", 86400.0: "last 24 h",
                7 * 86400.0: "last 7 days"}


class ReportsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape,backspace", "app.pop_screen", "Back"),
        Binding("1", "period('1')", "Hour"),
        Binding("8", "period('8')", "Shift"),
        Binding("d", "period('d')", "Day"),
        Binding("w", "period('w')", "Week"),
        Binding("x", "export", "Export CSV"),
    ]

    def __init__(self, store: HistoryStore | None, clock: Callable[[], float],
                 export_dir: Path | None = None) -> None:
        super().__init__()
        self.store, self.clock, self.export_dir = store, clock, export_dir or Path.cwd()
        self.span_s = PERIODS["8"]
        self.report: reports.Report | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="report"):
            yield Static(id="report-title")
            yield DataTable(id="agents", cursor_type="row", zebra_stripes=True)
            yield Static(id="norm-chart")
            yield Static(id="agent-chart")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#agents", DataTable)
        table.add_columns("Agent", "Calls", "Mean score", "Violations", "Most frequent")
        table.border_title = "Per agent"
        self.refresh_report()

    def refresh_report(self) -> None:
        title = self.query_one("#report-title", Static)
        if self.store is None:
            title.update("No history database: start the console with --db to keep reports.")
            return
        until = self.clock()
        cards, violations = self.store.report_rows(until - self.span_s, until)
        report = self.report = reports.build(cards, violations, until - self.span_s, until)
        title.update(f"[b]{PERIOD_NAMES[self.span_s]}[/b]  {reports.iso(report.since)} .. "
                     f"{reports.iso(report.until)}   calls {report.calls}   mean score "
                     f"{'-' if report.mean_score is None else report.mean_score}")
        table = self.query_one("#agents", DataTable)
        table.clear()
        for line in report.agents:
            table.add_row(Text(line.name), line.calls,
                          "-" if line.mean_score is None else f"{line.mean_score:.1f}", line.total,
                          reports.frequent(line.violations))
        norms = [(f"{n.name} {reports.NORM_TITLE.get(n.name, '')}", float(n.total))
                 for n in report.norms]
        self.query_one("#norm-chart", Static).update(Text.assemble(
            ("Violations per norm\n", "bold"), "\n".join(reports.chart(norms)) or "none"))
        scores = [(a.name, a.mean_score) for a in report.agents if a.mean_score is not None]
        self.query_one("#agent-chart", Static).update(Text.assemble(
            ("Mean score per agent\n", "bold"),
            "\n".join(reports.chart([(n, float(s)) for n, s in scores])) or "no ended calls"))

    def action_period(self, key: str) -> None:
        self.span_s = PERIODS[key]
        self.refresh_report()

    def action_export(self) -> None:
        if self.report is None:
            self.notify("nothing to export", severity="warning")
            return
        stamp = reports.iso(self.report.until).replace(" ", "-").replace(":", "")[:15]
        path = self.export_dir / f"seatwatch-report-{stamp}.csv"
        try:
            with open(path, "w", newline="", encoding="utf-8") as out:
                rows = reports.write_csv(self.report, out)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify(f"{rows} rows written to {path}")
