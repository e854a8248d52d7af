"""The supervisors' console: a live floor view, an alert feed, seat detail, help.

The UI redraws from `FloorState` on a timer; MQTT ingestion runs on paho's thread and
only fills a queue (ingest.py), so a burst of events never blocks rendering.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from edge import payloads, topics
from host_console.ingest import Ingest
from host_console.screens.help import HelpScreen
from host_console.screens.reports import ReportsScreen
from host_console.screens.seat import SeatScreen
from host_console.state import SEVERITY_RANK, AlertGroup, FloorState, SeatView
from host_console.store import HistoryStore

SEVERITY_STYLE = {None: "", "info": "cyan", "warn": "yellow", "alert": "bold red"}
STATE_ORDER = {"ringing": 0, "in_call": 1, "hold": 2, "idle": 3, "offline": 4}
SORTS = ("seat", "severity", "state")
FILTERS = ("info", "warn", "alert")
SHOWS = ("all", "attention", "active", "idle", "offline")
ACTIVE = frozenset({"ringing", "in_call", "hold"})
FLOOR_COLUMNS = (("Seat", None), ("Agent", None), ("State", 7), ("Call", 5), ("Rate cpm", 12),
                 ("Level", 8), ("Alerts", 6))
METER_COLUMNS = frozenset({3, 4, 5})    # call time, rate, level: change every second
FEED_ROWS = 100          # alert groups listed (rebuilt as alerts arrive); the rest: model, history, reports
GC_YOUNG = 20_000        # allocations between young-generation collections (CPython: 700)
PUMP_BATCH = 500         # messages applied per lock hold, so a backlog never freezes the UI


def meter(value: float | None, lo: float, hi: float, width: int = 8) -> str:
    if value is None:
        return " " * width
    filled = round(max(0.0, min(1.0, (value - lo) / (hi - lo))) * width)
    return "█" * filled + "░" * (width - filled)


def mmss(seconds: float | None) -> str:
    return "" if seconds is None else f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


Cells = tuple[tuple[str, str], ...]      # (text, style) per column: cheap to build and compare


def floor_cells(view: SeatView) -> Cells:
    style = SEVERITY_STYLE[view.worst]
    badges = len([a for a in view.open_alerts.values() if a.status == "open"])
    rate = "" if view.rate_cpm is None else round(view.rate_cpm)
    return ((view.seat, style), (view.agent or "", ""),
            (view.state, "dim" if view.state == "offline" else ""), (mmss(view.t_call), ""),
            (f"{meter(view.rate_cpm, 60, 240)} {rate}", ""), (meter(view.mic_dbfs, -60, 0), ""),
            (f"{badges or ''}", style))


def feed_cells(group: AlertGroup) -> Cells:
    event = group.last
    status = group.status if not group.by else f"{group.status} ({group.by})"
    return ((event.ts[11:19], ""), (event.seat, ""), (event.call or "", ""), (event.type, ""),
            (event.severity, SEVERITY_STYLE[event.severity]), (str(group.count), ""), (status, ""))


# Cells become Text, never str: DataTable parses a str as markup, and an agent or
# supervisor name like "[b" from the wire would then break the redraw.
def as_text(cells: Cells) -> tuple[Text, ...]:
    return tuple(Text(text, style=style) for text, style in cells)


def floor_row(view: SeatView) -> tuple[Text, ...]:
    return as_text(floor_cells(view))


def feed_row(group: AlertGroup) -> tuple[Text, ...]:
    return as_text(feed_cells(group))


def quiet_gc() -> None:
    """A full collection walks every object the app holds (widgets, a thousand seats):
    on a busy floor that was the UI's longest pause. What exists once the floor is up
    lives as long as the process, so it is moved out of the collector's way, and the
    young generation is collected less often (most of it is short-lived messages)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, 20, 20)


class ConsoleApp(App[None]):
    TITLE = "seatwatch"
    CSS_PATH = Path(__file__).parent / "console.tcss"   # absolute: subclasses live elsewhere
    BINDINGS = [
        Binding("a", "ack", "Ack"),
        Binding("r", "resolve", "Resolve"),
        Binding("enter", "open_seat", "Seat detail", show=True),
        Binding("s", "cycle_sort", "Sort"),
        Binding("f", "cycle_filter", "Severity filter"),
        Binding("g", "cycle_team", "Team"),
        Binding("v", "cycle_show", "Show"),
        Binding("p", "reports", "Reports"),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("t", "toggle_dark", "Theme"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, state: FloorState | None = None, ingest: Ingest | None = None, *,
                 store: HistoryStore | None = None,
                 site: str = "+", user: str = "supervisor", read_only: bool = False,
                 refresh_s: float = 0.5, clock: Any = time.time,
                 export_dir: Path | None = None, header_clock: bool = True,
                 tune_gc: bool = False) -> None:
        super().__init__()
        self.state = state or FloorState()
        self.ingest, self.store, self.site, self.user = ingest, store, site, user
        self.read_only, self.refresh_s, self.clock = read_only, refresh_s, clock
        self.export_dir = export_dir or Path.cwd()
        self.header_clock = header_clock          # off for snapshot tests: a clock never matches
        self.tune_gc = tune_gc                    # the console process (cli) and its benchmark
        self.sort, self.min_severity = "seat", "info"
        self.team: str | None = None              # floor filter: one team, or every team
        self.show = "all"                         # floor filter: see SHOWS
        self._drawn_version = -1
        self._drawn: dict[str, list[tuple[str, Cells]]] = {}
        self._drawn_scroll: dict[str, int] = {}
        self.model_lock = threading.RLock()
        if store is not None:
            self.state.recorder = store.keep
        self._pump: threading.Thread | None = None
        self._stopping = threading.Event()
        self._seat_keys: list[tuple[str, str]] = []
        self._alert_keys: list[AlertGroup] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.header_clock)
        yield DataTable(id="floor", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="feed", cursor_type="row")
        yield Static(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried on each tick: a tick can fire while the app is shutting down.
        self._floor = floor = self.query_one("#floor", DataTable)
        self._feed = self.query_one("#feed", DataTable)
        self._status = self.query_one("#status-line", Static)
        # Fixed widths where cells are updated in place: a column sized by its first
        # values (no rate yet) would cut later ones ("████████ 131").
        for label, width in FLOOR_COLUMNS:
            floor.add_column(label, width=width)
        floor.border_title = "Floor"
        feed = self.query_one("#feed", DataTable)
        feed.add_columns("Time", "Seat", "Call", "Event", "Severity", "×", "Status")
        feed.border_title = "Alerts (newest first)"
        self.set_interval(self.refresh_s, self.tick)
        self.start_ingest()
        self.tick()
        if self.tune_gc:
            self.call_after_refresh(quiet_gc)

    # --- data ----------------------------------------------------------------------------
    def start_ingest(self) -> None:
        """Messages are decoded, stored and applied on a thread of their own; the UI only
        redraws. Both sides hold `self.model_lock` while they touch the floor model."""
        if self.ingest is None or self._pump is not None:
            return
        self._pump = threading.Thread(target=self._pump_loop, name="console-ingest", daemon=True)
        self._pump.start()

    def _pump_loop(self) -> None:
        assert self.ingest is not None
        while not self._stopping.is_set():
            batch = self.ingest.wait(timeout=0.2, limit=PUMP_BATCH)
            if batch:
                self.apply_batch(batch)
            if self.store is not None:
                self.store.checkpoint(time.monotonic())     # outside the model lock

    def apply_batch(self, batch: list[tuple[str, bytes, float]]) -> None:
        with self.model_lock:
            if self.store is None:
                for topic, payload, received in batch:
                    self.state.handle(topic, payload, received)
                return
            with self.store.transaction():       # written (committed) before shown
                for topic, payload, received in batch:
                    self.state.handle(topic, payload, received)

    def tick(self) -> None:
        with self.model_lock:
            self.state.mark_stale(self.clock())
            changed = self.state.version != self._drawn_version
        scrolled = int(self._floor.scroll_y) != self._drawn_scroll.get("floor")
        if changed or scrolled:
            self.redraw()
        self.update_status()

    def update_status(self) -> None:
        link = "no broker" if self.ingest is None else self.ingest.state
        counters = self.state.counters
        bad = sum(v for k, v in list(counters.items())
                  if k.startswith("malformed") or k == "unknown_topic")
        mode = " · read-only" if self.read_only else ""
        self.sub_title = f"broker: {link}{mode}"
        self._status.update(
            f"broker {link} · seats {len(self.state.seats)} · events {counters['events']} · "
            f"bad messages {bad} · sort {self.sort} · team {self.team or 'all'} · show {self.show} · "
            f"severity ≥ {self.min_severity}{mode}")

    def shown(self, view: SeatView) -> bool:
        if self.team is not None and view.team != self.team:
            return False
        if self.show == "attention":
            return view.worst is not None
        if self.show == "active":
            return view.state in ACTIVE
        if self.show in ("idle", "offline"):
            return view.state == self.show
        return True

    def sorted_seats(self) -> list[SeatView]:
        views = [view for view in self.state.seats.values() if self.shown(view)]
        if self.sort == "severity":
            views.sort(key=lambda v: (-SEVERITY_RANK.get(v.worst or "", -1), v.seat))
        elif self.sort == "state":
            views.sort(key=lambda v: (STATE_ORDER.get(v.state, 9), v.seat))
        else:
            views.sort(key=lambda v: (v.site, v.seat))
        return views

    def redraw(self) -> None:
        with self.model_lock:                  # rows are built under the lock, drawn after it
            self._drawn_version = self.state.version
            views = self.sorted_seats()
            seats = [(f"{v.site}/{v.seat}", floor_cells(v)) for v in views]
            self._seat_keys = [(v.site, v.seat) for v in views]
            self._alert_keys = self.state.alerts(self.min_severity)[:FEED_ROWS]
            alerts = [("/".join(str(part) for part in g.key), feed_cells(g)) for g in self._alert_keys]
        self._fill(self._floor, seats, width_columns={1}, lazy_columns=METER_COLUMNS)
        self._fill(self._feed, alerts, width_columns=set())

    def _fill(self, table: DataTable[Any], rows: list[tuple[str, Cells]], width_columns: set[int],
              lazy_columns: frozenset[int] = frozenset()) -> None:
        """Update `table` to `rows`: changed cells only while the order holds, else rebuilt
        with the cursor kept on the same row key (an alert arriving above the selection
        must not move it). Meters change every second on every seat: `lazy_columns` are
        updated on the rows in view only; the others catch up when scrolled into view."""
        drawn = self._drawn.get(table.id or "", [])
        keys = [key for key, _ in rows]
        top = int(table.scroll_y)
        in_view = range(top - 2, top + table.size.height + 2)
        self._drawn_scroll[table.id or ""] = top
        if keys == [key for key, _ in drawn]:
            columns = list(table.columns)
            shown: list[tuple[str, Cells]] = []
            for row, ((key, cells), (_, old)) in enumerate(zip(rows, drawn, strict=True)):
                if cells == old:
                    shown.append((key, old))
                    continue
                eager = row in in_view
                kept = []
                for index, (new, was) in enumerate(zip(cells, old, strict=True)):
                    if new != was and (eager or index not in lazy_columns):
                        table.update_cell(key, columns[index], Text(new[0], style=new[1]),
                                          update_width=index in width_columns)
                        kept.append(new)
                    else:
                        kept.append(was)
                shown.append((key, tuple(kept)))
            self._drawn[table.id or ""] = shown
            return
        selected = drawn[table.cursor_row][0] if 0 <= table.cursor_row < len(drawn) else None
        row = table.cursor_row
        table.clear()
        for key, cells in rows:
            table.add_row(*as_text(cells), key=key)
        if keys:
            row = keys.index(selected) if selected in keys else min(row, len(keys) - 1)
            table.move_cursor(row=row)
        self._drawn[table.id or ""] = rows

    # --- actions -------------------------------------------------------------------------
    def selected_alert(self) -> AlertGroup | None:
        feed = self.query_one("#feed", DataTable)
        if not self._alert_keys or feed.cursor_row < 0:
            return None
        return self._alert_keys[min(feed.cursor_row, len(self._alert_keys) - 1)]

    def _act(self, action: str) -> None:
        group = self.selected_alert()
        if group is None:
            return
        if self.read_only:
            self.notify("read-only console: acknowledgements are disabled", severity="warning")
            return
        site, seat = group.key[0], group.key[1]
        body = payloads.ack(group.last.id, seat=seat, action=action, by=self.user)
        # Stored and applied here at once; the broker's echo is a duplicate, dropped.
        self.apply_batch([(topics.acks_topic(site), payloads.encode(body), self.clock())])
        if self.ingest is not None and not self.ingest.publish(topics.acks_topic(site), body):
            self.notify("broker unreachable: acknowledgement shown here only", severity="warning")
        self.tick()

    def action_ack(self) -> None:
        self._act("ack")

    def action_resolve(self) -> None:
        self._act("resolve")

    def action_open_seat(self) -> None:
        floor = self.query_one("#floor", DataTable)
        if self.focused is floor and self._seat_keys:
            key = self._seat_keys[min(floor.cursor_row, len(self._seat_keys) - 1)]
            self.push_screen(SeatScreen(self.state, key, self.clock, self.model_lock))
        elif self.focused is self.query_one("#feed", DataTable):
            group = self.selected_alert()
            if group is not None:
                self.push_screen(SeatScreen(self.state, (group.key[0], group.key[1]), self.clock,
                                            self.model_lock))

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        self.action_open_seat()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self.redraw()
        self.update_status()

    def action_cycle_filter(self) -> None:
        self.min_severity = FILTERS[(FILTERS.index(self.min_severity) + 1) % len(FILTERS)]
        self.redraw()
        self.update_status()

    def action_cycle_team(self) -> None:
        with self.model_lock:
            teams = sorted({v.team for v in self.state.seats.values() if v.team})
        choices: list[str | None] = [None, *teams]
        self.team = choices[(choices.index(self.team) + 1) % len(choices)] if self.team in choices else None
        self.redraw()
        self.update_status()

    def action_cycle_show(self) -> None:
        self.show = SHOWS[(SHOWS.index(self.show) + 1) % len(SHOWS)]
        self.redraw()
        self.update_status()

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    FLOOR_ACTIONS = frozenset({"ack", "resolve", "open_seat", "cycle_sort", "cycle_filter", "reports",
                               "cycle_team", "cycle_show"})

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Floor actions only on the floor: an ack typed on the seat or reports screen would
        hit an alert the supervisor cannot see."""
        if action in self.FLOOR_ACTIONS and self.screen is not self.screen_stack[0]:
            return False
        return True

    def action_reports(self) -> None:
        self.push_screen(ReportsScreen(self.store, self.clock, self.export_dir))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is not self.screen_stack[0]:
            return
        if not self.read_only:
            yield SystemCommand("Acknowledge alert", "Acknowledge the selected alert on every "
                                "console", self.action_ack)
            yield SystemCommand("Resolve alert", "Resolve the selected alert on every console",
                                self.action_resolve)
        yield SystemCommand("Reports", "Per agent and per norm summary of the shift",
                            self.action_reports)
        yield SystemCommand("Sort floor", "Sort seats by seat, severity or state", self.action_cycle_sort)
        yield SystemCommand("Severity filter", "Show info, warn or alert and above",
                            self.action_cycle_filter)
        yield SystemCommand("Team filter", "Floor: one team at a time, then all", self.action_cycle_team)
        yield SystemCommand("Show seats", "Floor: all, needing attention, in a call, idle, offline",
                            self.action_cycle_show)
        yield SystemCommand("Help", "What the console shows and its keys", self.action_help)

    def on_unmount(self) -> None:
        self._stopping.set()
        if self._pump is not None:
            self._pump.join(2.0)
        if self.ingest is not None:
            self.ingest.stop()
