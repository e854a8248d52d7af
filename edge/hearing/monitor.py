"""Hearing safety on the earpiece: A-weighted daily dose and acoustic shock.

Runs on every frame, in a call or not (the earpiece can be loud on hold music too).
Levels: dB SPL = dBFS + the headset profile's offset. The dose is per agent and day,
loaded from and saved to a ledger so a restart does not reset it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seatwatch.edge.dsp.aweighting import AWeighting
from seatwatch.edge.hearing.calibration import HeadsetProfile
from seatwatch.edge.hearing.dose import DoseLedger, dose_rate_per_s, lex_dba, marks
from seatwatch.edge.policy import Hearing
from seatwatch.edge.rules.base import Report
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

FRAME_S = FRAME_SAMPLES / PIPELINE_RATE
SHOCK_REFRACTORY_S = 2.0
SHOCK_CREST_DB = 6.0        # a shock frame's RMS is within this of the peak limit
SAVE_EVERY_S = 60.0
DOSE_EVERY = PIPELINE_RATE    # samples of earpiece audio per dose update


class HearingMonitor:
    def __init__(self, report: Report, policy: Hearing, profile: HeadsetProfile,
                 ledger: DoseLedger, agent: str, day_of: Callable[[int], str]) -> None:
        self.report, self.policy, self.profile = report, policy, profile
        self.ledger, self.agent, self._day_of = ledger, agent, day_of
        self._weight = AWeighting()
        self._marks = marks(policy)
        self.day = ""
        self.dose = 0.0
        self._crossed: list[str] = []
        self._last_shock: int | None = None
        self._unsaved_s = 0.0
        self.max_dba = -120.0
        self.last_dba: float | None = None
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        self._pending_end = 0

    def process(self, end_sample: int, ear: np.ndarray, peak_dbfs: np.ndarray,
                rms_dbfs: np.ndarray) -> None:
        """`ear`: int16 earpiece samples of whole frames ending at `end_sample`, and each
        frame's peak and RMS level. Shocks are checked at once; the dose, a slow quantity, is
        integrated once a second of audio has gathered (events keep their exact time):
        in steps of exactly DOSE_EVERY samples, so any split of the stream into blocks
        integrates the same seconds (a 10 s block as ten 100 ms ones)."""
        if not self.policy.enabled or not len(ear):
            return
        self._shock(end_sample - len(ear), peak_dbfs, rms_dbfs)
        at = 0
        while at < len(ear):
            take = min(len(ear) - at, DOSE_EVERY - self._pending_samples)
            self._pending.append(ear[at:at + take])
            self._pending_samples += take
            at += take
            self._pending_end = end_sample - (len(ear) - at)
            if self._pending_samples >= DOSE_EVERY:
                self.flush()

    def flush(self) -> None:
        """Integrate the gathered earpiece audio into the dose."""
        if not self._pending:
            return
        end_sample = self._pending_end
        ear = np.concatenate(self._pending)
        self._pending, self._pending_samples = [], 0
        self._roll_day(end_sample)
        x = ear.astype(np.float64) / 32768.0
        frames = self._weight.process(x).reshape(-1, FRAME_SAMPLES)
        power = np.mean(frames * frames, axis=1)
        dba = 10 * np.log10(np.maximum(power, 1e-12)) + self.profile.ear_db_spl_at_0dbfs
        self.max_dba = max(self.max_dba, float(dba.max()))
        self.last_dba = float(dba[-1])
        rates = dose_rate_per_s(dba, self.policy) * FRAME_S
        start = end_sample - len(ear)
        cumulative = self.dose + np.cumsum(rates)
        for mark in self._marks:
            if mark.name not in self._crossed and cumulative[-1] >= mark.dose:
                index = int(np.argmax(cumulative >= mark.dose))
                self._crossed.append(mark.name)
                self._exposure(mark.name, float(cumulative[index]), start + (index + 1) * FRAME_SAMPLES)
        self.dose = float(cumulative[-1])
        self._unsaved_s += len(ear) / PIPELINE_RATE
        if self._unsaved_s >= SAVE_EVERY_S:
            self.save()

    def _exposure(self, mark: str, dose: float, sample: int) -> None:
        lex = lex_dba(dose, self.policy)
        self.report("earpiece_exposure", sample, {
            "mark": mark, "dose_pct": round(dose * 100, 1), "standard": self.policy.standard,
            "lex_8h_dba": None if lex is None else round(lex, 1), "agent": self.agent})
        self.save()          # a crossed mark must survive a restart

    def _shock(self, start: int, peak_dbfs: np.ndarray, rms_dbfs: np.ndarray) -> None:
        offset = self.profile.ear_db_spl_at_0dbfs
        peak_db = peak_dbfs + offset
        # a burst, not a speech peak: speech's loudest 10 ms frames sit 10-12 dB under
        # their sample peak, a tone, a shriek or a feedback howl ~3 dB
        loud = rms_dbfs + offset >= self.policy.shock_limit_db_spl - SHOCK_CREST_DB
        for index in np.flatnonzero((peak_db > self.policy.shock_limit_db_spl) & loud):
            sample = start + (int(index) + 1) * FRAME_SAMPLES
            if (self._last_shock is not None
                    and sample - self._last_shock < SHOCK_REFRACTORY_S * PIPELINE_RATE):
                continue
            self._last_shock = sample
            self.report("acoustic_shock", sample, {
                "peak_db_spl": round(float(peak_db[index]), 1),
                "limit_db_spl": self.policy.shock_limit_db_spl, "headset": self.profile.name})

    def _roll_day(self, sample: int) -> None:
        day = self._day_of(sample)
        if day != self.day:
            if self.day:
                self.save()
            self.day = day
            self.dose, self._crossed = self.ledger.load(self.agent, day)

    def save(self) -> None:
        if self.day:
            self.ledger.save(self.agent, self.day, self.dose, list(self._crossed))
        self._unsaved_s = 0.0

    def snapshot(self) -> dict[str, float | None]:
        return {"dose_pct": round(self.dose * 100, 2),
                "ear_dba": None if self.last_dba is None else round(self.last_dba, 1)}
