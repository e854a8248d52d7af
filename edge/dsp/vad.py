"""Energy voice-activity detection per channel, with hangover and a minimum burst length.

Good enough for a close-talking headset microphone and a telephone earpiece line, where
the speech-to-noise ratio is high; the keyword and rate models do the fine work.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

FRAME_S = FRAME_SAMPLES / PIPELINE_RATE


@dataclass
class EnergyVad:
    threshold_dbfs: float
    hangover_s: float
    min_speech_s: float
    speaking: bool = False
    _above: int = 0          # consecutive frames above threshold
    _below: int = 0          # consecutive frames below threshold while speaking

    def update(self, rms_dbfs: float) -> bool:
        """Feed one 10 ms frame's RMS level; return whether the channel is in speech."""
        if rms_dbfs >= self.threshold_dbfs:
            self._above += 1
            self._below = 0
            if not self.speaking and self._above * FRAME_S >= self.min_speech_s:
                self.speaking = True
        else:
            self._above = 0
            if self.speaking:
                self._below += 1
                if self._below * FRAME_S > self.hangover_s:
                    self.speaking = False
                    self._below = 0
        return self.speaking
