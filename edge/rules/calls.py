"""The call state machine and the rules that need only call-control signals.

idle --ring--> ringing --off_hook--> in_call --on_hook--> idle
(an off-hook without rings is an outbound or directly answered call: 0 rings)

N1 answer_late (rings before off-hook), N10 call_too_long (off-hook duration), N12
agent_hung_up_first (on-hook while the far end is still there), the help button
(assist_requested), and call_started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from seatwatch.edge.policy import Policy
from seatwatch.edge.rules.base import Frame, Report, Rule
from seatwatch.edge.sources.base import PIPELINE_RATE, ControlEvent

RING_GAP_S = 6.0   # a ring train with a longer pause than this is a new call attempt


@dataclass
class CallFacts:
    call_id: str
    off_hook: int | None = None         # sample of off-hook
    rings: int = 0
    far_end_gone: int | None = None     # sample of the far-end hang-up (signal or busy tone)
    on_hook: int | None = None


class CallRules:
    def __init__(self, report: Report, policy: Policy, *, judge_hangup: bool = True) -> None:
        self.report, self.policy = report, policy
        self.judge_hangup = judge_hangup    # False when the hook signals are not real
        self.state = "idle"                 # idle | ringing | in_call | hold
        self.rings = 0
        self._last_ring: int | None = None
        self.facts: CallFacts | None = None
        self.ended: CallFacts | None = None  # the call being closed, until its scorecard is out
        self._long_reported = False
        self._count = 0
        self.listeners: list[Rule] = []     # rules told when the caller hangs up (far_end_gone)

    @property
    def in_call(self) -> bool:
        return self.state in ("in_call", "hold")

    def control(self, event: ControlEvent) -> bool:
        """Apply a control signal; True when it started a call."""
        kind, sample = event.kind, event.sample
        if kind == "ring" and not self.in_call:
            gap = (sample - self._last_ring) / PIPELINE_RATE if self._last_ring is not None else 0
            if self.state != "ringing" or gap > RING_GAP_S:
                self.rings = 0
            self.state, self.rings, self._last_ring = "ringing", self.rings + 1, sample
        elif kind == "off_hook" and not self.in_call:
            self._start(sample)
            return True
        elif kind == "far_end_hangup" and self.facts is not None:
            self.far_end_gone(sample, "signal")
        elif kind == "on_hook" and self.facts is not None:
            self._end(sample)
        elif kind == "button":
            self.report("assist_requested", sample, {})
        return False

    def far_end_gone(self, sample: int, signal: str) -> None:
        if self.facts is not None and self.facts.far_end_gone is None:
            self.facts.far_end_gone = sample
            for rule in self.listeners:
                rule.far_end_gone(sample)

    def _start(self, sample: int) -> None:
        self._count += 1
        rings = self.rings if self.state == "ringing" else 0
        self.facts = CallFacts(f"c{sample // PIPELINE_RATE}-{self._count}", sample, rings)
        self.state, self.rings, self._last_ring = "in_call", 0, None
        self._long_reported = False
        self.report("call_started", sample, {"rings": rings})
        answer = self.policy.answer
        if answer.enabled and rings > answer.max_rings:
            self.report("answer_late", sample, {"rings": rings, "max_rings": answer.max_rings})

    def frame(self, f: Frame) -> None:
        facts = self.facts
        if facts is None or facts.off_hook is None:
            return
        limit = self.policy.call_length
        duration = (f.sample - facts.off_hook) / PIPELINE_RATE
        if limit.enabled and not self._long_reported and duration >= limit.soft_limit_s:
            self._long_reported = True
            self.report("call_too_long", f.sample, {"duration_s": round(duration, 1),
                                                    "limit_s": limit.soft_limit_s})

    def _end(self, sample: int) -> None:
        facts = self.facts
        assert facts is not None
        facts.on_hook = sample
        if self.judge_hangup and self.policy.hangup.enabled and facts.far_end_gone is None:
            self.report("agent_hung_up_first", sample, {"signal": "none_before_on_hook"})
        self.ended, self.facts, self.state = facts, None, "idle"

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        facts = self.ended
        if facts is None or facts.off_hook is None:
            return
        scorecard["duration_s"] = round((sample - facts.off_hook) / PIPELINE_RATE, 2)
        scorecard["rings"] = facts.rings
        scorecard["hung_up_first"] = ("caller" if facts.far_end_gone is not None
                                      else "agent" if self.judge_hangup else None)

    def forget_ended(self) -> None:
        self.ended = None
