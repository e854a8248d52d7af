"""N5 语速适中，每分钟应保持在120个字左右: the agent's characters per minute, per minute.

The rate model reads the agent's last 15 s of speech once per new second of speech
(edge/models/rate.py). Each reading stands for the speech that is new since the one
before (the first for its whole window); the verdict is the speech-weighted mean over
the agent's last `judge_speech_s` of speech (60 s: N5 speaks of characters per minute),
re-judged at every reading once that much speech is in. A call with less agent speech
but at least `min_call_speech_s` is judged once, at its end, over all of it.

A verdict is a violation only beyond the band by more than `tolerance_cpm` (below
low - tolerance, above high + tolerance). Hysteresis: a direction is raised once, then
again only after a verdict back inside low..high.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from seatwatch.edge.policy import SpeechRate
from seatwatch.edge.rules.base import Frame, RateReading, Report, Rule, seconds
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

MINUTE = 60 * PIPELINE_RATE
MAX_CURVE_MINUTES = 120         # the scorecard's per-minute curve stops there (payload size)


class SpeechRateRule(Rule):
    def __init__(self, report: Report, policy: SpeechRate) -> None:
        super().__init__(report)
        self.policy = policy
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self._off_hook = sample
        self._speech_frames = 0                 # agent speech frames since the last reading
        self._seg_start: int | None = None      # ... the first of them
        # [speech s, cpm, sample where its speech began] of the readings in the verdict
        self._window: deque[list[float]] = deque()
        self._window_s = 0.0
        self._total_s, self._total_cpm_s = 0.0, 0.0   # the whole call
        self._minutes: dict[int, list[float]] = {}    # call minute -> [speech s, cpm * s]
        self._judged = False
        self._verdicts: list[float] = []        # min and max verdict (cpm)
        self._armed = {"low": True, "high": True}
        self.events = 0

    def frame(self, f: Frame) -> None:
        if f.mic_speech:
            if not self._speech_frames:
                self._seg_start = f.sample - FRAME_SAMPLES
            self._speech_frames += 1

    def rate(self, reading: RateReading) -> None:
        # the speech this reading adds: new speech since the last one, its window at most
        new_s = self._speech_frames * FRAME_SAMPLES / PIPELINE_RATE
        if self._total_s == 0:
            weight = reading.window_s           # the first reading covers its whole window
        elif new_s > 0:
            weight = min(new_s, reading.window_s)
        else:       # readings without frames (a replay of readings alone): 1 s each
            weight = min(1.0, reading.window_s)
        began = self._seg_start if self._seg_start is not None else reading.sample
        self._speech_frames, self._seg_start = 0, None
        self._total_s += weight
        self._total_cpm_s += weight * reading.cpm
        minute = self._minutes.setdefault((reading.sample - self._off_hook) // MINUTE, [0.0, 0.0])
        minute[0] += weight
        minute[1] += weight * reading.cpm
        self._window.append([weight, reading.cpm, float(began)])
        self._window_s += weight
        judge = self.policy.judge_speech_s
        while self._window_s - self._window[0][0] >= judge:      # keep just `judge` seconds
            self._window_s -= self._window.popleft()[0]
        if self._window_s - judge > 1e-9:                          # trim the oldest reading
            self._window[0][0] -= self._window_s - judge
            self._window_s = judge
        if self._window_s >= judge - 1e-9:
            cpm = sum(w * c for w, c, _ in self._window) / self._window_s
            self._verdict(cpm, self._window_s, int(self._window[0][2]), reading.sample)

    def _verdict(self, cpm: float, speech_s: float, first: int, sample: int) -> None:
        p = self.policy
        self._judged = True
        self._verdicts = [min(self._verdicts[0], cpm), max(self._verdicts[1], cpm)] \
            if self._verdicts else [cpm, cpm]
        if p.low_cpm <= cpm <= p.high_cpm:
            self._armed["low"] = self._armed["high"] = True
            return
        if cpm < p.low_cpm - p.tolerance_cpm:
            side, limit = "low", p.low_cpm
        elif cpm > p.high_cpm + p.tolerance_cpm:
            side, limit = "high", p.high_cpm
        else:
            return                              # grazing the band: neither fine nor a violation
        if not self._armed[side]:
            return
        self._armed[side] = False
        self.events += 1
        if p.enabled:
            self.report(f"speech_rate_{side}", sample, {
                "cpm": round(cpm, 1), "limit_cpm": limit, "tolerance_cpm": p.tolerance_cpm,
                "speech_s": round(speech_s, 1),
                "window_from_s": seconds(max(0, first - self._off_hook)),
                "window_to_s": seconds(sample - self._off_hook)})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        total = self._total_s
        if (not self._judged and total >= self.policy.min_call_speech_s - 1e-9
                and self._window):
            # a short call: one verdict over all its agent speech, at its end
            self._verdict(self._total_cpm_s / total, total, int(self._window[0][2]), sample)
        mean = round(self._total_cpm_s / total, 1) if total else None
        scorecard["rate_mean_cpm"] = mean
        verdicts = self._verdicts
        scorecard["rate_judged_min_cpm"] = round(verdicts[0], 1) if verdicts else None
        scorecard["rate_judged_max_cpm"] = round(verdicts[1], 1) if verdicts else None
        scorecard["rate_speech_s"] = round(total, 1)
        last = max(self._minutes, default=-1)
        curve: list[float | None] = []
        for minute in range(min(last + 1, MAX_CURVE_MINUTES)):
            got = self._minutes.get(minute)
            curve.append(round(got[1] / got[0], 1) if got and got[0] > 0 else None)
        scorecard["rate_curve_cpm"] = curve
