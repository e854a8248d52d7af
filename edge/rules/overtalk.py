"""N8 不得打断客户的话: the agent starts talking while the caller is talking.

Only overlaps the agent started count (the caller talking over the agent is not the
agent's fault); an overlap counts once it lasts `min_overlap_s`. Nothing counts once the
caller has hung up (an agent's 喂? over the busy tone is no interruption).
"""

from __future__ import annotations

from typing import Any

from edge.policy import Overtalk
from edge.rules.base import Frame, Report, Rule
from edge.sources.base import PIPELINE_RATE


class OvertalkRule(Rule):
    def __init__(self, report: Report, policy: Overtalk) -> None:
        super().__init__(report)
        self.policy = policy
        self._mic = self._ear = False
        self._agent_cut_in: int | None = None   # sample where the agent started over the caller
        self._reported = False
        self.count = 0
        self.caller_started = 0                 # overlaps the caller started (not violations)

    def call_started(self, sample: int) -> None:
        self._mic = self._ear = False
        self._agent_cut_in, self._reported, self.count, self.caller_started = None, False, 0, 0
        self._gone = False

    def far_end_gone(self, sample: int) -> None:
        self._gone = True           # the earpiece now holds a busy tone, not a caller

    def frame(self, f: Frame) -> None:
        if self._gone:
            return
        if f.mic_speech and not self._mic:          # agent onset
            if f.ear_speech and self._ear:
                self._agent_cut_in, self._reported = f.sample, False
        if f.ear_speech and not self._ear and f.mic_speech and self._mic:
            self.caller_started += 1                # caller onset over the agent
        if not (f.mic_speech and f.ear_speech):
            self._agent_cut_in = None
        elif self._agent_cut_in is not None and not self._reported:
            overlap = (f.sample - self._agent_cut_in) / PIPELINE_RATE
            if overlap >= self.policy.min_overlap_s:
                self._reported = True
                self.count += 1
                if self.policy.enabled:
                    self.report("overtalk", f.sample, {
                        "overlap_s": round(overlap, 2), "started_by": "agent",
                        "limit_s": self.policy.min_overlap_s})
        self._mic, self._ear = f.mic_speech, f.ear_speech

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        scorecard["overtalk_count"] = self.count
        scorecard["caller_overtalk_count"] = self.caller_started
