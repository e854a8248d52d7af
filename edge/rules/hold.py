"""N7 hold check-ins: 每15秒需向客户回应; 查询超过30秒应提示对方.

A hold starts when the agent says a start keyword (请稍等). While it lasts, any agent
speech is a check-in with the waiting caller. The agent's LED is lit `reminder_lead_s`
before a check-in falls due; a missed one raises `hold_checkin_missed`. The hold ends
when the caller talks for a while (the conversation is back), when the agent talks
without a hold keyword (they came back with the answer), or with the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.policy import Hold
from edge.rules.base import Frame, Heard, Report, Rule
from edge.rules.keywords import DETECTION_GRACE_S
from edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

CALLER_RESUMES_S = 1.0       # caller speech this long ends the hold
AGENT_RESUMES_S = 1.0        # an agent turn this long without a hold keyword ends it


class HoldRule(Rule):
    def __init__(self, report: Report, policy: Hold, remind: Callable[[int], None]) -> None:
        super().__init__(report)
        self.policy, self._remind = policy, remind
        self.active = False
        self.holds, self.missed, self.longest_s = 0, 0, 0.0
        self._reset_hold(0)

    def _reset_hold(self, sample: int) -> None:
        self._since = self._checkin = sample
        self._reminded = self._announced = self._missed_here = self._notice_done = False
        self._spurt_start: int | None = None
        self._pending: tuple[int, int] | None = None     # (spurt start, decide at)
        self._caller_run = 0
        self._last_hold_word = -1

    def call_started(self, sample: int) -> None:
        self.active = False
        self.holds, self.missed, self.longest_s = 0, 0, 0.0

    def keyword(self, heard: Heard) -> None:
        p = self.policy
        if not self.active and heard.label in p.start_keywords:
            self.active, self.holds = True, self.holds + 1
            self._reset_hold(heard.sample)
        if self.active and heard.label in (*p.start_keywords, *p.checkin_keywords):
            self._last_hold_word = heard.sample
            self._checkin = max(self._checkin, heard.sample)
            self._announced = self._announced or heard.sample > self._since

    def frame(self, f: Frame) -> None:
        if not (self.active and f.in_call):
            return
        if f.mic_speech:
            self._checkin, self._reminded = f.sample, False
            if self._spurt_start is None:
                self._spurt_start = f.sample
        elif self._spurt_start is not None:     # an agent turn just ended
            if f.sample - self._spurt_start >= AGENT_RESUMES_S * PIPELINE_RATE:
                self._pending = (self._spurt_start, f.sample + int(DETECTION_GRACE_S * PIPELINE_RATE))
            self._spurt_start = None
        if self._pending is not None and f.sample >= self._pending[1]:
            start, _ = self._pending
            self._pending = None
            if self._last_hold_word < start:    # spoke, but not to ask for more patience
                self._end(f.sample)
                return
        self._caller_run = self._caller_run + 1 if f.ear_speech else 0
        if self._caller_run * FRAME_SAMPLES >= CALLER_RESUMES_S * PIPELINE_RATE:
            self._end(f.sample)
            return
        if f.mic_speech:
            return
        self._check_deadlines(f.sample)

    def _check_deadlines(self, sample: int) -> None:
        p = self.policy
        silent = (sample - self._checkin) / PIPELINE_RATE
        if not self._reminded and silent >= p.checkin_interval_s - p.reminder_lead_s:
            self._reminded = True
            self._remind(sample)
        if silent >= p.checkin_interval_s:
            self.missed += 1
            self._missed_here = True
            if p.enabled:
                self.report("hold_checkin_missed", sample, {
                    "reason": "no_checkin", "silent_s": round(silent, 1),
                    "interval_s": p.checkin_interval_s,
                    "hold_s": round((sample - self._since) / PIPELINE_RATE, 1)})
            self._checkin, self._reminded = sample, False
        held = (sample - self._since) / PIPELINE_RATE
        if (held >= p.notice_by_s and not self._notice_done and not self._announced
                and not self._missed_here):
            self._notice_done = True
            self.missed += 1
            if p.enabled:
                self.report("hold_checkin_missed", sample, {
                    "reason": "not_announced", "hold_s": round(held, 1),
                    "notice_by_s": p.notice_by_s})

    def _end(self, sample: int) -> None:
        self.active = False
        self.longest_s = max(self.longest_s, (sample - self._since) / PIPELINE_RATE)

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if self.active:
            self._end(sample)
        scorecard["holds"] = self.holds
        scorecard["longest_hold_s"] = round(self.longest_s, 1)
        scorecard["hold_checkins_missed"] = self.missed
