"""N9 dead air: both sides silent outside a hold; the longest silence goes on the scorecard."""

from __future__ import annotations

from typing import Any

from edge.policy import DeadAir
from edge.rules.base import Frame, Report, Rule
from edge.sources.base import PIPELINE_RATE


class DeadAirRule(Rule):
    def __init__(self, report: Report, policy: DeadAir, vad_hangover_s: float = 0.0) -> None:
        super().__init__(report)
        self.policy = policy
        # the VAD holds "speech" this long after the last loud frame: silence began then
        self._hangover = int(vad_hangover_s * PIPELINE_RATE)
        self._silent_since: int | None = None
        self._reported = False
        self.longest_s = 0.0

    def call_started(self, sample: int) -> None:
        self._silent_since, self._reported, self.longest_s = sample, False, 0.0

    def frame(self, f: Frame) -> None:
        if not f.in_call:
            return
        if f.mic_speech or f.ear_speech or f.on_hold:
            self._close(f.sample)
            return
        if self._silent_since is None:
            self._silent_since, self._reported = f.sample - self._hangover, False
        silent_s = (f.sample - self._silent_since) / PIPELINE_RATE
        if (self.policy.enabled and not self._reported
                and silent_s >= self.policy.min_silence_s):
            self._reported = True
            self.report("dead_air", f.sample, {"silence_s": round(silent_s, 2),
                                               "limit_s": self.policy.min_silence_s})

    def _close(self, sample: int) -> None:
        if self._silent_since is not None:
            self.longest_s = max(self.longest_s, (sample - self._silent_since) / PIPELINE_RATE)
        self._silent_since = None

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        self._close(sample)
        scorecard["longest_silence_s"] = round(self.longest_s, 2)
