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

from rich.cells import cell_len
from rich.text import Text
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from seatwatch.console import labels
from seatwatch.console.ingest import Ingest
from seatwatch.console.screens.alert import AlertScreen, clock_utc, waited
from seatwatch.console.screens.help import HelpScreen
from seatwatch.console.screens.reports import ReportsScreen
from seatwatch.console.screens.seat import SeatScreen
from seatwatch.console.state import SEVERITY_RANK, AlertGroup, FloorState, SeatView
from seatwatch.console.store import HistoryStore
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import utc_now_iso

SEVERITY_STYLE = {None: "", "info": "cyan", "warn": "yellow", "alert": "bold red"}
STATE_ORDER = {"ringing": 0, "in_call": 1, "hold": 2, "idle": 3, "offline": 4}
SORTS = ("seat", "severity", "state")
FILTERS = ("info", "warn", "alert")
SHOWS = ("all", "attention", "active", "idle", "offline")
ACTIVE = frozenset({"ringing", "in_call", "hold"})
# (label, width); None: sized by its content; FIT: what the other columns leave.
FIT = -1
FLOOR_COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("Seat", None), ("Agent", None), ("State", 7), ("Call", 5), ("Rate cpm", 12), ("Level", 8),
    ("Worst open alert", FIT))
METER_COLUMNS = frozenset({3, 4, 5})    # call time, rate, level: change every second
STATUS_CELLS = 15                       # "acked lin 08:02"
FEED_COLUMNS: tuple[tuple[str, int | None], ...] = (
    ("Waited", 6), ("Seat", None), ("Sev", 5), ("Alert", FIT), ("×", 3),
    ("Status", STATUS_CELLS), ("Raised", 8))
ALERT_MIN_CELLS = 16                    # a fitted alert column is never narrower
ALERT_WIDE_CELLS = 40                   # the raised time is shown only beside this much
FEED_ROWS = 100          # alert groups listed (rebuilt as alerts arrive); the rest: model, history, reports
GC_YOUNG = 20_000        # allocations between young-generation collections (CPython: 700)
PUMP_BATCH = 500         # messages applied per lock hold, so a backlog never freezes the UI
FEED_TITLE = "Alerts (newest first)"


def meter(value: float | None, lo: float, hi: float, width: int = 8) -> str:
    if value is None:
        return " " * width
    filled = round(max(0.0, min(1.0, (value - lo) / (hi - lo))) * width)
    return "█" * filled + "░" * (width - filled)


def mmss(seconds: float | None) -> str:
    return "" if seconds is None else f"{int(seconds) // 60:02d}:{int(seconds) % 60:02d}"


Cells = tuple[tuple[str, str], ...]      # (text, style) per column: cheap to build and compare


def worst_alert(groups: list[AlertGroup], width: int) -> str:
    """The seat's worst open alert in words, and how many others are open: "Dead air (N9) +1"."""
    if not groups:
        return ""
    worst = groups[0].last
    more = f" +{len(groups) - 1}" if len(groups) > 1 else ""
    return labels.fit(worst.type, worst.data, width, more)


def floor_cells(view: SeatView, alert_cells: int = 40) -> Cells:
    groups = view.open_groups                     # the worst first
    style = SEVERITY_STYLE.get(groups[0].severity if groups else None, "")
    # A call timer and a rate belong to a call: none on an idle, ringing or offline seat.
    in_call = view.in_call
    rate_cpm = view.rate_cpm if in_call else None
    rate = "" if rate_cpm is None else round(rate_cpm)
    return ((view.seat, style), (view.agent or "", ""),
            (view.state, "dim" if view.state == "offline" else ""),
            (mmss(view.t_call if in_call else None), ""),
            (f"{meter(rate_cpm, 60, 240)} {rate}", ""), (meter(view.mic_dbfs, -60, 0), ""),
            (worst_alert(groups, alert_cells), style))


def status_cell(group: AlertGroup, cells: int = STATUS_CELLS) -> str:
    """open, or who acknowledged it and when (UTC): "acked lin 08:02"."""
    if group.status == "open" or group.acked_at is None:
        return group.status
    when = clock_utc(group.acked_at)[:5]
    who = group.by or "?"
    room = cells - cell_len(f"{group.status}  {when}")
    if cell_len(who) > room:
        while who and cell_len(who) > room - 1:
            who = who[:-1]
        who += "…"
    return f"{group.status} {who} {when}"


def feed_cells(group: AlertGroup, now: float, alert_cells: int = 40) -> Cells:
    event = group.last
    style = SEVERITY_STYLE.get(event.severity, "")
    # Open: how long it has waited so far; acknowledged: how long it waited for that.
    wait = waited(group.waited_s(now))
    return ((wait, "" if group.status == "open" else "dim"), (event.seat, ""),
            (event.severity, style), (labels.fit(event.type, event.data, alert_cells), style),
            (str(group.count), ""), (status_cell(group), ""), (event.ts[11:19], ""))


# Cells become Text, never str: DataTable parses a str as markup, and an agent or
# supervisor name like "[b" from the wire would then break the redraw.
def as_text(cells: Cells) -> tuple[Text, ...]:
    return tuple(Text(text, style=style) for text, style in cells)


def floor_row(view: SeatView) -> tuple[Text, ...]:
    return as_text(floor_cells(view))


def feed_row(group: AlertGroup, now: float = 0.0) -> tuple[Text, ...]:
    return as_text(feed_cells(group, now))


def fitted(available: int, widths: list[int], fit_at: int, padding: int) -> int:
    """The width of the column at `fit_at`: what the others leave of `available`."""
    others = [w + 2 * padding for i, w in enumerate(widths) if i != fit_at]
    return max(ALERT_MIN_CELLS, available - sum(others) - 2 * padding)


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
        # The footer shows the first ones; the rest are in help (?) and the palette
        # (ctrl+p), so Quit and Help stay in view at 80 columns.
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help"),
        Binding("a", "ack", "Ack"),
        Binding("r", "resolve", "Resolve"),
        Binding("enter", "open", "Detail", show=True),
        Binding("n", "newest", "Newest"),
        Binding("p", "reports", "Reports"),
        Binding("s", "cycle_sort", "Sort", show=False),
        Binding("f", "cycle_filter", "Severity filter", show=False),
        Binding("g", "cycle_team", "Team", show=False),
        Binding("v", "cycle_show", "Show", show=False),
        Binding("tab", "focus_next", "Next pane", show=False),
        Binding("t", "toggle_dark", "Theme", show=False),
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
        self._fit: dict[str, int] = {"floor": 40, "feed": 40}      # the alert columns' widths
        self._widths: dict[str, list[int]] = {}                     # every column's, as drawn
        self._seen_newest = ""         # the newest alert id the supervisor has had in view
        self.unseen = 0                # alerts that arrived above the selected one since

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.header_clock)
        yield DataTable(id="floor", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="feed", cursor_type="row")
        yield Static(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried on each tick: a tick can fire while the app is shutting down.
        self._main = self.screen
        self._floor = floor = self.query_one("#floor", DataTable)
        self._feed = self.query_one("#feed", DataTable)
        self._status = self.query_one("#status-line", Static)
        # Fixed widths where cells are updated in place: a column sized by its first
        # values (no rate yet) would cut later ones ("████████ 131").
        floor.border_title = "Floor"          # columns: added by the first redraw (_layout)
        self._feed.border_title = FEED_TITLE
        self.set_interval(self.refresh_s, self.tick)
        self.start_ingest()
        self.tick()
        self.call_after_refresh(self.redraw)      # once laid out: the fitted columns
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
        else:
            self.redraw_feed()                 # the waiting times move on
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
        self.redraw_floor()
        self.redraw_feed()

    def redraw_floor(self) -> None:
        width = self._fit["floor"]
        with self.model_lock:                  # rows are built under the lock, drawn after it
            self._drawn_version = self.state.version
            views = self.sorted_seats()
            seats = [(f"{v.site}/{v.seat}", floor_cells(v, width)) for v in views]
            self._seat_keys = [(v.site, v.seat) for v in views]
        widths = self._layout(self._floor, FLOOR_COLUMNS, seats)
        if widths is None:
            self.redraw_floor()                # the alert column changed width: labels fit it
            return
        self._fill(self._floor, seats, lazy_columns=METER_COLUMNS, columns=(FLOOR_COLUMNS, widths))

    def redraw_feed(self) -> None:
        """The alert feed. It follows the newest alert (the cursor stays on the top row)
        unless the supervisor has moved down to another one: that one stays selected and
        the title counts the alerts that arrived above it (`n` jumps to them)."""
        width = self._fit["feed"]
        with self.model_lock:
            now = self.clock()
            self._alert_keys = self.state.alerts(self.min_severity)[:FEED_ROWS]
            alerts = [("/".join(str(part) for part in g.key), feed_cells(g, now, width))
                      for g in self._alert_keys]
        widths = self._layout(self._feed, FEED_COLUMNS, alerts)
        if widths is None:
            self.redraw_feed()
            return
        spec = FEED_COLUMNS[:len(widths)]
        alerts = [(key, cells[:len(widths)]) for key, cells in alerts]
        feed = self._feed
        follow = not self.feed_focused() or feed.cursor_row <= 0
        self._fill(feed, alerts, follow=follow, columns=(spec, widths))
        self.mark_seen()

    def feed_focused(self) -> bool:
        """The feed has the floor screen's focus (also while a detail is open over it)."""
        return self._main.focused is self._feed

    def mark_seen(self) -> None:
        """Count the alerts above the selection that arrived since the newest was in view."""
        newest = max((g.last.id for g in self._alert_keys), default="")
        if not self.feed_focused() or self._feed.cursor_row <= 0:
            self._seen_newest, self.unseen = max(self._seen_newest, newest), 0
        else:
            self.unseen = sum(1 for g in self._alert_keys if g.last.id > self._seen_newest)
        title = FEED_TITLE if not self.unseen else (
            f"{FEED_TITLE}  [reverse] ▲ {self.unseen} new: press n [/]")
        if self._feed.border_title != title:
            self._feed.border_title = title

    def _layout(self, table: DataTable[Any], spec: tuple[tuple[str, int | None], ...],
                rows: list[tuple[str, Cells]]) -> list[int] | None:
        """Every column's width, decided here rather than by the table, so that cells
        updated in place are never cut ("████████ 131") and the FIT column (the alert in
        words) takes what the others leave of the table's width. A column sized by its
        content (None) is as wide as its widest cell. The feed's last column (the raised
        time) is left off when it would squeeze the alert under ALERT_WIDE_CELLS. None:
        the FIT column's width changed, the rows are to be built again for it."""
        widths = []
        for index, (label, width) in enumerate(spec):
            if width is None:
                width = max([cell_len(label), *(cell_len(cells[index][0]) for _, cells in rows)])
            widths.append(width)
        at = next(i for i, (_, width) in enumerate(spec) if width == FIT)
        available = table.scrollable_content_region.width if table.size.width else 0
        pad = table.cell_padding
        if not available:
            widths[at] = self._fit[table.id or ""]
            return widths
        if table is self._feed and fitted(available, widths, at, pad) < ALERT_WIDE_CELLS:
            widths.pop()
        widths[at] = fitted(available, widths, at, pad)
        if widths[at] != self._fit[table.id or ""]:
            self._fit[table.id or ""] = widths[at]
            return None
        return widths

    def on_resize(self) -> None:
        self.call_after_refresh(self.redraw)

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        if message.data_table is self._feed:
            self.mark_seen()

    def _fill(self, table: DataTable[Any], rows: list[tuple[str, Cells]],
              lazy_columns: frozenset[int] = frozenset(), follow: bool = False,
              columns: tuple[tuple[tuple[str, int | None], ...], list[int]] | None = None) -> None:
        """Update `table` to `rows`: changed cells only while the order (and the columns)
        hold, else rebuilt with the cursor kept on the same row key (an alert arriving
        above the selection must not move it), or on the top row when it `follow`s the
        newest. Meters change every second on every seat: `lazy_columns` are updated on
        the rows in view only; the others catch up when scrolled into view. `columns`:
        (labels, widths), the table's columns are rebuilt when they differ."""
        name = table.id or ""
        drawn = self._drawn.get(name, [])
        keys = [key for key, _ in rows]
        top = int(table.scroll_y)
        in_view = range(top - 2, top + table.size.height + 2)
        self._drawn_scroll[name] = top
        rebuild_columns = columns is not None and columns[1] != self._widths.get(name)
        if not rebuild_columns and keys == [key for key, _ in drawn]:
            column_keys = list(table.columns)
            shown: list[tuple[str, Cells]] = []
            for row, ((key, cells), (_, old)) in enumerate(zip(rows, drawn, strict=True)):
                if cells == old:
                    shown.append((key, old))
                    continue
                eager = row in in_view
                kept = []
                for index, (new, was) in enumerate(zip(cells, old, strict=True)):
                    if new != was and (eager or index not in lazy_columns):
                        table.update_cell(key, column_keys[index], Text(new[0], style=new[1]))
                        kept.append(new)
                    else:
                        kept.append(was)
                shown.append((key, tuple(kept)))
            self._drawn[name] = shown
            return
        selected = drawn[table.cursor_row][0] if 0 <= table.cursor_row < len(drawn) else None
        row = table.cursor_row
        table.clear(columns=rebuild_columns)
        if rebuild_columns and columns is not None:
            for (label, _), width in zip(columns[0], columns[1], strict=True):
                table.add_column(label, width=width)
            self._widths[name] = list(columns[1])
        for key, cells in rows:
            table.add_row(*as_text(cells), key=key)
        if keys:
            row = 0 if follow else keys.index(selected) if selected in keys else min(row, len(keys) - 1)
            table.move_cursor(row=row)
        self._drawn[name] = rows

    # --- actions -------------------------------------------------------------------------
    def selected_alert(self) -> AlertGroup | None:
        feed = self.query_one("#feed", DataTable)
        if not self._alert_keys or feed.cursor_row < 0:
            return None
        return self._alert_keys[min(feed.cursor_row, len(self._alert_keys) - 1)]

    def _act(self, action: str, group: AlertGroup | None = None) -> None:
        group = group or self.selected_alert()
        if group is None:
            return
        if self.read_only:
            self.notify("read-only console: acknowledgements are disabled", severity="warning")
            return
        site, seat = group.key[0], group.key[1]
        body = payloads.ack(group.last.id, seat=seat, action=action, by=self.user)
        body["ts"] = utc_now_iso(self.clock())    # the console's clock: the time-to-ack
        # Stored and applied here at once; the broker's echo is a duplicate, dropped.
        self.apply_batch([(topics.acks_topic(site), payloads.encode(body), self.clock())])
        if self.ingest is not None and not self.ingest.publish(topics.acks_topic(site), body):
            self.notify("broker unreachable: acknowledgement shown here only", severity="warning")
        self.tick()

    def action_ack(self) -> None:
        self._act("ack")

    def action_resolve(self) -> None:
        self._act("resolve")

    def act_on(self, group: AlertGroup, action: str) -> None:
        """Acknowledge or resolve `group` (from its detail screen)."""
        self._act(action, group)

    def open_seat(self, site: str, seat: str) -> None:
        self.push_screen(SeatScreen(self.state, (site, seat), self.clock, self.model_lock))

    def action_open(self) -> None:
        """Enter: the seat's detail on the floor, the alert's detail in the feed."""
        floor = self._floor
        if self.focused is floor and self._seat_keys:
            self.open_seat(*self._seat_keys[min(floor.cursor_row, len(self._seat_keys) - 1)])
        elif self.focused is self._feed:
            group = self.selected_alert()
            if group is not None:
                self.push_screen(AlertScreen(group, self.state, self.clock, self.model_lock,
                                             read_only=self.read_only))

    action_open_seat = action_open

    def action_newest(self) -> None:
        """Select the newest alert (the feed's top row)."""
        self._feed.focus()
        if self._feed.row_count:
            self._feed.move_cursor(row=0)
        self.mark_seen()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        self.action_open()

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

    FLOOR_ACTIONS = frozenset({"ack", "resolve", "open", "open_seat", "newest", "cycle_sort",
                               "cycle_filter", "reports", "cycle_team", "cycle_show"})

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
