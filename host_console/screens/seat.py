"""Seat detail: level and rate sparklines, the current call's timeline, scorecards,
hearing dose and device information."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, Sparkline, Static

from host_console.state import FloorState, SeatView


def describe(view: SeatView) -> str:
    lines = [f"[b]Seat {view.seat}[/b]  agent {view.agent or '-'}  team {view.team or '-'}  "
             f"state {view.state}",
             f"device {view.device or '-'}  firmware {view.firmware or '-'}  "
             f"edge {view.edge or '-'}  link {view.link or '-'}  queue {view.queue_depth}",
             f"hearing dose today: {'-' if view.dose_pct is None else f'{view.dose_pct:.0f} %'}"
             f"  earpiece {'-' if view.ear_dba is None else f'{view.ear_dba:.0f} dB(A)'}",
             f"LED shown to the agent: {view.led or '-'}", "", "[b]Current call[/b]"]
    lines += [f"  {'' if t is None else f'{t:6.1f} s'}  {kind}" for t, kind in view.timeline]
    lines += ["", "[b]Recent scorecards[/b]"]
    for card in list(view.scorecards)[-5:][::-1]:
        violations = ", ".join(f"{k}×{v}" for k, v in card.get("violations", {}).items()) or "none"
        lines.append(f"  {card.get('ts', '')[:19]}  score {card.get('score', '-')}  "
                     f"{card.get('duration_s', '-')} s  violations: {violations}")
    return "\n".join(lines)


class SeatScreen(Screen[None]):
    BINDINGS = [Binding("escape,backspace", "app.pop_screen", "Back")]

    def __init__(self, state: FloorState, key: tuple[str, str]) -> None:
        super().__init__()
        self.state, self.key = state, key

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="detail"):
            yield Label("Microphone level (dBFS), last minutes")
            yield Sparkline([], id="level")
            yield Label("Speaking rate (characters per minute)")
            yield Sparkline([], id="rate")
            yield Static(id="info")
        yield Footer()

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh_view)
        self.refresh_view()

    def refresh_view(self) -> None:
        view = self.state.seats.get(self.key)
        if view is None:
            return
        self.query_one("#level", Sparkline).data = [v + 60 for v in view.level_history]
        self.query_one("#rate", Sparkline).data = list(view.rate_history)
        self.query_one("#info", Static).update(describe(view))
