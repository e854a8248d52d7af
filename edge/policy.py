"""The service policy: every threshold of NORMS.md, loaded from TOML and checked strictly.

Each section is a frozen dataclass; each field carries its unit and the norm it comes
from (`doc`). A wrong key, type or value fails at load with the file, the key and why.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from seatwatch.edge.resources import data_dir

POLICY_DIR = data_dir("policies")


class PolicyError(ValueError):
    def __init__(self, source: str, key: str, reason: str) -> None:
        super().__init__(f"{source}: {key}: {reason}")
        self.source, self.key, self.reason = source, key, reason


def doc(default: Any, text: str, *, lo: float | None = None, hi: float | None = None,
        choices: tuple[str, ...] | None = None) -> Any:
    """A policy field: default, one-line doc with unit and source, and its valid range."""
    meta = {"doc": text, "lo": lo, "hi": hi, "choices": choices}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Answer:
    enabled: bool = doc(True, "Raise answer_late (N1)")
    max_rings: int = doc(3, "Rings allowed before off-hook (count); 12333: 2, hotline: 3",
                         lo=1, hi=20)


@dataclass(frozen=True)
class Greeting:
    enabled: bool = doc(True, "Raise greeting_missing (N2)")
    within_s: float = doc(5.0, "The greeting must be heard this soon after off-hook, or after the "
                          "caller's speech when the caller (or a transfer) speaks first, or in the "
                          "agent turn going on then: 接起的第一时间 (s)", lo=1, hi=60)
    keywords: list[str] = doc(["您好", "早上好", "中午好", "下午好", "晚上好"],
                              "Any of these in the agent's opening turn is the greeting (keyword "
                              "labels; the norms allow a greeting by the time of the call)")
    min_score: float = doc(0.5, "A greeting keyword counts from this smoothed score, below its "
                           "calibrated threshold (a greeting is expected; 你好 heard as 您好 is one)",
                           lo=0.05, hi=1.0)


@dataclass(frozen=True)
class Polite:
    keywords: list[str] = doc(["您好", "请问", "请稍等", "谢谢", "对不起", "再见", "久等"],
                              "Polite words counted on the scorecard (N3)")


@dataclass(frozen=True)
class Forbidden:
    enabled: bool = doc(True, "Raise forbidden_phrase (N4)")
    keywords: list[str] = doc(["不知道", "没办法", "没关系", "不归我管"], "Service taboo phrases (N4)")
    min_score: float = doc(0.995, "A taboo phrase needs at least this smoothed score, even where the "
                           "model's calibrated threshold is lower: a false taboo alert on an innocent "
                           "agent is the costliest error, and the calibration speech is short (score)",
                           lo=0.5, hi=1.0)


@dataclass(frozen=True)
class SpeechRate:
    enabled: bool = doc(True, "Raise speech_rate_high / speech_rate_low (N5)")
    low_cpm: float = doc(100.0, "Slow end of the band around N5's 120 characters per minute (cpm)",
                         lo=20, hi=400)
    high_cpm: float = doc(150.0, "Fast end of the band around N5's 120 characters per minute (cpm)",
                          lo=20, hi=400)
    tolerance_cpm: float = doc(10.0, "A rate is a violation only beyond the band by more than this, "
                               "and counts as back in the band inside low_cpm..high_cpm: the model's "
                               "error (MAE ~5 cpm) and a grazing minute are no violation (cpm)",
                               lo=0, hi=60)
    judge_speech_s: float = doc(60.0, "Agent speech (not wall time) one verdict covers, sliding: N5 "
                                "speaks of characters per minute (s)", lo=15, hi=600)
    min_call_speech_s: float = doc(20.0, "A call with less agent speech than judge_speech_s but at least "
                                   "this much is judged once, at its end, over all of it; less is no "
                                   "evidence (s)", lo=15, hi=600)


@dataclass(frozen=True)
class Volume:
    enabled: bool = doc(True, "Raise agent_volume_high / agent_volume_low (N6)")
    high_dbfs: float = doc(-12.0, "Agent active speech level above this is too loud (dBFS at the mic, "
                           "P.56-style: power mean over speech frames; for a headset calibrated like "
                           "the generic profile, others are compensated by hearing.headset)",
                           lo=-60, hi=0)
    low_dbfs: float = doc(-40.0, "Agent active speech level below this is too quiet (dBFS, as "
                          "high_dbfs; a normal agent is near -26 to -30)", lo=-90, hi=-10)
    min_speech_s: float = doc(10.0, "Agent speech (speech frames only, sliding) the level is measured "
                              "over: the end of a phrase is not a quiet agent (s)", lo=2, hi=120)
    hysteresis_db: float = doc(3.0, "After an alert the level counts as normal again only this far "
                               "inside the limit, so a level hovering at the limit is one alert (dB)",
                               lo=0, hi=20)
    rearm_s: float = doc(30.0, "Agent speech at a normal level after which the same direction may "
                         "be raised again in the call; otherwise once per call per direction (s)",
                         lo=0, hi=3600)


@dataclass(frozen=True)
class Hold:
    enabled: bool = doc(True, "Raise hold_checkin_missed (N7)")
    start_keywords: list[str] = doc(["请稍等"], "Keywords that announce a hold (the caller waits "
                                    "even if they answer 好的)")
    checkin_keywords: list[str] = doc(["请稍等", "久等", "对不起"],
                                      "Keywords that keep an announced hold going, and announce a "
                                      "long one (notice_by_s)")
    checkin_interval_s: float = doc(15.0, "Check in with the waiting caller every (s): a caller waits "
                                    "after a hold keyword, or whenever the agent spoke last and the "
                                    "caller has not taken the floor", lo=5, hi=120)
    checkin_tolerance_s: float = doc(2.0, "A wait is reported once it exceeds checkin_interval_s by this "
                                     "much: the VAD's hangover and a breath before speaking are no "
                                     "missed check-in (s)", lo=0, hi=30)
    checkin_min_speech_s: float = doc(0.5, "Agent speech (VAD) that counts as a check-in, and as the "
                                      "agent taking a turn; a cough or 嗯 is shorter (s)",
                                      lo=0.1, hi=5)
    caller_turn_s: float = doc(3.0, "Caller speech since the agent's last turn that gives the caller "
                               "the floor: a silence after it is dead air (N9), not a wait. A question, "
                               "not an answer: 好的 or 嗯，好的 slowly spoken last up to ~2.5 s (s)",
                               lo=0.2, hi=10)
    caller_resumes_s: float = doc(8.0, "Caller speech since the agent's last turn that ends an announced "
                                  "hold: the caller talks at length (好的，我等一下 slowly spoken is ~3 s, "
                                  "hold music on the earpiece passes for speech only for its first "
                                  "1.5-2.5 s, until "
                                  "the music detector flags it) (s)",
                                  lo=0.2, hi=30)
    notice_by_s: float = doc(30.0, "An announced hold longer than this must be announced again with a "
                             "check-in keyword (我正在为您查询，请稍等) (s)", lo=5, hi=300)
    reminder_lead_s: float = doc(3.0, "LED reminder this long before a check-in is due (s)",
                                 lo=0, hi=30)


@dataclass(frozen=True)
class Overtalk:
    enabled: bool = doc(True, "Raise overtalk when the agent talks over the caller (N8)")
    min_overlap_s: float = doc(0.5, "Overlap started by the agent at least this long (s)",
                               lo=0.1, hi=10)
    min_caller_s: float = doc(1.0, "The caller must have been talking this long when the agent starts: "
                              "a 嗯 or 对 under the agent's pause is no turn to interrupt (s)",
                              lo=0, hi=10)
    level_margin_db: float = doc(6.0, "In the overlap, each voice is within this many dB of its own active "
                                 "speech level in the call: office babble or noise the VAD takes for "
                                 "speech sits 10-30 dB under a headset voice, and is no interruption (dB)",
                                 lo=1, hi=40)


@dataclass(frozen=True)
class DeadAir:
    enabled: bool = doc(True, "Raise dead_air (N9)")
    min_silence_s: float = doc(8.0, "Both sides silent for this long while the agent owes a word: the "
                               "caller spoke last, or nobody yet; never in a wait or hold, which N7 "
                               "judges (s)", lo=1, hi=120)


@dataclass(frozen=True)
class CallLength:
    enabled: bool = doc(True, "Raise call_too_long (N10)")
    soft_limit_s: float = doc(180.0, "Off-hook duration target (s)", lo=10, hi=7200)


@dataclass(frozen=True)
class Closing:
    enabled: bool = doc(True, "Raise closing_missing (N11)")
    last_turns: int = doc(2, "A closing keyword counts in the agent's last this many turns before the "
                          "caller hung up (or on-hook) (count)", lo=1, hi=10)
    window_s: float = doc(10.0, "... or in this last part of the call before the caller hung up (or "
                          "on-hook), for hits between turns; short, as 谢谢 also falls mid-call (s; 0: "
                          "the turns only)", lo=0, hi=120)
    cut_short_s: float = doc(1.5, "The caller hanging up while the agent speaks, or within this time "
                             "of the agent's last speech with no caller turn between, cut the call "
                             "short: no closing verdict (s)", lo=0, hi=10)
    keywords: list[str] = doc(["还有什么", "谢谢", "再见"], "Any of these counts as a closing")
    handover_keywords: list[str] = doc(["请稍等"], "One of these in the agent's last turn ends the call "
                                       "as a handover (我把电话给您转到…，请稍等: a transfer, or the "
                                       "caller left during a hold): no closing verdict")
    min_score: float = doc(0.99, "A closing keyword of the fixed-class spotter (谢谢) counts from this "
                           "smoothed score in the judged turns, below its calibrated threshold: a "
                           "closing is expected there (score; at 0.5, 12-16 % of agent sentences "
                           "without 谢谢 reached it on the benchmark's calls, at 0.99 <= 0.5 %)",
                           lo=0.05, hi=1.0)


@dataclass(frozen=True)
class Hangup:
    enabled: bool = doc(True, "Raise agent_hung_up_first (N12)")
    busy_tone_hz: float = doc(450.0, "Busy tone frequency on the earpiece (Hz)", lo=300, hi=1000)
    busy_on_s: float = doc(0.35, "Busy tone cadence, on time (s)", lo=0.1, hi=2)
    busy_off_s: float = doc(0.35, "Busy tone cadence, off time (s)", lo=0.1, hi=2)


@dataclass(frozen=True)
class Tone:
    enabled: bool = doc(False, "Raise agent_tone_strained (N13, stretch; off by default)")


@dataclass(frozen=True)
class Vad:
    """Speech activity per channel (edge/dsp/vad.py): speech-band SNR over a tracked noise
    level, so it holds for quiet and loud talkers, in office noise and babble."""
    speech_dbfs: float = doc(-60.0, "Frames below this RMS level are never speech, whatever the "
                             "noise (dBFS; digital silence, a muted line)", lo=-90, hi=0)
    onset_snr_db: float = doc(10.0, "Speech starts when the 150-5000 Hz band is this far above "
                              "the noise level (dB; 10 keeps 10 dB SNR babble out)", lo=3, hi=30)
    sustain_snr_db: float = doc(3.0, "Speech goes on while the band stays this far above the "
                                "noise level (dB; at most onset_snr_db)", lo=0, hi=30)
    noise_window_s: float = doc(5.0, "The noise level is a low quantile of the band level over "
                                "this much past audio (s; longer than a phrase without a pause)",
                                lo=0.5, hi=30)
    noise_quantile: float = doc(0.2, "Share of the noise window at or below the noise level "
                                "(fraction; below the share of pauses and dips in speech)",
                                lo=0.05, hi=0.5)
    hangover_s: float = doc(0.3, "Speech state held after the last speech frame (s)", lo=0, hi=2)
    renew_snr_db: float = doc(8.0, "Speech goes on only while some frame of the last renew_s is "
                              "this far above the noise level (dB; babble's bumps pass "
                              "sustain_snr_db, speech renews with each syllable)", lo=0, hi=30)
    renew_s: float = doc(1.0, "How long speech goes on without a frame at renew_snr_db (s)",
                         lo=0.1, hi=10)
    talker_margin_db: float = doc(15.0, "On the microphone, speech starts only within this much of "
                                  "the agent's typical loud level (the median of their recent "
                                  "syllables; dB; colleagues' voices in the room are quieter than "
                                  "the agent's at the mouth; 0: no gate)",
                                  lo=0, hi=60)
    talker_prior_dbfs: float = doc(-35.0, "The agent's typical loud level until their own is known "
                                   "(0.5 s of loud syllables; dBFS in the 150-5000 Hz band: babble "
                                   "before the agent's first words is not them)", lo=-90, hi=0)
    first_onset_snr_db: float = doc(13.0, "On the microphone, until the agent's typical level is "
                                    "known, speech starts only this far above the noise, and only "
                                    "such frames teach it (dB; babble's bumps reach 10-12 dB over "
                                    "its own quantile, 45 % of an agent's speech frames reach 13)",
                                    lo=0, hi=40)
    foreground_snr_db: float = doc(20.0, "Frames this far above the noise start speech whatever "
                                   "the talker gate says (dB; an agent who shouted, then speaks "
                                   "normally, is still far above the room)", lo=0, hi=60)
    min_speech_s: float = doc(0.03, "Shortest burst over onset_snr_db that starts speech (s)",
                              lo=0, hi=2)


@dataclass(frozen=True)
class Hearing:
    enabled: bool = doc(True, "Track earpiece exposure and acoustic shock")
    standard: str = doc("niosh", "Dose rule: niosh (85 dB(A), 3 dB exchange) or eu",
                        choices=("niosh", "eu"))
    criterion_dba: float = doc(85.0, "Level allowed for the reference duration (dB(A))",
                               lo=70, hi=100)
    exchange_db: float = doc(3.0, "Level increase that halves the allowed time (dB)",
                             lo=1, hi=10)
    reference_h: float = doc(8.0, "Reference duration of the criterion level (h)", lo=1, hi=24)
    shock_limit_db_spl: float = doc(118.0, "Earpiece peak above this, in a 10 ms frame whose RMS "
                                    "is within 6 dB of it (a burst, not a speech peak), is an "
                                    "acoustic shock (dB SPL; Australian G616)", lo=80, hi=140)
    headset: str = doc("generic", "Calibration profile in hardware/calibration/ (name)")


@dataclass(frozen=True)
class Feedback:
    enabled: bool = doc(True, "Send LED feedback to the agent's device")
    min_interval_s: float = doc(20.0, "Minimum time between two LED nudges (s)", lo=0, hi=600)


@dataclass(frozen=True)
class Score:
    """Points a call loses per violation; the score is 100 minus the sum, floored at 0."""
    weights: dict[str, float] = doc(
        {"answer_late": 10, "greeting_missing": 15, "forbidden_phrase": 20,
         "speech_rate_high": 5, "speech_rate_low": 5, "agent_volume_high": 5,
         "agent_volume_low": 5, "hold_checkin_missed": 10, "overtalk": 5, "dead_air": 5,
         "call_too_long": 5, "closing_missing": 10, "agent_hung_up_first": 10},
        "Points deducted per violation, by event type")


@dataclass(frozen=True)
class Policy:
    name: str = doc("default", "Policy name shown in scorecards")
    answer: Answer = field(default_factory=Answer)
    greeting: Greeting = field(default_factory=Greeting)
    polite: Polite = field(default_factory=Polite)
    forbidden: Forbidden = field(default_factory=Forbidden)
    speech_rate: SpeechRate = field(default_factory=SpeechRate)
    volume: Volume = field(default_factory=Volume)
    hold: Hold = field(default_factory=Hold)
    overtalk: Overtalk = field(default_factory=Overtalk)
    dead_air: DeadAir = field(default_factory=DeadAir)
    call_length: CallLength = field(default_factory=CallLength)
    closing: Closing = field(default_factory=Closing)
    hangup: Hangup = field(default_factory=Hangup)
    tone: Tone = field(default_factory=Tone)
    vad: Vad = field(default_factory=Vad)
    hearing: Hearing = field(default_factory=Hearing)
    feedback: Feedback = field(default_factory=Feedback)
    score: Score = field(default_factory=Score)
    phrases: dict[str, list[str]] = doc(
        {}, "Phrases as text, heard by the sub-word model without retraining: a label (then usable "
        "in any keywords list above) -> its spoken forms in Han characters, an explicit toneless "
        "pinyin after '|' for a polyphone (e.g. 与我没关系 = [\"与我没关系\", \"跟我没关系\"])")
    phrase_scores: dict[str, float] = doc(
        {}, "Per phrase heard by the sub-word model (a [phrases] label or one of its own): the "
        "score from which it fires, its sensitivity (0-1; lower hears more and false-alarms more; "
        "default: the model's calibrated threshold; for a new phrase 0.5, 0.2 from 10 pinyin "
        "tokens on, about 5 syllables: long phrases score lower, and so does running speech)")


def _convert(value: Any, hint: Any, meta: dict[str, Any], source: str, key: str) -> Any:
    def fail(reason: str) -> PolicyError:
        return PolicyError(source, key, reason)

    origin = get_origin(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise fail(f"expected true or false, got {value!r}")
        return value
    if hint in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail(f"expected a number, got {value!r}")
        if hint is int and not isinstance(value, int):
            raise fail(f"expected a whole number, got {value!r}")
        if value != value:   # TOML has nan, and nan passes every range comparison
            raise fail("expected a number, got nan")
        lo, hi = meta.get("lo"), meta.get("hi")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise fail(f"{value!r} is outside the allowed range {lo}..{hi}")
        return hint(value)
    if hint is str:
        if not isinstance(value, str):
            raise fail(f"expected a string, got {value!r}")
        choices = meta.get("choices")
        if choices and value not in choices:
            raise fail(f"{value!r} is not one of {', '.join(choices)}")
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail("expected a list of non-empty strings")
        return list(value)
    if origin is dict:
        if not isinstance(value, dict):
            raise fail("expected a table")
        _, value_type = get_args(hint)
        return {k: _convert(v, value_type, {"lo": 0, "hi": 100}, source, f"{key}.{k}")
                for k, v in value.items()}
    raise fail(f"unsupported field type {hint!r}")  # a programming error in this module


def _build(cls: type, table: Any, source: str, prefix: str) -> Any:
    if not isinstance(table, dict):
        raise PolicyError(source, prefix or "(top)", "expected a table")
    hints = get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}
    for key in table:
        if key not in known:
            where = f"{prefix}.{key}" if prefix else key
            raise PolicyError(source, where, f"unknown key (known: {', '.join(known)})")
    kwargs: dict[str, Any] = {}
    for name, fld in known.items():
        if name not in table:
            continue
        key = f"{prefix}.{name}" if prefix else name
        hint = hints[name]
        if is_dataclass(hint):
            kwargs[name] = _build(hint, table[name], source, key)  # type: ignore[arg-type]
        else:
            kwargs[name] = _convert(table[name], hint, dict(fld.metadata), source, key)
    return cls(**kwargs)


def _cross_checks(policy: Policy, source: str) -> None:
    if policy.speech_rate.low_cpm >= policy.speech_rate.high_cpm:
        raise PolicyError(source, "speech_rate.low_cpm", "must be below speech_rate.high_cpm")
    volume = policy.volume
    if volume.low_dbfs + volume.hysteresis_db >= volume.high_dbfs - volume.hysteresis_db:
        raise PolicyError(source, "volume.low_dbfs", "must be below volume.high_dbfs by more than "
                          "twice volume.hysteresis_db (the normal band would be empty)")
    rate = policy.speech_rate
    if rate.low_cpm - rate.tolerance_cpm <= 0:
        raise PolicyError(source, "speech_rate.tolerance_cpm", "must be below speech_rate.low_cpm")
    if rate.min_call_speech_s > rate.judge_speech_s:
        raise PolicyError(source, "speech_rate.min_call_speech_s",
                          "must not exceed speech_rate.judge_speech_s")
    if policy.hold.caller_turn_s > policy.hold.caller_resumes_s:
        raise PolicyError(source, "hold.caller_turn_s", "must not exceed hold.caller_resumes_s")
    if policy.hold.checkin_interval_s > policy.hold.notice_by_s:
        raise PolicyError(source, "hold.checkin_interval_s", "must not exceed hold.notice_by_s")
    if policy.vad.sustain_snr_db > policy.vad.onset_snr_db:
        raise PolicyError(source, "vad.sustain_snr_db", "must not exceed vad.onset_snr_db")
    if policy.hold.reminder_lead_s >= policy.hold.checkin_interval_s:
        raise PolicyError(source, "hold.reminder_lead_s",
                          "must be shorter than hold.checkin_interval_s")
    from seatwatch.contracts.events import EVENT_TYPES

    for event_type in policy.score.weights:
        if event_type not in EVENT_TYPES:
            raise PolicyError(source, f"score.weights.{event_type}", "unknown event type")


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(source, "(syntax)", str(exc)) from None
    except RecursionError:   # tomllib recurses once per nested array or inline table
        raise PolicyError(source, "(syntax)", "arrays or tables nested too deeply") from None
    policy: Policy = _build(Policy, table, source, "")
    _cross_checks(policy, source)
    return policy


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file; None means the shipped default policy."""
    file = Path(path) if path is not None else POLICY_DIR / "default.toml"
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(str(file), "(file)", "no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(str(file), "(file)", f"cannot read: {exc}") from None
    return parse_policy(text, str(file))


def keyword_lists(policy: Policy) -> dict[str, list[str]]:
    """Every policy key that names keyword-model labels, with its labels."""
    return {"greeting.keywords": policy.greeting.keywords,
            "polite.keywords": policy.polite.keywords,
            "forbidden.keywords": policy.forbidden.keywords,
            "hold.start_keywords": policy.hold.start_keywords,
            "hold.checkin_keywords": policy.hold.checkin_keywords,
            "closing.keywords": policy.closing.keywords}


def check_keywords(policy: Policy, labels: tuple[str, ...]) -> None:
    """Refuse a policy naming a keyword the shipped model cannot hear."""
    for key, words in keyword_lists(policy).items():
        unknown = [w for w in words if w not in labels]
        if unknown:
            raise PolicyError(policy.name, key, f"the keyword model has no label {', '.join(unknown)} "
                              f"(it knows {', '.join(x for x in labels if not x.startswith('_'))})")


def describe(cls: type = Policy, prefix: str = "") -> list[tuple[str, Any, str]]:
    """(key, default, doc) for every policy field: used to write docs/policy.md."""
    rows: list[tuple[str, Any, str]] = []
    hints = get_type_hints(cls)
    for fld in fields(cls):
        key = f"{prefix}.{fld.name}" if prefix else fld.name
        if is_dataclass(hints[fld.name]):
            rows.extend(describe(hints[fld.name], key))  # type: ignore[arg-type]
            continue
        default = fld.default if fld.default is not MISSING else fld.default_factory()  # type: ignore[misc,operator]
        rows.append((key, default, fld.metadata.get("doc", "")))
    return rows
