"""N6 音量适中: the agent's speech level over the last `min_speech_s` of speech."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from edge.dsp.vad import FRAME_S
from edge.policy import Volume
from edge.rules.base import Frame, Report, Rule
from edge.sources.base import PIPELINE_RATE


class VolumeRule(Rule):
    def __init__(self, report: Report, policy: Volume) -> None:
        super().__init__(report)
        self.policy = policy
        self._window: deque[float] = deque(maxlen=max(1, round(policy.min_speech_s / FRAME_S)))
        self._last_event: dict[str, int] = {}
        self._speech_power = 0.0
        self._speech_frames = 0
        self._max_dbfs = -120.0

    def call_started(self, sample: int) -> None:
        self._window.clear()
        self._last_event.clear()
        self._speech_power, self._speech_frames, self._max_dbfs = 0.0, 0, -120.0

    def frame(self, f: Frame) -> None:
        if not (f.in_call and f.mic_speech):
            return
        power = 10 ** (f.mic_dbfs / 10)
        self._speech_power += power
        self._speech_frames += 1
        self._window.append(power)
        if len(self._window) < (self._window.maxlen or 1):
            return
        level = 10 * float(np.log10(sum(self._window) / len(self._window)))
        self._max_dbfs = max(self._max_dbfs, level)
        if not self.policy.enabled:
            return
        if level > self.policy.high_dbfs:
            self._raise("agent_volume_high", f.sample, level, self.policy.high_dbfs)
        elif level < self.policy.low_dbfs:
            self._raise("agent_volume_low", f.sample, level, self.policy.low_dbfs)

    def _raise(self, kind: str, sample: int, level: float, limit: float) -> None:
        last = self._last_event.get(kind)
        if last is not None and sample - last < self.policy.cooldown_s * PIPELINE_RATE:
            return
        self._last_event[kind] = sample
        self._window.clear()  # the next verdict needs fresh speech
        self.report(kind, sample, {"dbfs": round(level, 1), "limit_dbfs": limit,
                                   "speech_s": self.policy.min_speech_s})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        mean = (10 * float(np.log10(self._speech_power / self._speech_frames))
                if self._speech_frames else None)
        scorecard["agent_level_dbfs"] = None if mean is None else round(mean, 1)
        scorecard["agent_level_max_dbfs"] = (round(self._max_dbfs, 1) if self._speech_frames
                                             else None)
