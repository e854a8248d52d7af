"""N9 dead air: both sides silent while the agent owes the caller a word.

A silence is dead air when the caller spoke last (took the floor, see HoldRule) and it
lasts `min_silence_s`. The silence before anyone has spoken is the opening's, which N2
judges (greeting_missing: the agent did not greet within its deadline), so a late
greeting raises one alert, not two. A silence after the agent's own
turn is the caller waiting on the agent: N7 judges it (hold_checkin_missed), so one
silence never raises both. Nothing counts once the caller has hung up. The longest
dead-air silence goes on the scorecard.
"""

from __future__ import annotations

from typing import Any

from seatwatch.edge.policy import DeadAir
from seatwatch.edge.rules.base import Frame, Report, Rule
from seatwatch.edge.rules.hold import HoldRule
from seatwatch.edge.sources.base import PIPELINE_RATE


class DeadAirRule(Rule):
    def __init__(self, report: Report, policy: DeadAir, vad_hangover_s: float = 0.0,
                 hold: HoldRule | None = None) -> None:
        super().__init__(report)
        self.policy = policy
        # who waits on whom: the hold rule, fed the same frame first (None: Frame.on_hold)
        self._hold = hold
        # the VAD holds "speech" this long after the last loud frame: silence began then
        self._hangover = int(vad_hangover_s * PIPELINE_RATE)
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self._off_hook = sample
        self._silent_since: int | None = None    # None: no silence being judged
        self._opened = False                     # someone has spoken in this call
        self._reported, self.longest_s = False, 0.0
        self._gone = False

    def far_end_gone(self, sample: int) -> None:
        if not self._gone:
            self._close(sample)
            self._gone = True

    def frame(self, f: Frame) -> None:
        if not f.in_call or self._gone:
            return
        waiting = self._hold.waiting if self._hold is not None else f.on_hold
        if f.mic_speech or f.ear_speech or waiting:
            self._opened = self._opened or f.mic_speech or f.ear_speech
            self._close(f.sample)
            return
        if not self._opened:
            return
        if self._silent_since is None:
            self._silent_since, self._reported = max(self._off_hook, f.sample - self._hangover), False
        silent_s = (f.sample - self._silent_since) / PIPELINE_RATE
        if (self.policy.enabled and not self._reported
                and silent_s >= self.policy.min_silence_s):
            self._reported = True
            self.report("dead_air", f.sample, {
                "silence_s": round(silent_s, 2), "limit_s": self.policy.min_silence_s,
                "from_s": round((self._silent_since - self._off_hook) / PIPELINE_RATE, 2)})

    def _close(self, sample: int) -> None:
        if self._silent_since is not None:
            self.longest_s = max(self.longest_s, (sample - self._silent_since) / PIPELINE_RATE)
        self._silent_since = None

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if not self._gone:
            self._close(sample)
        scorecard["longest_silence_s"] = round(self.longest_s, 2)
