"""What every rule sees: one 10 ms frame of derived signals, and the call's lifecycle.

Also the one notion of a *turn* the rules share (greeting, closing, holds, dead air),
so that they agree on who spoke last: `AgentTurns`, fed the VAD flags frame by frame.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

# report(type, sample, data) -> None: raise an event at that sample-clock time
Report = Callable[[str, int, dict[str, Any]], None]

TURN_GAP_S = 1.0            # agent pauses shorter than this stay inside one turn
CALLER_BREAK_S = 0.3        # caller speech this long between two agent runs separates turns


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


def seconds(samples: int | float) -> float:
    """Sample-clock samples as seconds, rounded for event data."""
    return round(samples / PIPELINE_RATE, 2)


class AgentTurns:
    """The agent's turns, from the per-frame VAD flags.

    A turn is agent speech whose pauses are shorter than TURN_GAP_S (and not filled by
    CALLER_BREAK_S of caller speech); it counts once it holds `min_speech_s` of speech,
    so a cough or a lone 嗯 is no turn. `caller_frames` counts the caller's speech since
    the end of the agent's last turn: who has the floor. A rule owns one and feeds it
    every frame (a few comparisons per frame).
    """

    def __init__(self, min_speech_s: float = 0.5, keep: int = 12) -> None:
        self.min_frames = max(1, round(min_speech_s * PIPELINE_RATE / FRAME_SAMPLES))
        self._gap = round(TURN_GAP_S * PIPELINE_RATE)
        self._break = round(CALLER_BREAK_S * PIPELINE_RATE / FRAME_SAMPLES)
        self.turns: deque[list[int]] = deque(maxlen=keep)  # [start, end] of counted turns
        self.count = 0                      # turns counted in the call
        self.reset()

    def reset(self) -> None:
        self.turns.clear()
        self.count = 0
        self.speaking = False               # agent VAD on in the last frame
        self.in_turn = False                # ... and that speech belongs to a counted turn
        self.last_speech: int | None = None  # sample of the agent's last speech frame
        self.caller_frames = 0              # caller speech frames since the last turn's end
        self._caller_gap = 0                # caller speech frames since the last agent frame
        self._start = 0                     # current run of turns: first speech sample
        self._frames = 0                    # ... and its speech frames

    @property
    def last_end(self) -> int | None:
        """Sample of the end of the agent's last counted turn (or now, while in one)."""
        return self.turns[-1][1] if self.turns else None

    def update(self, f: Frame) -> None:
        if f.mic_speech:
            if (self.last_speech is None or f.sample - self.last_speech > self._gap
                    or self._caller_gap >= self._break):
                self._start, self._frames = f.sample - FRAME_SAMPLES, 0
                self.in_turn = False
            self._frames += 1
            self.last_speech, self._caller_gap = f.sample, 0
            if self.in_turn:
                self.turns[-1][1] = f.sample
            elif self._frames >= self.min_frames:
                self.in_turn = True
                self.count += 1
                self.turns.append([self._start, f.sample])
            if self.in_turn:
                self.caller_frames = 0
        elif f.ear_speech:
            self._caller_gap += 1
            self.caller_frames += 1
        self.speaking = f.mic_speech

    def caller_s(self) -> float:
        return self.caller_frames * FRAME_SAMPLES / PIPELINE_RATE


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

    def far_end_gone(self, sample: int) -> None:
        """The caller hung up at `sample` (signal or busy tone; may be a little in the past)."""

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        """Add this rule's figures to the call's scorecard."""
