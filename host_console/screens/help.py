"""Help: what the console shows and its keys."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# seatwatch console

**Floor** (top): one row per seat: agent, state, call time and speaking rate (during a
call only), microphone level, and its worst open alert in words with the norm it
breaks (`+2`: two more open). The seat name is coloured by that alert: cyan info,
yellow warn, red alert.

**Alerts** (bottom): newest first, repeats on one call grouped (×). *Waited*: how long
an open alert has waited for a supervisor, or how long it waited for its
acknowledgement; *Status*: open, or who acknowledged it and when (UTC). The newest
alert stays on top and selected; once you move down to another one, the title counts
the alerts that arrived above it (`n` jumps to the newest).

| key | action |
|---|---|
| `tab` | switch between floor and alerts |
| `enter` | floor: seat detail; alerts: the alert's evidence, age and acknowledgement |
| `n` | newest alert |
| `a` / `r` | acknowledge / resolve the selected alert (shared with every console) |
| `s` / `f` | sort seats: seat, severity, state / alert severity filter |
| `g` / `v` | floor: one team at a time / all, attention, in a call, idle, offline |
| `p` | reports (`1` hour, `8` shift, `d` day, `w` week, `x` CSV) |
| `t` | light / dark theme |
| `ctrl+p` | command palette |
| `q` | quit |

No audio and no transcript ever reaches this console: only labels, levels and timings.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):       # scrolls (arrows) on a small terminal
            yield Markdown(HELP, id="help")
