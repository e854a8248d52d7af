"""One seat's streaming pipeline: source items in, schema-v1 events out.

    source -> levels / VAD per channel -> log-mel (agent) -> keywords, speaking rate
           -> music on hold, busy tone (earpiece) -> call state -> rules -> emit(Event),
              led(pattern)
           -> hearing dose and shock (earpiece, always)

Pure: no sockets, no threads, no wall clock. Time is the source's sample clock, so a
replayed file and a live device give the same events. The daemon, `analyze` and the
demo all drive this same class.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from seatwatch.contracts.events import NORM_TYPES, Event
from seatwatch.edge.dsp.busytone import MIN_LEVEL_DBFS as BUSY_MIN_DBFS
from seatwatch.edge.dsp.busytone import BusyToneDetector, tone_share
from seatwatch.edge.dsp.levels import frame_levels
from seatwatch.edge.dsp.music import MusicDetector
from seatwatch.edge.dsp.vad import NoiseVad
from seatwatch.edge.feedback import LedFeedback
from seatwatch.edge.hearing.calibration import load_profile
from seatwatch.edge.hearing.dose import DoseLedger, MemoryLedger
from seatwatch.edge.hearing.monitor import HearingMonitor
from seatwatch.edge.models.agent_channel import AgentChannel
from seatwatch.edge.policy import Policy, check_keywords
from seatwatch.edge.rules.base import Frame, Heard, RateReading, Rule
from seatwatch.edge.rules.calls import CallFacts, CallRules
from seatwatch.edge.rules.hold import HoldRule
from seatwatch.edge.rules.keywords import (
    ClosingRule,
    ForbiddenRule,
    GreetingRule,
    PoliteRule,
    configure_spotter,
)
from seatwatch.edge.rules.overtalk import OvertalkRule
from seatwatch.edge.rules.rate import SpeechRateRule
from seatwatch.edge.rules.silence import DeadAirRule
from seatwatch.edge.rules.volume import VolumeRule
from seatwatch.edge.sources.base import (
    EAR,
    FRAME_SAMPLES,
    MIC,
    PIPELINE_RATE,
    AudioBlock,
    ControlEvent,
    SourceGap,
    SourceItem,
)

Emit = Callable[[Event], None]
Led = Callable[[str], None]
DayOf = Callable[[int], str]      # sample clock -> the local calendar day ("YYYY-MM-DD")


@dataclass(frozen=True)
class SeatContext:
    site: str                       # site id (topic level)
    seat: str                       # seat id (topic level)
    device: str                     # device id (serial number, or "replay")
    agent: str | None = None        # agent id, for per-agent hearing dose and reports
    headset: str = "generic"        # calibration profile name
    file_times: bool = False        # add `t` (seconds from stream start) to events (analyze)
    hook_known: bool = True         # hook signals are real (False: a recording without control)


class SeatPipeline:
    def __init__(self, ctx: SeatContext, policy: Policy, emit: Emit,
                 led: Led | None = None, *, models: AgentChannel | None = None,
                 ledger: DoseLedger | None = None, day_of: DayOf | None = None) -> None:
        self.ctx, self.policy, self._emit = ctx, policy, emit
        self._led = led or (lambda pattern: None)
        self.clock = 0                              # samples consumed (sample clock)
        self._carry = np.zeros((0, 2), np.int16)    # partial frame kept for the next block
        # MIC and EAR, each its own noise level; the talker gate on the mic only (one agent,
        # while the earpiece carries one caller after another, at any level)
        self._vad = NoiseVad(policy.vad, channels=2, talker_gate=(True, False))  # (MIC, EAR)
        self._music = MusicDetector()               # music on hold on the earpiece: no caller
        self.ear_music = np.zeros(0, bool)          # per frame of the last block: music
        self.models = models or AgentChannel()
        self.models.add_phrases(policy)
        check_keywords(policy, self.models.labels)
        for spotter in self.models.spotters:
            configure_spotter(spotter, policy)
        self.feedback = LedFeedback(policy.feedback, self.led)
        self.calls = CallRules(self._report, policy, judge_hangup=ctx.hook_known)
        self.hold = HoldRule(self._report, policy.hold,
                             lambda sample: self.feedback.nudge("hold_checkin_due", sample))
        headset = load_profile(ctx.headset or policy.hearing.headset)
        # the hold rule comes first: dead air reads who waits on whom from it, same frame
        self.rules: list[Rule] = [self.hold,
                                  GreetingRule(self._report, policy.greeting),
                                  PoliteRule(self._report, policy.polite),
                                  ForbiddenRule(self._report, policy.forbidden),
                                  ClosingRule(self._report, policy.closing),
                                  SpeechRateRule(self._report, policy.speech_rate),
                                  VolumeRule(self._report, policy.volume,
                                             mic_db_spl_at_0dbfs=headset.mic_db_spl_at_0dbfs,
                                             headset=headset.name),
                                  DeadAirRule(self._report, policy.dead_air, policy.vad.hangover_s,
                                              hold=self.hold),
                                  OvertalkRule(self._report, policy.overtalk)]
        self.calls.listeners = [r for r in self.rules if type(r).far_end_gone is not Rule.far_end_gone]
        # only the rules that override a hook are called for it (100 frames/s per seat)
        self._on_frame = [r for r in self.rules if type(r).frame is not Rule.frame]
        self._on_keyword = [r for r in self.rules if type(r).keyword is not Rule.keyword]
        self._on_rate = [r for r in self.rules if type(r).rate is not Rule.rate]
        hangup = policy.hangup
        self._busy = BusyToneDetector(hangup.busy_on_s, hangup.busy_off_s)
        self.hearing = HearingMonitor(self._report, policy.hearing, headset,
                                      ledger or MemoryLedger(), ctx.agent or ctx.seat,
                                      day_of or (lambda sample: "session"))
        self._violations: Counter[str] = Counter()
        self._talk = [0, 0]                         # speech frames per channel in the call
        self.last_levels = (-120.0, -120.0)
        self._last_rate: float | None = None
        self._nudges_at_start = 0                   # LED nudges sent before this call
        self.last_led: str | None = None

    # --- input ---------------------------------------------------------------------------
    def feed(self, item: SourceItem) -> None:
        if isinstance(item, AudioBlock):
            self._audio(item)
        elif isinstance(item, ControlEvent):
            self._control(item)
        elif isinstance(item, SourceGap):
            self._report("device_fault", item.sample,
                         {"kind": "audio_lost", "lost_s": round(item.samples / PIPELINE_RATE, 3),
                          "reason": item.reason[:200]})

    def finish(self) -> None:
        """End of stream: close an open call as if the agent hung up; keep the dose."""
        if self.calls.in_call:
            self._control(ControlEvent(self.clock, "on_hook"))
        self.hearing.flush()
        self.hearing.save()

    def snapshot(self) -> dict[str, Any]:
        """Live state for the metrics topic."""
        facts = self.calls.facts
        state = "hold" if self.calls.in_call and self.hold.active else self.calls.state
        model_ms = self.models.spotter.model.mean_ms
        return {"call_state": state, "call": facts.call_id if facts else None,
                "t_call": (round((self.clock - facts.off_hook) / PIPELINE_RATE, 1)
                           if facts and facts.off_hook is not None else None),
                "rings": self.calls.rings, "mic_dbfs": round(self.last_levels[MIC], 1),
                "rate_cpm": None if self._last_rate is None else round(self._last_rate, 1),
                "led": self.last_led, "model_ms": None if model_ms is None else round(model_ms, 3),
                **self.hearing.snapshot()}

    # --- processing ----------------------------------------------------------------------
    def _audio(self, block: AudioBlock) -> None:
        pcm = block.pcm if not len(self._carry) else np.concatenate([self._carry, block.pcm])
        start = block.sample - len(self._carry)
        rms, peak = frame_levels(pcm)
        used = len(rms) * FRAME_SAMPLES
        self._carry = pcm[used:]
        self.clock = block.sample + len(block.pcm)
        if not used:
            return
        self.hearing.process(start + used, pcm[:used, EAR], peak[:, EAR], rms[:, EAR])
        speech = self._vad.process(pcm[:used].reshape(-1, FRAME_SAMPLES, 2))
        # earpiece frames that are music (on hold) are no caller speech for the rules
        self.ear_music = music = self._music.process(pcm[:used, EAR].reshape(-1, FRAME_SAMPLES))
        speech[:, EAR] &= ~music
        self.last_levels = (float(rms[-1, MIC]), float(rms[-1, EAR]))
        if not self.calls.in_call:
            return
        hits, estimates = self.models.hear(pcm[:used, MIC], speech[:, MIC])
        by_frame: dict[int, list[Heard | RateReading]] = {}
        for index, hit in hits:
            by_frame.setdefault(index, []).append(
                Heard(hit.label, hit.score, start + (index + 1) * FRAME_SAMPLES, hit.confirmed))
        for index, est in estimates:
            self._last_rate = est.cpm
            by_frame.setdefault(index, []).append(
                RateReading(est.cpm, est.window_s, start + (index + 1) * FRAME_SAMPLES))
        loud = rms[:, EAR] >= BUSY_MIN_DBFS
        if loud.any():
            # only the loud frames can be tone (a quiet earpiece holds no busy tone)
            ear = pcm[:used, EAR].reshape(-1, FRAME_SAMPLES)[loud].astype(np.float32)
            shares = np.zeros(len(rms))
            shares[loud] = tone_share(ear, self.policy.hangup.busy_tone_hz)
            shares[music] = 0.0                 # a 440 Hz note of hold music is no busy tone
        else:
            shares = np.zeros(len(rms))
        busy = None if self._busy.skip_silent(shares, rms[:, EAR]) else self._busy.update
        talk = speech.sum(axis=0)
        self._talk[MIC] += int(talk[MIC])
        self._talk[EAR] += int(talk[EAR])
        # per frame: plain Python values (a block holds up to 1,000 frames in analyze)
        on_frame, calls_frame, hold = self._on_frame, self.calls.frame, self.hold
        for index, ((mic_db, ear_db), mic_speech, ear_speech, share, playing) in enumerate(zip(
                rms.tolist(), speech[:, MIC].tolist(), speech[:, EAR].tolist(), shares.tolist(),
                music.tolist(), strict=True)):
            sample = start + (index + 1) * FRAME_SAMPLES
            if playing is not hold.music_playing:
                hold.music(sample, playing)         # music on hold: the caller waits
            if busy is not None:
                gone = busy(sample, share, ear_db)
                if gone is not None:
                    self.calls.far_end_gone(gone, "busy_tone")
            if index in by_frame:
                for item in by_frame[index]:
                    if isinstance(item, Heard):
                        for rule in self._on_keyword:
                            if item.confirmed or rule.hears_unconfirmed:
                                rule.keyword(item)
                    else:
                        for rule in self._on_rate:
                            rule.rate(item)
            frame = Frame(sample, mic_db, ear_db, mic_speech, ear_speech, True, hold.active)
            for rule in on_frame:
                rule.frame(frame)
            calls_frame(frame)

    def _control(self, event: ControlEvent) -> None:
        self.clock = max(self.clock, event.sample)
        started = self.calls.control(event)
        if started:
            self._talk = [0, 0]
            self._last_rate = None              # no rate carried into a new call
            self._nudges_at_start = self.feedback.sent
            self.models.reset()
            self._busy.reset()
            for rule in self.rules:
                rule.call_started(event.sample)
        elif event.kind == "on_hook" and self.calls.ended is not None:
            self._end_call(event.sample, self.calls.ended)

    def _end_call(self, sample: int, facts: CallFacts) -> None:
        for hit in self.models.flush():         # words of the last seconds, heard at on-hook
            heard = Heard(hit.label, hit.score, sample, hit.confirmed)
            for rule in self._on_keyword:
                if heard.confirmed or rule.hears_unconfirmed:
                    rule.keyword(heard)
        scorecard: dict[str, Any] = {}
        self.calls.call_ended(sample, scorecard)
        for rule in self.rules:
            rule.call_ended(sample, scorecard)
        talk, listen = self._talk[MIC], self._talk[EAR]
        scorecard["talk_listen_ratio"] = round(talk / listen, 2) if listen else None
        scorecard["violations"] = dict(sorted(self._violations.items()))
        deducted = sum(self.policy.score.weights.get(kind, 0.0) * count
                       for kind, count in self._violations.items())
        scorecard["score"] = round(max(0.0, 100.0 - deducted), 1)
        scorecard["policy"] = self.policy.name
        scorecard["led_nudges"] = self.feedback.sent - self._nudges_at_start
        self._report("call_ended", sample, {"scorecard": scorecard}, facts=facts)
        self.calls.forget_ended()
        self._last_rate = None                  # an idle seat shows no rate
        self.feedback.call_scored(scorecard["score"], sample)
        self.hearing.flush()
        self.hearing.save()

    # --- output --------------------------------------------------------------------------
    def _report(self, type_: str, sample: int, data: dict[str, Any],
                facts: CallFacts | None = None) -> None:
        facts = facts or self.calls.facts or self.calls.ended   # rules closing a call report late
        if type_ == "call_started":
            self._violations.clear()
        if facts is not None and type_ in NORM_TYPES:
            self._violations[type_] += 1
        call_id = facts.call_id if facts else None
        t_call = None
        if facts is not None and facts.off_hook is not None:
            t_call = max(0.0, (sample - facts.off_hook) / PIPELINE_RATE)
        event = Event.new(type_, site=self.ctx.site, seat=self.ctx.seat, device=self.ctx.device,
                          call=call_id, t_call=t_call, data=data,
                          t=sample / PIPELINE_RATE if self.ctx.file_times else None)
        self._emit(event)
        self.feedback.on_event(type_, sample)

    def led(self, pattern: str) -> None:
        self.last_led = pattern
        self._led(pattern)
