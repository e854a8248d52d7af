"""Alert detail: what the alert says in words, the evidence it carries, how long it has
waited, who acknowledged it and when."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from threading import RLock
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from seatwatch.console import labels
from seatwatch.console.reports import NORM_TITLE
from seatwatch.console.state import AlertGroup, FloorState

if TYPE_CHECKING:
    from seatwatch.console.app import ConsoleApp

SEVERITY_STYLE = {"info": "cyan", "warn": "yellow", "alert": "bold red"}


def waited(seconds: float) -> str:
    """A waiting time in at most 5 cells: 45s, 2m05, 1h20, 3d."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds) // 60}m{int(seconds) % 60:02d}"
    if seconds < 86400:
        return f"{int(seconds) // 3600}h{int(seconds) % 3600 // 60:02d}"
    return f"{int(seconds) // 86400}d"


def span(seconds: float) -> str:
    """A waiting time in words: 45 s, 2 min 05 s, 1 h 20 min."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds) // 60} min {int(seconds) % 60:02d} s"
    return f"{int(seconds) // 3600} h {int(seconds) % 3600 // 60:02d} min"


def clock_utc(epoch: float) -> str:
    """HH:MM:SS UTC, as the feed shows event times."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%H:%M:%S")
    except (OverflowError, OSError, ValueError):
        return "--:--:--"


def in_call(t_call: float | None) -> str:
    return "" if t_call is None else f", {labels.in_call(t_call)} into the call"


def describe(group: AlertGroup, now: float, agent: str | None = None) -> Text:
    """The whole detail as one text (rich Text, never markup: every value is from the wire)."""
    event = group.last
    kind = labels.KINDS.get(event.type)
    norm = labels.norm_of(event.type)
    out = Text()
    out.append(labels.label(event.type, event.data), style="bold")
    out.append(f"   {event.severity}", style=SEVERITY_STYLE.get(event.severity, ""))
    if norm in NORM_TITLE:
        out.append(f"\nnorm {norm}: {NORM_TITLE[norm]}", style="dim")
    out.append(f"\n\nseat {event.seat}   agent {agent or '-'}   call {event.call or '-'}   "
               f"site {event.site}")
    out.append(f"\nraised {clock_utc(group.opened_at)} UTC{in_call(event.t_call)}")
    if group.count > 1:
        out.append(f"   ×{group.count} on this call (first at {group.first.ts[11:19]} UTC)")
    out.append("\n")
    if group.status == "open":
        out.append(f"waiting for a supervisor for {span(group.waited_s(now))}", style="bold")
    elif group.acked_at is not None:
        first = group.status == "resolved" and group.resolved_at == group.acked_at
        out.append(f"{'resolved' if first else 'acknowledged'} by {group.by or '?'} at "
                   f"{clock_utc(group.acked_at)} UTC, {span(group.time_to_ack_s or 0.0)} "
                   f"after it was raised")
        if group.status == "resolved" and not first and group.resolved_at is not None:
            out.append(f"\nresolved by {group.resolved_by or '?'} at "
                       f"{clock_utc(group.resolved_at)} UTC")
    if kind is not None and kind.act:
        out.append("\n\nWhat to do: ", style="bold")
        out.append(kind.act)
    evidence = labels.evidence(event.type, event.data)
    out.append("\n\nEvidence", style="bold")
    if not evidence:
        out.append("\n  none carried")
    width = max((len(name) for name, _ in evidence), default=0)
    for name, value in evidence:
        out.append(f"\n  {name:<{width}}  ")
        out.append(value)
    return out


class AlertScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,backspace,q", "dismiss", "Back"),
        Binding("a", "ack", "Ack"),
        Binding("r", "resolve", "Resolve"),
        Binding("enter,s", "seat", "Seat detail"),
    ]

    def __init__(self, group: AlertGroup, state: FloorState,
                 clock: Callable[[], float] = time.time, lock: RLock | None = None, *,
                 read_only: bool = False) -> None:
        super().__init__()
        self.group, self.state, self.clock = group, state, clock
        self.model_lock = lock or RLock()       # the app's: the ingest thread writes the model
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="alert-box"):
            yield Static(id="alert-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#alert-box").border_title = "Alert"
        self._detail = self.query_one("#alert-detail", Static)
        self.set_interval(1.0, self.refresh_view)
        self.refresh_view()

    def refresh_view(self) -> None:
        with self.model_lock:
            view = self.state.seats.get((self.group.key[0], self.group.key[1]))
            text = describe(self.group, self.clock(), view.agent if view else None)
        self._detail.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("ack", "resolve") and self.read_only:
            return None                         # shown disabled: a wall display
        return True

    def _floor_app(self) -> ConsoleApp:
        from seatwatch.console.app import ConsoleApp
        assert isinstance(self.app, ConsoleApp)
        return self.app

    def action_ack(self) -> None:
        self._floor_app().act_on(self.group, "ack")
        self.refresh_view()

    def action_resolve(self) -> None:
        self._floor_app().act_on(self.group, "resolve")
        self.dismiss()

    def action_seat(self) -> None:
        site, seat = self.group.key[0], self.group.key[1]
        self.dismiss()
        self._floor_app().open_seat(site, seat)
