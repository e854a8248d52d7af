"""N7 hold check-ins: 需客户等待时应提前讲明原委; 每15秒需向客户回应; 查询超过30秒应提示对方.

Who waits is read from the line, not from a hold button:

- the agent *announces* a hold with a start keyword (请稍等): the caller waits, even if
  they answer 好的; the hold ends when the caller talks for `caller_resumes_s`, or when
  the agent comes back (a turn of AGENT_RESUMES_S without a hold keyword);
- without a keyword, whenever the agent spoke last (a turn, see AgentTurns) and the
  caller has not taken the floor (`caller_turn_s` of speech since), the caller is
  waiting on the agent too; if that silence outlasts the check-in interval, it was a
  hold the agent did not announce (a *detected* hold).

A check-in is the agent speaking to the caller: a turn of `checkin_min_speech_s` of
speech (a keyword alone is not one). While the caller waits, the agent's LED is lit
`reminder_lead_s` before a check-in is due; a wait longer than `checkin_interval_s` +
`checkin_tolerance_s` without one raises `hold_checkin_missed` once for that wait (the
scorecard keeps the longest wait). An announced hold that lasts `notice_by_s` without a
further hold keyword (我正在为您查询，请稍等) raises it with reason `not_announced`,
unless a check-in was already missed in it.

Music on hold on the earpiece (the pipeline's music detector, `music`) is no caller
speech, and while it plays the caller waits on the agent whoever spoke last: if the
caller had the floor, the wait is timed from the start of the music.

The dead-air rule (N9) never counts a silence during which the caller waits
(`waiting`): one silence is one event, judged by N7 here or by N9 there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seatwatch.edge.policy import Hold
from seatwatch.edge.rules.base import AgentTurns, Frame, Heard, Report, Rule, seconds
from seatwatch.edge.rules.keywords import DETECTION_GRACE_S
from seatwatch.edge.sources.base import PIPELINE_RATE

AGENT_RESUMES_S = 1.0        # an agent turn this long without a hold keyword ends a hold


class HoldRule(Rule):
    def __init__(self, report: Report, policy: Hold, remind: Callable[[int], None]) -> None:
        super().__init__(report)
        self.policy, self._remind = policy, remind
        self.turns = AgentTurns(policy.checkin_min_speech_s)
        self._grace = int(DETECTION_GRACE_S * PIPELINE_RATE)
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self.turns.reset()
        self.active = False          # a hold: announced, or detected from a long wait
        self.announced = False       # ... started by a start keyword
        self.waiting = False         # the caller waits on the agent (a hold, or the agent spoke last)
        self.holds, self.missed, self.longest_s, self.longest_wait_s = 0, 0, 0.0, 0.0
        self._off_hook = sample
        self._gone: int | None = None
        self._reported_for: int | None = None    # the wait (its start) already reported
        self._reminded_for: int | None = None    # ... already reminded
        self._pending: tuple[int, int] | None = None     # (turn start, decide at)
        self._was_speaking = False
        self.music_playing = False   # music on hold on the earpiece (the pipeline says)
        self._music_from = sample
        self._start_hold(sample, announced=False)
        self.active = False
        self._announcing: int | None = None

    def _start_hold(self, sample: int, *, announced: bool) -> None:
        self.active, self.announced = True, announced
        self._since = sample
        self._last_hold_word = sample if announced else -1
        self._renewed = self._missed_here = self._notice_done = False
        # the agent's turn that announced the hold: the hold is timed from its end
        turns = self.turns.turns
        self._announcing = turns[-1][0] if announced and turns else None

    def keyword(self, heard: Heard) -> None:
        p = self.policy
        if self._gone is not None:
            return
        if heard.label in p.start_keywords and not (self.active and self.announced):
            if self.active:                      # a detected hold, now announced
                self.announced = True
            else:
                self.holds += 1
                self._start_hold(heard.sample, announced=True)
        if self.active and heard.label in (*p.start_keywords, *p.checkin_keywords):
            if heard.sample > self._since + self._grace:
                self._renewed = True             # announced again (notice_by_s)
            self._last_hold_word = max(self._last_hold_word, heard.sample)

    def music(self, sample: int, playing: bool) -> None:
        """Music on hold started (or stopped) on the earpiece at `sample`."""
        if playing and not self.music_playing:
            self._music_from = sample
        self.music_playing = playing

    def far_end_gone(self, sample: int) -> None:
        if self._gone is None:
            self._gone = sample
            if self.active:
                self._end(sample)
            self.waiting = False

    def frame(self, f: Frame) -> None:
        if not f.in_call or self._gone is not None:
            return
        p, turns = self.policy, self.turns
        turns.update(f)
        if self._was_speaking and not f.mic_speech and turns.in_turn:   # an agent turn paused
            start, end = turns.turns[-1]
            if end - start >= AGENT_RESUMES_S * PIPELINE_RATE:
                self._pending = (start, f.sample + self._grace)
        self._was_speaking = f.mic_speech
        if (self.active and f.mic_speech and turns.in_turn and self._announcing is not None
                and turns.turns[-1][0] == self._announcing):
            self._since = f.sample                   # still announcing: the hold starts after
        if self.active:
            if self._pending is not None and f.sample >= self._pending[1] and not f.mic_speech:
                start, _ = self._pending
                self._pending = None
                if self._last_hold_word < start:     # spoke, but not to ask for more patience
                    self._end(f.sample)
            need = p.caller_resumes_s if self.announced else p.caller_turn_s
            if self.active and turns.caller_s() >= need:
                self._end(f.sample)                  # the caller talks: the conversation is back
        agent_floor = turns.last_end is not None and turns.caller_s() < p.caller_turn_s
        self.waiting = self.active or agent_floor or self.music_playing
        if not self.waiting or f.mic_speech:
            return              # nobody waits, or the agent is talking (a cough resets nothing)
        since = turns.last_end if turns.last_end is not None else self._since
        if not (self.active or agent_floor):         # the caller had the floor: music on hold
            since = max(since, self._music_from)
        self._check_deadlines(f.sample, since)

    def _check_deadlines(self, sample: int, since: int) -> None:
        p = self.policy
        silent = (sample - since) / PIPELINE_RATE
        self.longest_wait_s = max(self.longest_wait_s, silent)
        if self._reminded_for != since and silent >= p.checkin_interval_s - p.reminder_lead_s:
            self._reminded_for = since
            self._remind(sample)
        if self._reported_for != since and silent >= p.checkin_interval_s + p.checkin_tolerance_s:
            self._reported_for = since
            if not self.active:                      # an unannounced hold, found by its length
                self.holds += 1
                self._start_hold(since, announced=False)
            self._missed_here = True
            self.missed += 1
            if p.enabled:
                self.report("hold_checkin_missed", sample, {
                    "reason": "no_checkin", "silent_s": round(silent, 1),
                    "interval_s": p.checkin_interval_s, "tolerance_s": p.checkin_tolerance_s,
                    "announced": self.announced, "hold_s": seconds(sample - self._since),
                    "wait_from_s": seconds(since - self._off_hook),
                    "caller_speech_s": round(self.turns.caller_s(), 1)})
        held = (sample - self._since) / PIPELINE_RATE
        if (self.active and self.announced and held >= p.notice_by_s and not self._notice_done
                and not self._renewed and not self._missed_here):
            self._notice_done = True
            self.missed += 1
            if p.enabled:
                self.report("hold_checkin_missed", sample, {
                    "reason": "not_announced", "hold_s": round(held, 1),
                    "notice_by_s": p.notice_by_s,
                    "hold_from_s": seconds(self._since - self._off_hook)})

    def _end(self, sample: int) -> None:
        self.active = self.announced = False
        self.longest_s = max(self.longest_s, (sample - self._since) / PIPELINE_RATE)

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if self.active:
            self._end(sample)
        scorecard["holds"] = self.holds
        scorecard["longest_hold_s"] = round(self.longest_s, 1)
        scorecard["longest_wait_s"] = round(self.longest_wait_s, 1)
        scorecard["hold_checkins_missed"] = self.missed
