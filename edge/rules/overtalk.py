"""N8 用户在问询或讲话时，不得打断客户的话: the agent starts talking while the caller talks.

The caller is *talking* while in a turn: speech whose pauses are shorter than
CALLER_GAP_S (a comma, a breath). The agent cuts in when they start (an agent speech
onset) while the caller is talking and has been for `min_caller_s` (so a caller's 嗯 or
对 under the agent's pause is no turn to interrupt), also when the onset falls into one
of the caller's short pauses. It is an overtalk once both have spoken together for
`min_overlap_s` since the cut-in, before either stops (the agent's onset ends with their
speech, the caller's turn with a CALLER_GAP_S pause), and both voices were at their own
level in the overlap: within `level_margin_db` of that side's active speech level in the
call (the power mean of its speech frames, known after MIN_LEVEL_S of speech). A VAD
that takes the office's babble for speech on either side hears it well under the
headset voice or the caller's line level. An overlap that happens before both levels
are known waits for them (reported then, with the overlap's time), or for the end of
the call, judged on the speech there was. Overlaps the caller starts are
counted on the scorecard, not raised. Nothing counts once the caller has hung up (an
agent's 喂? over the busy tone is no interruption).
"""

from __future__ import annotations

import math
from typing import Any

from seatwatch.edge.policy import Overtalk
from seatwatch.edge.rules.base import Frame, Report, Rule, seconds
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

CALLER_GAP_S = 0.5          # caller pauses shorter than this stay inside their turn
MIN_LEVEL_S = 2.0           # speech that makes a side's active speech level known


def _db(power: float) -> float:
    return 10 * math.log10(max(power, 1e-13))


class OvertalkRule(Rule):
    def __init__(self, report: Report, policy: Overtalk) -> None:
        super().__init__(report)
        self.policy = policy
        self._gap = int(CALLER_GAP_S * PIPELINE_RATE)
        self._min_caller = int(policy.min_caller_s * PIPELINE_RATE)
        self._min_overlap = max(1, round(policy.min_overlap_s * PIPELINE_RATE / FRAME_SAMPLES))
        self._min_level = round(MIN_LEVEL_S * PIPELINE_RATE / FRAME_SAMPLES)
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self._off_hook = sample
        self._mic = self._ear = False
        self._caller_start: int | None = None    # the caller's current turn: first speech
        self._caller_last: int | None = None     # ... and last speech frame
        self._agent_cut_in: int | None = None    # sample where the agent started over the caller
        self._both = 0                           # frames both spoke since the cut-in
        self._both_power = [0.0, 0.0]            # ... their summed power (mic, ear)
        self._speech = [[0.0, 0], [0.0, 0]]      # per side: summed power, frames of speech
        self._reported = False
        self._pending: list[tuple[int, dict[str, Any], list[float], int]] = []
        self.count = 0
        self.caller_started = 0                  # overlaps the caller started (not violations)
        self._gone = False

    def far_end_gone(self, sample: int) -> None:
        self._judge_pending(final=True)
        self._gone = True           # the earpiece now holds a busy tone, not a caller

    def _caller_talking(self, sample: int) -> bool:
        return self._caller_last is not None and sample - self._caller_last <= self._gap

    def _level_db(self, side: int, final: bool = False) -> float | None:
        power, frames = self._speech[side]
        return _db(power / frames) if frames >= (1 if final else self._min_level) else None

    def _at_own_level(self, both_power: list[float], both: int, final: bool = False) -> bool | None:
        """Both voices within the margin of their own level; None: a level is not known yet."""
        for side in (0, 1):
            level = self._level_db(side, final)
            if level is None:
                return None
            if _db(both_power[side] / both) < level - self.policy.level_margin_db:
                return False
        return True

    def _judge_pending(self, final: bool = False) -> None:
        waiting = []
        for sample, data, both_power, both in self._pending:
            verdict = self._at_own_level(both_power, both, final)
            if verdict is None and not final:
                waiting.append((sample, data, both_power, both))
            elif verdict:
                self._raise(sample, data, both_power, both)
        self._pending = waiting

    def _raise(self, sample: int, data: dict[str, Any], both_power: list[float], both: int) -> None:
        self.count += 1
        if self.policy.enabled:
            self.report("overtalk", sample, {**data, **self._levels(both_power, both)})

    def frame(self, f: Frame) -> None:
        if self._gone:
            return
        if self._pending:
            self._judge_pending()
        if f.mic_speech:
            self._speech[0][0] += 10 ** (f.mic_dbfs / 10)
            self._speech[0][1] += 1
        if f.ear_speech:
            self._speech[1][0] += 10 ** (f.ear_dbfs / 10)
            self._speech[1][1] += 1
        if f.mic_speech and not self._mic:                       # agent onset
            if (self._caller_talking(f.sample) and self._caller_start is not None
                    and f.sample - self._caller_start >= self._min_caller):
                self._agent_cut_in, self._both, self._reported = f.sample, 0, False
                self._both_power = [0.0, 0.0]
        if f.ear_speech:
            if not self._caller_talking(f.sample):
                self._caller_start = f.sample - FRAME_SAMPLES     # a new caller turn
                if f.mic_speech and self._mic:
                    self.caller_started += 1                      # the caller over the agent
            self._caller_last = f.sample
        if self._agent_cut_in is not None:
            if not f.mic_speech or not self._caller_talking(f.sample):
                self._agent_cut_in = None                         # one of them stopped
            elif f.ear_speech:
                self._both += 1
                self._both_power[0] += 10 ** (f.mic_dbfs / 10)
                self._both_power[1] += 10 ** (f.ear_dbfs / 10)
                if self._both >= self._min_overlap and not self._reported:
                    self._reported = True
                    self._pending.append((f.sample, {
                        "overlap_s": seconds(self._both * FRAME_SAMPLES),
                        "started_by": "agent", "limit_s": self.policy.min_overlap_s,
                        "caller_turn_s": seconds(self._agent_cut_in - (self._caller_start or 0)),
                        "cut_in_s": seconds(self._agent_cut_in - self._off_hook)},
                        list(self._both_power), self._both))
                    self._judge_pending()
        self._mic, self._ear = f.mic_speech, f.ear_speech

    def _levels(self, both_power: list[float], both: int) -> dict[str, float]:
        """The overlap's levels beside each side's active speech level (dBFS), as evidence."""
        out = {"agent_overlap_dbfs": round(_db(both_power[0] / both), 1),
               "caller_overlap_dbfs": round(_db(both_power[1] / both), 1)}
        for side, name in ((0, "agent_level_dbfs"), (1, "caller_level_dbfs")):
            level = self._level_db(side, final=True)
            if level is not None:
                out[name] = round(level, 1)
        return out

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if not self._gone:
            self._judge_pending(final=True)
        scorecard["overtalk_count"] = self.count
        scorecard["caller_overtalk_count"] = self.caller_started
