"""N5 语速适中: the agent's characters per minute over the last 15 s of their speech."""

from __future__ import annotations

from typing import Any

from edge.policy import SpeechRate
from edge.rules.base import RateReading, Report, Rule
from edge.sources.base import PIPELINE_RATE


class SpeechRateRule(Rule):
    def __init__(self, report: Report, policy: SpeechRate) -> None:
        super().__init__(report)
        self.policy = policy
        self._readings: list[float] = []
        self._last_event: int | None = None

    def call_started(self, sample: int) -> None:
        self._readings.clear()
        self._last_event = None

    def rate(self, reading: RateReading) -> None:
        self._readings.append(reading.cpm)
        p = self.policy
        if not p.enabled or p.low_cpm <= reading.cpm <= p.high_cpm:
            return
        if (self._last_event is not None
                and reading.sample - self._last_event < p.cooldown_s * PIPELINE_RATE):
            return
        self._last_event = reading.sample
        kind, limit = (("speech_rate_high", p.high_cpm) if reading.cpm > p.high_cpm
                       else ("speech_rate_low", p.low_cpm))
        self.report(kind, reading.sample, {"cpm": round(reading.cpm, 1), "limit_cpm": limit,
                                           "window_s": reading.window_s})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        r = self._readings
        scorecard["rate_mean_cpm"] = round(sum(r) / len(r), 1) if r else None
        scorecard["rate_max_cpm"] = round(max(r), 1) if r else None
