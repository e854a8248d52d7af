"""What every rule sees: one 10 ms frame of derived signals, and the call's lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

# report(type, sample, data) -> None: raise an event at that sample-clock time
Report = Callable[[str, int, dict[str, Any]], None]


class Frame(NamedTuple):      # a tuple: built 100 times a second per seat, so cheap to make
    sample: int             # sample-clock index of the frame's end (when it is known)
    mic_dbfs: float         # agent microphone RMS level
    ear_dbfs: float         # earpiece RMS level
    mic_speech: bool        # agent speaking (VAD)
    ear_speech: bool        # caller speaking (VAD)
    in_call: bool
    on_hold: bool = False


@dataclass(frozen=True)
class Heard:
    """A keyword the spotter fired on the agent channel."""
    label: str
    score: float
    sample: int             # sample-clock time the spotter fired (shortly after the word)
    confirmed: bool = True  # False: under the calibrated threshold (see Rule.hears_unconfirmed)


@dataclass(frozen=True)
class RateReading:
    """The agent's speaking rate over the last `window_s` of their speech."""
    cpm: float
    window_s: float
    sample: int


class Rule:
    """Base for rules: every hook is optional; rules call `report` to raise events."""

    hears_unconfirmed = False   # also given keywords heard over their floor only

    def __init__(self, report: Report) -> None:
        self.report = report

    def call_started(self, sample: int) -> None:
        pass

    def frame(self, f: Frame) -> None:
        pass

    def keyword(self, heard: Heard) -> None:
        pass

    def rate(self, reading: RateReading) -> None:
        pass

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        """Add this rule's figures to the call's scorecard."""
