"""Help: what the console shows and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# seatwatch console

**Floor** (top): one row per seat: agent, state (idle, ringing, in call, on hold,
offline), call time, speaking rate and microphone level meters, open alerts. The seat
name is coloured by its worst open alert: cyan info, yellow warn, red alert.

**Alerts** (bottom): newest first; repeats of one kind on one call are grouped (×).

| key | action |
|---|---|
| `tab` | switch between floor and alerts |
| `enter` | seat detail |
| `a` / `r` | acknowledge / resolve the selected alert (shared with every console) |
| `s` | sort: seat, severity, state |
| `f` | alert feed severity filter: info, warn, alert |
| `g` | floor: one team at a time, then all |
| `v` | floor: all seats, needing attention, in a call, idle, offline |
| `p` | reports: per agent and per norm (`1` hour, `8` shift, `d` day, `w` week, `x` CSV) |
| `t` | light / dark theme |
| `ctrl+p` | command palette |
| `q` | quit |

No audio and no transcript ever reaches this console: only labels, levels and timings.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Markdown(HELP, id="help")
