"""Seat detail: level and rate sparklines, the current call's timeline, scorecards,
hearing dose and device information."""

from __future__ import annotations

import time
from collections.abc import Callable
from threading import RLock
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Sparkline, Static

from seatwatch.console import labels
from seatwatch.console.screens.alert import SEVERITY_STYLE, span
from seatwatch.console.state import FloorState, SeatView

DOSE_ACTION_PCT = 50.0      # EU 2003/10/EC lower action value (80 dB(A) over 8 h) = half the dose
DOSE_LIMIT_PCT = 100.0      # NIOSH REL: 85 dB(A) over 8 h
GAUGE_CELLS = 30


def ago(seconds: float) -> str:
    if seconds < 0:
        return "just now"
    if seconds < 90:
        return f"{seconds:.0f} s ago"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def number(value: float | int | None, unit: str = "", digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


# Everything here is built as rich Text, never markup: names, LED patterns and scorecard
# fields come from the wire, and "[/" in one of them would break a markup string.
def heading(title: str) -> Text:
    return Text(title, style="bold")


def summary(view: SeatView) -> Text:
    # The call, its timer and its rate only while there is a call.
    in_call = view.in_call
    call = f"  call {view.call}" if in_call and view.call is not None else ""
    t = (f"  {int(view.t_call) // 60:02d}:{int(view.t_call) % 60:02d}"
         if in_call and view.t_call is not None else "")
    rate = f"  rate {number(view.rate_cpm, ' cpm')}" if in_call else ""
    return Text.assemble(heading(f"Seat {view.seat}"),
                         f"  agent {view.agent or '-'}  team {view.team or '-'}  state {view.state}"
                         f"{call}{t}{rate}  level {number(view.mic_dbfs, ' dBFS')}")


def open_alerts(view: SeatView, now: float, shown: int = 6) -> Text:
    """The seat's open and acknowledged alerts, the worst first, with their evidence."""
    acked = sorted((g for g in view.open_alerts.values() if g.status != "open"),
                   key=lambda g: g.last.id, reverse=True)
    ordered = view.open_groups + acked
    out = Text.assemble(heading("Open alerts"))
    if not ordered:
        out.append("\n  none")
    for group in ordered[:shown]:
        event = group.last
        state = (f"waiting {span(group.waited_s(now))}" if group.status == "open" else
                 f"{group.status} by {group.by or '?'} after {span(group.time_to_ack_s or 0.0)}")
        count = f" ×{group.count}" if group.count > 1 else ""
        out.append("\n  ")
        out.append(labels.label(event.type, event.data) + count,
                   style=SEVERITY_STYLE.get(event.severity, ""))
        out.append(f"  {state}")
        line = labels.evidence_line(event.type, event.data, limit=150)
        if line:
            out.append(f"\n      {line}", style="dim")
    if len(ordered) > shown:
        out.append(f"\n  … {len(ordered) - shown} more in the alert feed")
    return out


def dose_gauge(view: SeatView, cells: int = GAUGE_CELLS) -> Text:
    """Today's noise dose against the daily limit; the scale runs to 150 % so an overdose shows."""
    if view.dose_pct is None:
        return Text.assemble(heading("Hearing dose today"), "  no data")
    dose = max(0.0, float(view.dose_pct))
    filled = round(min(dose, 150.0) / 150.0 * cells)
    colour = "red" if dose >= DOSE_LIMIT_PCT else "yellow" if dose >= DOSE_ACTION_PCT else "green"
    mark = round(DOSE_LIMIT_PCT / 150.0 * cells)
    bar = "".join("█" if i < filled else ("│" if i == mark else "░") for i in range(cells))
    return Text.assemble(heading("Hearing dose today"), "  ", (bar, colour),
                         f" {dose:.0f} % of the daily limit  (earpiece {number(view.ear_dba, ' dB(A)')})")


def device_info(view: SeatView, now: float) -> Text:
    seen = "never" if not view.last_seen else ago(now - view.last_seen)
    link_colour = {"ok": "green", "degraded": "yellow", "down": "red"}.get(view.link or "", "")
    return Text.assemble(
        heading("Device"), f"  {view.device or '-'}  firmware {view.firmware or '-'}  "
        f"edge {view.edge or '-'}\nlink ", (view.link or "-", link_colour),
        f"  last seen {seen}  outbox {number(view.queue_depth)}  "
        f"dropped {number(view.events_dropped)}  model {number(view.model_ms, ' ms', 1)}  "
        f"cpu {number(view.cpu_pct, ' %')}  LED {view.led or '-'}")


def timeline(view: SeatView) -> Text:
    """Milestones on one line each; an event's label, and its evidence on the next."""
    lines = []
    for t, what, detail in view.timeline:
        at = "       " if t is None else f"{int(t) // 60:02d}:{t % 60:04.1f}"
        if what in labels.KINDS:
            lines.append(f"  {at}  {labels.label(what)}")
            if detail:
                lines.append(f"           {detail}")
        else:
            lines.append(f"  {at}  {what:<12} {detail}".rstrip())
    title = "Current call" if view.call else "Last call"
    return Text.assemble(heading(title), "\n", "\n".join(lines) or "  no call yet")


def scorecards(view: SeatView, shown: int = 5) -> Text:
    lines = []
    for card in list(view.scorecards)[-shown:][::-1]:
        given: Any = card.get("violations")
        violations = (", ".join(f"{labels.label(str(k))}×{v}" for k, v in given.items())
                      if isinstance(given, dict) and given else "none")
        lines.append(f"  {str(card.get('ts', ''))[:19]}  score {card.get('score', '-')}  "
                     f"{card.get('duration_s', '-')} s  violations: {violations}")
    return Text.assemble(heading("Recent scorecards"), "\n", "\n".join(lines) or "  none yet")


def describe(view: SeatView, now: float | None = None) -> Text:
    """The whole detail as one text (for logs and tests)."""
    now = time.time() if now is None else now
    return Text("\n\n").join([summary(view), open_alerts(view, now), dose_gauge(view),
                               device_info(view, now), timeline(view), scorecards(view)])


class SeatScreen(Screen[None]):
    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back")]

    def __init__(self, state: FloorState, key: tuple[str, str],
                 clock: Callable[[], float] = time.time, lock: RLock | None = None) -> None:
        super().__init__()
        self.state, self.key, self.clock = state, key, clock
        self.model_lock = lock or RLock()       # the app's: the ingest thread writes the model

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Static(id="info")
            yield Static(id="alerts")
            yield Label("Microphone level (dBFS), last minutes")
            yield Sparkline([], id="level")
            yield Label("Speaking rate (characters per minute)")
            yield Sparkline([], id="rate")
            yield Static(id="dose")
            yield Static(id="device")
            with Horizontal(id="call-panes"):
                with Vertical():
                    yield Static(id="timeline")
                with Vertical():
                    yield Static(id="cards")
        yield Footer()

    def on_mount(self) -> None:
        # Kept, not queried on each tick: a tick can fire while the screen is closing.
        self._sparks = self.query_one("#level", Sparkline), self.query_one("#rate", Sparkline)
        self._texts = {name: self.query_one(f"#{name}", Static)
                       for name in ("info", "alerts", "dose", "device", "timeline", "cards")}
        self.set_interval(1.0, self.refresh_view)
        self.refresh_view()

    def refresh_view(self) -> None:
        with self.model_lock:
            view = self.state.seats.get(self.key)
            if view is None:
                return
            levels = [v + 60 for v in view.level_history]
            rates = list(view.rate_history)
            now = self.clock()
            texts = {"info": summary(view), "alerts": open_alerts(view, now), "dose": dose_gauge(view),
                     "device": device_info(view, now), "timeline": timeline(view),
                     "cards": scorecards(view)}
        level, rate = self._sparks
        level.data, rate.data = levels, rates
        for name, text in texts.items():
            self._texts[name].update(text)
