"""N6 音量适中: the agent's active speech level, judged over `min_speech_s` of their speech.

The level is ITU-T P.56 in spirit: the power mean over the frames the VAD calls agent
speech only (pauses and the caller's turns do not pull it down), over a sliding window
of the agent's last `min_speech_s` of speech (10 s by default), so a quiet phrase end or
one loud word is not a verdict. The limits are dBFS for a headset calibrated like the
generic profile; another headset's microphone sensitivity (hearing/calibration) shifts
them, so the same voice gets the same verdict on any headset.

Hysteresis: a direction (low or high) is raised once, then it stays raised until the
level is back inside the limit by `hysteresis_db`; it is raised again in the same call
only after `rearm_s` of agent speech at such a normal level.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from seatwatch.edge.policy import Volume
from seatwatch.edge.rules.base import Frame, Report, Rule, seconds
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

GENERIC_MIC_DB_SPL = 120.0      # the generic profile's mic: 0 dBFS = 120 dB SPL (the limits' scale)


def _db(power: float) -> float:
    return 10 * float(np.log10(max(power, 1e-13)))


class VolumeRule(Rule):
    def __init__(self, report: Report, policy: Volume, *,
                 mic_db_spl_at_0dbfs: float = GENERIC_MIC_DB_SPL, headset: str = "generic") -> None:
        super().__init__(report)
        self.policy = policy
        # a less sensitive mic reads lower for the same voice: move the limits with it
        self.offset_db = GENERIC_MIC_DB_SPL - mic_db_spl_at_0dbfs
        self.headset = headset
        self.low = policy.low_dbfs + self.offset_db
        self.high = policy.high_dbfs + self.offset_db
        self._size = max(1, round(policy.min_speech_s * PIPELINE_RATE / FRAME_SAMPLES))
        self._rearm = round(policy.rearm_s * PIPELINE_RATE / FRAME_SAMPLES)
        self._window: deque[tuple[float, int]] = deque()   # (power, sample) of speech frames
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self._off_hook = sample
        self._window.clear()
        self._sum = 0.0
        self._pushed = 0
        self._speech_power, self._speech_frames = 0.0, 0
        self._max_dbfs: float | None = None
        self._min_dbfs: float | None = None
        # per direction: raised and not yet back to normal; speech frames at normal since
        self._raised = {"low": False, "high": False}
        self._normal = {"low": 0, "high": 0}
        self._armed = {"low": True, "high": True}

    def frame(self, f: Frame) -> None:
        if not (f.in_call and f.mic_speech):
            return
        power = 10 ** (f.mic_dbfs / 10)
        self._speech_power += power
        self._speech_frames += 1
        self._window.append((power, f.sample))
        self._sum += power
        if len(self._window) > self._size:
            self._sum -= self._window.popleft()[0]
        self._pushed += 1
        if self._pushed % 4096 == 0:            # float drift of the running sum
            self._sum = sum(p for p, _ in self._window)
        if len(self._window) < self._size:
            return
        level = _db(self._sum / self._size)
        self._max_dbfs = level if self._max_dbfs is None else max(self._max_dbfs, level)
        self._min_dbfs = level if self._min_dbfs is None else min(self._min_dbfs, level)
        self._judge("low", level < self.low, level >= self.low + self.policy.hysteresis_db,
                    f.sample, level)
        self._judge("high", level > self.high, level <= self.high - self.policy.hysteresis_db,
                    f.sample, level)

    def _judge(self, side: str, beyond: bool, normal: bool, sample: int, level: float) -> None:
        if normal:
            self._raised[side] = False
            self._normal[side] += 1
            if self._normal[side] >= self._rearm:
                self._armed[side] = True
        elif beyond:
            self._normal[side] = 0
            if self._armed[side] and not self._raised[side]:
                self._armed[side], self._raised[side] = False, True
                self._raise(side, sample, level)
        # between the limit and limit +- hysteresis: no change either way

    def _raise(self, side: str, sample: int, level: float) -> None:
        if not self.policy.enabled:
            return
        limit = self.low if side == "low" else self.high
        first = self._window[0][1] - FRAME_SAMPLES
        self.report(f"agent_volume_{side}", sample, {
            "dbfs": round(level, 1), "limit_dbfs": round(limit, 1),
            "hysteresis_db": self.policy.hysteresis_db,
            "speech_s": seconds(len(self._window) * FRAME_SAMPLES),
            "window_from_s": seconds(first - self._off_hook),
            "window_to_s": seconds(sample - self._off_hook),
            "headset": self.headset})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        frames = self._speech_frames
        scorecard["agent_level_dbfs"] = round(_db(self._speech_power / frames), 1) if frames else None
        scorecard["agent_speech_s"] = seconds(frames * FRAME_SAMPLES)
        scorecard["agent_level_max_dbfs"] = None if self._max_dbfs is None else round(self._max_dbfs, 1)
        scorecard["agent_level_min_dbfs"] = None if self._min_dbfs is None else round(self._min_dbfs, 1)
