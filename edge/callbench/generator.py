"""Seeded call plans with their truth: which alert types each call must raise.

Half the calls are compliant (nothing but call_started / call_ended expected); the other
half carry one violation of a NORMS.md rule (occasionally two), the rest of the call
compliant. Violation types cycle through a seeded order so every rule gets its share, and
voice families alternate within each type. A plan is pure data (JSON-able steps on one
time line, see render.py); nothing here synthesizes audio.

Truth per event type (the policy is policies/default.toml; docs/eval.md has the table):
answer_late 4-6 rings (compliant 0-3); greeting_missing a first agent turn without 您好 or
starting 6.8-7.4 s after off-hook; forbidden_phrase one agent sentence with 不知道 / 没办法 /
没关系; speech_rate_high / _low the whole call at >= 175 / <= 85 cpm measured, over >= 72 s
of agent speech (compliant 105-145); agent_volume_high / _low an active level of -9.5..-7 /
-48..-44.5 dBFS for the whole call or >= 18 s of speech (compliant -34..-22, edges
-37..-20); hold_checkin_missed a 26-32 s wait (after 请稍等, with music, or unannounced;
compliant holds check in every 6-12 s); overtalk the agent starting 1-2 s before the
caller's long sentence ends (the caller interrupting or backchanneling is compliant);
dead_air 10-13 s of silence after the caller's question; call_too_long >= 200 s estimated
(others <= 145); closing_missing last agent turns without 还有什么 / 谢谢 / 再见 (a caller
who cuts the closing short, or a transfer, is compliant); agent_hung_up_first on-hook with
no far-end hang-up and no busy tone.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from seatwatch.edge.callbench.sentences import (
    CALLER_ACKS,
    CALLER_BACKCHANNELS,
    CALLER_BYE,
    CALLER_DONE,
    CALLER_TRANSFERRED,
    CLOSING_FORMS,
    SEED_SCRIPTS,
    TABOO_FORMS,
    Pools,
    han_chars,
    has_any,
    pools,
)

GENERATOR_VERSION = 3          # names the render cache: bump when rendering changes
DRAWS = 1                      # seeds the random draws: bump only to draw different calls

VIOLATIONS = ("answer_late", "greeting_missing", "forbidden_phrase", "speech_rate_high",
              "speech_rate_low", "agent_volume_high", "agent_volume_low", "hold_checkin_missed",
              "overtalk", "dead_air", "call_too_long", "closing_missing", "agent_hung_up_first")
FAMILIES = ("espeak", "neural", "mellotron")
# `--family all` alternates these two; the Mellotron voices are a held-out family of their
# own (`--family mellotron`), so the plans of `all` stay what they were before it existed
ALL_FAMILIES = ("espeak", "neural")
NOISES = ("none", "steady", "babble")
CHANNELS = ("clean", "reverb", "narrowband")
SECOND_VIOLATION_P = 0.15
_EXCLUSIVE = ({"speech_rate_high", "speech_rate_low"}, {"agent_volume_high", "agent_volume_low"},
              {"speech_rate_high", "speech_rate_low", "call_too_long"})

# Speakers never heard in training (models/synth/dataset.py): espeak-ng TEST_VOICES and the
# neural warp region around the recorded speaker's own vocal tract.
ESPEAK_HELD_OUT = ("m6", "m7", "f4", "f5", "m8", "klatt3", "Andy", "anika", "grandma", "steph2",
                   "Mario", "linda", "iven3", "edward2")
NOT_AGENTS = ("whisper", "whisperf")          # no agent whispers into a headset all call
NEURAL_TRAIN_WARPS = ((0.86, 0.965), (1.035, 1.16))
NEURAL_TEST_WARPS = ((0.97, 1.03),)
NEURAL_F0 = (0.75, 0.87, 1.0, 1.12, 1.25)

# espeak-ng cmn-latn-pinyin: (-s, -g) -> characters per minute over VAD speech frames,
# measured once on held-out sentences, mean of f2, m3, Andy, klatt3 (spread +-3 cpm)
ESPEAK_CPM_GAP0 = ((80, 104.0), (95, 116.5), (110, 134.5), (125, 152.5), (140, 172.0),
                   (170, 210.0), (200, 256.0), (230, 306.0))
ESPEAK_CPM_SPEED80 = ((0, 104.0), (4, 83.0), (8, 73.0), (12, 70.0))
# Per variant: measured rate at -s 100 over the table's (the benchmark's agent sentences,
# VAD speech seconds). Variants off by more than AGENT_RATE_FACTOR do not play agents: the
# VAD splits their speech oddly, so a rate truth for them would be the VAD's artefact; the
# most extreme (EXTREME_RATE_FACTOR) do not play callers either (the VAD barely hears them).
ESPEAK_RATE_FACTOR: dict[str, float] = {
    "adam": 1.059, "Alex": 0.975, "Alicia": 0.839, "Andrea": 4.275, "Andy": 0.938, "anika": 6.058,
    "Annie": 0.976, "announcer": 1.058, "antonio": 6.736, "AnxiousAndy": 0.745, "aunty": 1.155,
    "belinda": 1.218, "benjamin": 1.06, "boris": 0.975, "caleb": 1.205, "croak": 0.994, "david": 1.396,
    "Denis": 1.583, "Diogo": 1.662, "ed": 1.421, "edward": 0.947, "edward2": 1.069, "f1": 0.983,
    "f2": 0.972, "f3": 0.972, "f4": 0.988, "f5": 0.976, "fast": 1.045, "Gene": 1.575, "Gene2": 1.819,
    "grandma": 1.264, "grandpa": 1.003, "gustave": 1.032, "Henrique": 1.851, "Hugo": 1.208,
    "iven": 4.816, "iven2": 0.97, "iven3": 0.973, "iven4": 0.972, "Jacky": 2.08, "john": 1.003,
    "kaukovalta": 0.997, "klatt": 1.205, "klatt2": 1.346, "klatt3": 1.047, "klatt4": 0.953,
    "klatt5": 0.949, "klatt6": 1.205, "Lee": 0.953, "linda": 1.298, "m1": 0.996, "m2": 1.006,
    "m3": 1.027, "m4": 0.965, "m5": 1.007, "m6": 1.03, "m7": 1.521, "m8": 1.798, "marcelo": 1.0,
    "Marco": 0.633, "Mario": 1.14, "max": 0.989, "Michael": 1.177, "michel": 1.318, "miguel": 1.577,
    "Mike": 0.984, "Nguyen": 1.37, "norbert": 1.01, "pablo": 0.974, "paul": 2.275, "pedro": 6.72,
    "quincy": 1.194, "RicishayMax": 1.003, "RicishayMax2": 11.288, "RicishayMax3": 10.508, "rob": 0.979,
    "robert": 0.989, "sandro": 1.736, "shelby": 0.976, "steph": 1.337, "steph2": 1.332, "steph3": 1.336,
    "Storm": 0.983, "travis": 1.399, "Tweaky": 1.006, "victor": 1.089, "whisper": 0.996,
    "whisperf": 0.989, "zac": 0.991,
}
AGENT_RATE_FACTOR = (0.8, 1.25)
EXTREME_RATE_FACTOR = (0.7, 2.5)
# the neural voice: duration ratio -> cpm at warp 1.0 (cpm scales with warp), measured on
# the benchmark's agent sentences; text moves it +-10 %, so render.py re-tunes a call whose
# agent misses its band (RATE_BANDS)
NEURAL_CPM = ((1.0, 306.0), (1.4, 222.9), (2.0, 158.8), (2.6, 124.8), (3.2, 102.6), (4.0, 85.6),
              (4.6, 76.6))

COMPLIANT_CPM = (112.0, 138.0)
FAST_CPM = (182.0, 240.0)
SLOW_CPM_ESPEAK = (70.0, 82.0)
SLOW_CPM_NEURAL = (72.0, 82.0)
SLOW_CPM_MELLOTRON = (76.0, 82.0)     # stretch <= 300/76 = 3.95, inside MELLOTRON_STRETCH
SLOW_CPM = {"espeak": SLOW_CPM_ESPEAK, "neural": SLOW_CPM_NEURAL, "mellotron": SLOW_CPM_MELLOTRON}
MELLOTRON_STRETCH = (0.8, 4.0)        # how far render.py may re-tune a Mellotron voice
# what the agent's measured rate (characters over VAD speech seconds, whole call) must be
RATE_BANDS = {"speech_rate_high": (175.0, 400.0), "speech_rate_low": (0.0, 85.0), "": (105.0, 145.0)}
NORMAL_LEVEL = (-34.0, -22.0)
EDGE_LEVELS = ((-37.0, -34.0), (-22.0, -20.0))
HIGH_LEVEL = (-9.5, -7.0)
LOW_LEVEL = (-48.0, -44.5)
RATE_SPEECH_S = 72.0          # estimated agent speech in a rate-violating call (>= 60 s judged)
LONG_CALL_S = 205.0           # estimated length of a call_too_long call (limit 180 s)
MAX_COMPLIANT_S = 130.0       # estimated length of every other call (under 180 s when rendered)
CLAUSE_PAUSE_S = 0.25         # a comma or stop inside an utterance, for the estimates
UTTERANCE_EDGES_S = 0.6       # the silence a synthesizer leaves around an utterance


@dataclass(frozen=True)
class Voice:
    family: str                 # espeak | neural | mellotron
    name: str                   # espeak-ng variant, NeuralVoice.name() or MellotronVoice.name()
    speed: int = 0              # espeak-ng -s
    gap: int = 0                # espeak-ng -g (10 ms units between syllables)
    pitch: int = 50             # espeak-ng -p
    cpm: float = 120.0          # intended characters per minute of speech
    held_out: bool = False      # a speaker the models never trained on


@dataclass
class CallPlan:
    id: str
    index: int
    seed: int
    expect: list[str]           # alert types the call must raise (besides call_started/ended)
    agent: Voice
    caller: Voice
    level_dbfs: float           # the agent's active speech level where compliant
    caller_level_dbfs: float
    noise: str                  # none | steady | babble
    snr_db: float               # agent channel: noise under the agent's (quietest) level
    noise_dbfs: float           # ... the noise level itself
    ear_snr_db: float           # earpiece: noise under the caller's level
    channel: str                # clean | reverb | narrowband (agent mic); the earpiece is a phone line
    ear_mulaw: bool
    styles: list[str]           # opening, hold, interruptions, ending: what kind of call this is
    violations: dict[str, dict[str, Any]]   # type -> how it was made
    steps: list[dict[str, Any]]
    estimate: dict[str, float] = field(default_factory=dict)
    sources: str = "seed+corpus"

    @property
    def family(self) -> str:
        return self.agent.family

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> CallPlan:
        doc = dict(doc)
        doc["agent"], doc["caller"] = Voice(**doc["agent"]), Voice(**doc["caller"])
        return cls(**doc)

    def key(self) -> str:
        """Changes whenever anything that shapes the audio changes (the render cache key)."""
        text = json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha1(f"v{GENERATOR_VERSION}|{text}".encode()).hexdigest()[:12]


# --- voices ------------------------------------------------------------------------------
def _interp(points: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear through points sorted by x (extrapolating at the ends)."""
    pts = sorted(points)
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if x <= x1 or (x1, y1) == pts[-1]:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return pts[-1][1]


def espeak_setting(cpm: float, voice: str = "") -> tuple[int, int]:
    """(-s, -g) for about `cpm` characters per minute of speech (by `voice`'s own factor)."""
    cpm /= ESPEAK_RATE_FACTOR.get(voice, 1.0)
    if cpm >= ESPEAK_CPM_GAP0[0][1]:
        return max(80, int(round(_interp(tuple((c, s) for s, c in ESPEAK_CPM_GAP0), cpm)))), 0
    gap = int(round(_interp(tuple((c, g) for g, c in ESPEAK_CPM_SPEED80), cpm)))
    return 80, min(20, max(0, gap))


def rate_band(expect: list[str] | tuple[str, ...]) -> tuple[float, float]:
    for kind in ("speech_rate_high", "speech_rate_low"):
        if kind in expect:
            return RATE_BANDS[kind]
    return RATE_BANDS[""]


def retune(voice: Voice, measured_cpm: float) -> Voice:
    """The same speaker asked to speak `voice.cpm` again, after measuring `measured_cpm`."""
    ratio = voice.cpm / max(measured_cpm, 1.0)
    if voice.family == "neural":
        from seatwatch.models.synth.neural import NeuralVoice

        nv = NeuralVoice.parse(voice.name)
        duration = round(min(6.0, max(0.8, nv.duration / ratio)), 3)
        return replace(voice, name=NeuralVoice(duration, nv.f0, nv.energy, nv.warp).name())
    if voice.family == "mellotron":
        from seatwatch.models.synth.mellotron import MellotronVoice, parse

        mv = parse(voice.name)
        lo, hi = MELLOTRON_STRETCH
        stretch = round(min(hi, max(lo, mv.stretch / ratio)), 2)
        if stretch == round(mv.stretch, 2):         # one 0.02 step at least (within the bounds)
            stretch = round(min(hi, max(lo, mv.stretch + (-0.02 if ratio > 1 else 0.02))), 2)
        return replace(voice, name=MellotronVoice(mv.speaker, stretch).name())
    speed, gap = espeak_setting(espeak_cpm(voice.speed, voice.gap, voice.name) * ratio, voice.name)
    if (speed, gap) == (voice.speed, voice.gap):     # the grid is coarse: one step at least
        if ratio > 1:
            speed, gap = (speed, gap - 1) if gap else (speed + 2, gap)
        else:
            speed, gap = (speed - 2, gap) if speed >= 82 else (80, min(20, gap + 1))
    return replace(voice, speed=speed, gap=gap)


def espeak_cpm(speed: int, gap: int, voice: str = "") -> float:
    factor = ESPEAK_RATE_FACTOR.get(voice, 1.0)
    if gap:
        return factor * _interp(ESPEAK_CPM_SPEED80, gap)
    return factor * _interp(ESPEAK_CPM_GAP0, speed)


def neural_duration(cpm: float, warp: float) -> float:
    """FastSpeech2 duration ratio for about `cpm` with this warp (log-log interpolation)."""
    logs = tuple((math.log(c), math.log(d)) for d, c in NEURAL_CPM)
    return round(math.exp(_interp(logs, math.log(cpm / warp))), 3)


def _fits(voice: str, agent: bool) -> bool:
    lo, hi = AGENT_RATE_FACTOR if agent else EXTREME_RATE_FACTOR
    return lo <= ESPEAK_RATE_FACTOR.get(voice, 1.0) <= hi and not (agent and voice in NOT_AGENTS)


def _espeak_voice(rng: random.Random, cpm: float, held_out: bool, agent: bool) -> Voice:
    from seatwatch.models.synth.speech import VARIANTS

    pool = [v for v in VARIANTS if (v in ESPEAK_HELD_OUT) == held_out and not (agent and v in NOT_AGENTS)]
    name = rng.choice(pool)
    if not _fits(name, agent):
        # swapped by a hash, not by `rng`: the draws after this one (the call's text)
        # stay what they were before variants were sorted out
        fitting = [v for v in pool if _fits(v, agent)]
        name = fitting[int(hashlib.sha1(f"{name}|{cpm:.3f}".encode()).hexdigest()[:8], 16) % len(fitting)]
    speed, gap = espeak_setting(cpm, name) if agent else espeak_setting(cpm)
    return Voice("espeak", name, speed, gap, rng.randint(35, 65),
                 round(espeak_cpm(speed, gap, name if agent else ""), 1), held_out)


def _neural_voice(rng: random.Random, cpm: float, held_out: bool) -> Voice:
    from seatwatch.models.synth.neural import NeuralVoice

    lo, hi = rng.choice(NEURAL_TEST_WARPS if held_out else NEURAL_TRAIN_WARPS)
    warp = round(rng.uniform(lo, hi), 3)
    duration = neural_duration(cpm, warp)
    name = NeuralVoice(duration, rng.choice(NEURAL_F0), 1.0, warp).name()
    return Voice("neural", name, cpm=round(cpm, 1), held_out=held_out)


def _mellotron_voice(rng: random.Random, cpm: float) -> Voice:
    """A held-out Mellotron speaker (always: the family is held out), stretched to `cpm`."""
    from seatwatch.models.synth.mellotron import test_voice

    return Voice("mellotron", test_voice(rng, cpm), cpm=round(cpm, 1), held_out=True)


def make_voice(rng: random.Random, family: str, cpm: float, held_out: bool, *, agent: bool = True) -> Voice:
    """`held_out` is ignored for the Mellotron family (only its TEST_SPEAKERS play)."""
    if family == "mellotron":
        return _mellotron_voice(rng, cpm)
    return _neural_voice(rng, cpm, held_out) if family == "neural" else \
        _espeak_voice(rng, cpm, held_out, agent)


# --- the call builder --------------------------------------------------------------------
class _Builder:
    """Steps on one time line, with running estimates of length and agent speech."""

    def __init__(self, rng: random.Random, text: Pools, agent_cpm: float, caller_cpm: float) -> None:
        self.rng, self.text = rng, text
        self.agent_cpm, self.caller_cpm = agent_cpm, caller_cpm
        self.steps: list[dict[str, Any]] = []
        self.est_s = 0.0
        self.agent_s = 0.0

    def _speech_s(self, text: str, cpm: float) -> float:
        clauses = sum(text.count(p) for p in "，。？！") or 1
        return han_chars(text) * 60.0 / cpm + CLAUSE_PAUSE_S * (clauses - 1) + UTTERANCE_EDGES_S

    def agent(self, text: str, **opts: Any) -> None:
        seconds = self._speech_s(text, self.agent_cpm)
        self.steps.append({"do": "agent", "text": text, **opts})
        self.est_s += seconds - float(opts.get("overlap_s", 0.0))
        self.agent_s += han_chars(text) * 60.0 / self.agent_cpm

    def caller(self, text: str, **opts: Any) -> None:
        self.steps.append({"do": "caller", "text": text, **opts})
        if "backchannel_at" not in opts:
            self.est_s += self._speech_s(text, self.caller_cpm) - float(opts.get("interrupt_s", 0.0))

    def pause(self, lo: float, hi: float | None = None) -> None:
        seconds = round(self.rng.uniform(lo, hi) if hi is not None else lo, 2)
        self.steps.append({"do": "pause", "s": seconds})
        self.est_s += seconds

    def music(self, seconds: float) -> None:
        self.steps.append({"do": "music", "s": round(seconds, 2)})
        self.est_s += seconds

    def control(self, kind: str, **opts: Any) -> None:
        self.steps.append({"do": kind, **opts})
        if kind == "ring":
            self.est_s += 3.0 * int(opts["n"]) - 1.5


def _pick(rng: random.Random, items: tuple[str, ...] | list[str]) -> str:
    return items[rng.randrange(len(items))]


@dataclass
class _Choices:
    """Per-call decisions that shape the text and the time line."""
    opening: str            # greet | caller_first | transfer_in | bare_greeting | late_greeting
    hold: str | None        # hold_checkins | hold_music | missed_silent | missed_music | missed_unannounced
    ending: str             # closing | caller_bye_first | cut_short_closing | cut_short_body | transfer_out
    #                         | no_closing | agent_hangs_up | no_closing_agent_hangs_up
    interrupts: str | None  # caller_interrupts | caller_backchannel
    busy_only: bool         # the phone sends no far-end signal: only the busy tone tells
    rings: int
    overtalk: bool
    dead_air: bool
    forbidden: bool
    volume_segment: bool


def _agent_line(b: _Builder, keyword_free: bool) -> str:
    pool = b.text.agent if keyword_free or b.rng.random() < 0.8 else b.text.agent_polite
    return _pick(b.rng, pool)


def _exchange(b: _Builder, c: _Choices, *, sentences: int, keyword_free: bool,
              gain_db: float | None = None, overtalk: bool = False, dead_air: bool = False,
              forbidden: bool = False) -> None:
    """The caller asks, the agent answers in `sentences` utterances, the caller replies."""
    rng = b.rng
    question = _pick(rng, b.text.caller)
    if overtalk:        # a long question: two sentences said as one
        question = question.rstrip("。？！") + "，" + _pick(rng, b.text.caller)
    b.caller(question)
    opts: dict[str, Any] = {} if gain_db is None else {"gain_db": gain_db}
    if overtalk:
        b.agent(_agent_line(b, keyword_free), overlap_s=round(rng.uniform(1.0, 2.0), 2), **opts)
        sentences -= 1
    elif dead_air:
        b.pause(10.0, 13.0)
    else:
        b.pause(0.3, 1.2)
    forbidden_at = rng.randrange(max(1, sentences)) if forbidden else -1
    for k in range(sentences):
        if k or overtalk:
            b.pause(0.25, 0.7)
        b.agent(_pick(rng, b.text.forbidden) if k == forbidden_at else _agent_line(b, keyword_free), **opts)
    if forbidden and sentences <= 0:
        b.pause(0.3, 0.6)
        b.agent(_pick(rng, b.text.forbidden), **opts)
    b.pause(0.3, 1.0)
    if c.interrupts == "caller_backchannel" and rng.random() < 0.5:
        b.caller(_pick(rng, CALLER_BACKCHANNELS), backchannel_at=round(rng.uniform(0.3, 0.6), 2))
    if rng.random() < 0.6:
        b.caller(_pick(rng, CALLER_ACKS))
        b.pause(0.3, 1.0)


def _interrupted_exchange(b: _Builder, keyword_free: bool, gain_db: float | None) -> None:
    """The caller cuts in 1.5-3 s before the agent's long answer ends; the agent yields."""
    rng = b.rng
    opts: dict[str, Any] = {} if gain_db is None else {"gain_db": gain_db}
    b.caller(_pick(rng, b.text.caller))
    b.pause(0.3, 1.0)
    answer = _agent_line(b, keyword_free).rstrip("。？！") + "，" + _agent_line(b, keyword_free)
    b.agent(answer, **opts)
    b.caller(_pick(rng, b.text.caller), interrupt_s=round(rng.uniform(1.5, 3.0), 2),
             yield_s=round(rng.uniform(0.4, 0.8), 2))
    b.pause(0.4, 1.0)
    b.agent(_agent_line(b, keyword_free), **opts)
    b.pause(0.3, 1.0)


def _hold(b: _Builder, kind: str, gain_db: float | None) -> None:
    rng, text = b.rng, b.text
    opts: dict[str, Any] = {} if gain_db is None else {"gain_db": gain_db}
    b.caller(_pick(rng, text.caller))
    b.pause(0.4, 1.0)
    b.agent(_pick(rng, text.unannounced if kind == "missed_unannounced" else text.hold_start), **opts)
    if kind != "missed_unannounced" and rng.random() < 0.5:
        b.pause(0.3, 0.7)
        b.caller(_pick(rng, ("好的。", "好。", "嗯，好的。")))
    music = kind in ("hold_music", "missed_music")
    if kind.startswith("missed"):
        wait = rng.uniform(26.0, 32.0)
        if music:
            b.pause(0.5)
            b.music(wait - 1.2)
            b.pause(0.7)
        else:
            b.pause(round(wait, 2))
    else:
        for _ in range(rng.randint(1, 3)):
            wait = rng.uniform(6.0, 12.0)
            if music:       # the music stops when the agent takes the line back to check in
                b.pause(0.5)
                b.music(wait - 1.3)
                b.pause(0.8)
            else:
                b.pause(round(wait, 2))
            b.agent(_pick(rng, text.checkin), **opts)
        wait = rng.uniform(4.0, 10.0)
        if music:
            b.pause(0.5)
            b.music(wait - 1.3)
            b.pause(0.8)
        else:
            b.pause(round(wait, 2))
    b.agent(_pick(rng, text.resume), **opts)
    b.pause(0.25, 0.6)
    b.agent(_pick(rng, text.agent), **opts)
    b.pause(0.3, 1.0)


def _hangup(b: _Builder, c: _Choices, *, after: tuple[float, float] = (0.5, 1.5)) -> None:
    """The caller hangs up: the far-end signal (unless busy-only) and the busy tone; the
    agent puts the handset down 1-2.5 s later."""
    b.pause(*after)
    b.control("far_end_hangup", signal=not c.busy_only, busy=True)
    if c.busy_only:         # the busy tone needs a burst, a gap and a burst to be sure
        b.pause(1.6, 2.6)
    else:
        b.pause(1.0, 2.2)
    b.control("on_hook")


def _ending(b: _Builder, c: _Choices, gain_db: float | None) -> None:
    rng, text = b.rng, b.text
    opts: dict[str, Any] = {} if gain_db is None else {"gain_db": gain_db}
    kind = c.ending
    if kind in ("closing", "agent_hangs_up"):
        b.agent(_pick(rng, text.closing_ask), **opts)
        b.pause(0.3, 0.8)
        b.caller(_pick(rng, CALLER_DONE))
        b.pause(0.3, 0.8)
        b.agent(_pick(rng, text.closing_bye), **opts)
        if kind == "agent_hangs_up":        # the goodbyes said, the agent does not wait
            b.pause(0.2, 0.5)
            b.caller(_pick(rng, ("好，再见。", "再见。", "好的，再见。")))
            b.pause(0.2, 0.6)
            b.control("on_hook")
        else:
            _hangup(b, c)
    elif kind == "caller_bye_first":
        b.caller(_pick(rng, CALLER_BYE))
        b.pause(0.3, 0.7)
        b.agent(_pick(rng, text.closing_bye), **opts)
        _hangup(b, c)
    elif kind == "cut_short_closing":        # the caller hangs up on the agent's closing
        b.agent(_pick(rng, text.closing_ask), **opts)
        b.control("far_end_hangup", signal=not c.busy_only, busy=True, into_s=round(rng.uniform(0.4, 0.9), 2))
        b.pause(1.6, 2.4)
        b.control("on_hook")
    elif kind == "cut_short_body":           # ... or in the middle of an answer
        b.caller(_pick(rng, text.caller))
        b.pause(0.4, 1.0)
        b.agent(_agent_line(b, True), **opts)
        b.control("far_end_hangup", signal=not c.busy_only, busy=True, into_s=round(rng.uniform(1.0, 2.0), 2))
        b.pause(1.6, 2.4)
        b.control("on_hook")
    elif kind == "transfer_out":             # handed to another desk: the line leaves, no busy tone
        b.caller(_pick(rng, text.caller))
        b.pause(0.4, 1.0)
        b.agent(_pick(rng, text.transfer), **opts)
        b.pause(0.4, 1.0)
        b.control("far_end_hangup", signal=True, busy=False)
        b.pause(0.6, 1.2)
        b.control("on_hook")
    else:                                    # no_closing / no_closing_agent_hangs_up
        b.agent(_agent_line(b, True), **opts)
        b.pause(0.3, 0.8)
        b.caller(_pick(rng, CALLER_ACKS))
        if kind == "no_closing_agent_hangs_up":
            b.pause(0.5, 1.0)
            b.control("on_hook")
        else:
            _hangup(b, c, after=(0.4, 1.0))


def _opening(b: _Builder, c: _Choices) -> None:
    rng, text = b.rng, b.text
    b.pause(0.5)
    if c.rings:
        b.control("ring", n=c.rings)
    b.control("off_hook")
    if c.opening == "caller_first":
        b.pause(0.3, 0.8)
        b.caller(_pick(rng, text.caller_hello))
        b.pause(0.3, 1.2)
    elif c.opening == "transfer_in":
        b.pause(0.3, 0.8)
        b.caller(_pick(rng, CALLER_TRANSFERRED) + _pick(rng, text.caller))
        b.pause(0.4, 1.2)
    elif c.opening == "late_greeting":
        b.pause(6.8, 7.4)
    else:
        b.pause(0.3, 1.5)
    b.agent(_pick(rng, text.greetings_bare if c.opening == "bare_greeting" else text.greetings))


def _choices(rng: random.Random, violations: set[str]) -> _Choices:
    if "greeting_missing" in violations:
        opening = rng.choice(("bare_greeting", "bare_greeting", "late_greeting"))
    else:
        opening = rng.choices(("greet", "caller_first", "transfer_in"), (6, 3, 1))[0]
    if "hold_checkin_missed" in violations:
        hold: str | None = rng.choices(("missed_silent", "missed_music", "missed_unannounced"), (2, 1, 1))[0]
    elif violations & {"speech_rate_high", "speech_rate_low"}:
        hold = None         # a minute of agent speech leaves no room for a hold under 3 minutes
    else:
        hold = rng.choices((None, "hold_checkins", "hold_music"), (6, 3, 1))[0]
    if "closing_missing" in violations:
        ending = "no_closing_agent_hangs_up" if "agent_hung_up_first" in violations else "no_closing"
    elif "agent_hung_up_first" in violations:
        ending = "agent_hangs_up"
    else:
        ending = rng.choices(("closing", "caller_bye_first", "cut_short_closing", "cut_short_body",
                              "transfer_out"), (10, 3, 2, 1, 2))[0]
    interrupts = rng.choices((None, "caller_interrupts", "caller_backchannel"), (5, 3, 2))[0]
    rings = rng.randint(4, 6) if "answer_late" in violations else rng.choices((0, 1, 2, 3), (1, 4, 4, 2))[0]
    return _Choices(opening, hold, ending, interrupts, rng.random() < 0.4, rings,
                    "overtalk" in violations, "dead_air" in violations, "forbidden_phrase" in violations,
                    rng.random() < 0.5)


def _level(rng: random.Random, violations: set[str],
           c: _Choices) -> tuple[float, float | None, dict[str, Any]]:
    """(base level, gain of the violating stretch or None, how)."""
    if rng.random() < 0.15:
        lo, hi = rng.choice(EDGE_LEVELS)
    else:
        lo, hi = NORMAL_LEVEL
    base = round(rng.uniform(lo, hi), 1)
    for side, (vlo, vhi) in (("high", HIGH_LEVEL), ("low", LOW_LEVEL)):
        if f"agent_volume_{side}" in violations:
            level = round(rng.uniform(vlo, vhi), 1)
            if c.volume_segment:
                return base, round(level - base, 1), {"level_dbfs": level, "stretch": "segment"}
            return level, None, {"level_dbfs": level, "stretch": "whole_call"}
    return base, None, {}


def plan_call(seed: int, index: int, violations: tuple[str, ...], family: str, noise: str = "none", *,
              seed_path: Path = SEED_SCRIPTS) -> CallPlan:
    """One call: `violations` empty for a compliant call. A draw whose estimates miss its
    truth (a compliant call estimated over 150 s, say) is drawn again."""
    for attempt in range(50):
        plan = _draw(random.Random(f"callbench-{DRAWS}-{seed}-{index}-{attempt}"),
                     seed, index, violations, family, noise, seed_path)
        if not check_plan(plan):
            return plan
    raise RuntimeError(f"call {index}: no plan matches its truth {violations} in 50 draws")


def _draw(rng: random.Random, seed: int, index: int, violations: tuple[str, ...], family: str,
          noise: str, seed_path: Path) -> CallPlan:
    text = pools(seed_path)
    vset = set(violations)
    c = _choices(rng, vset)
    held_out = rng.random() < 0.5
    if "speech_rate_high" in vset:
        cpm = rng.uniform(*FAST_CPM)
    elif "speech_rate_low" in vset:
        cpm = rng.uniform(*SLOW_CPM[family])
    else:
        cpm = rng.uniform(*COMPLIANT_CPM)
    agent = make_voice(rng, family, cpm, held_out)
    caller_family = "neural" if rng.random() < 0.2 else "espeak"      # for every agent family
    caller = make_voice(rng, caller_family, rng.uniform(112.0, 150.0), rng.random() < 0.5, agent=False)
    base, gain, volume_how = _level(rng, vset, c)
    snr = round(rng.uniform(24.0, 30.0) if "agent_volume_low" in vset else rng.uniform(10.0, 30.0), 1)
    # room noise sits `snr` under the agent's quietest speech (a quiet agent is still heard)
    noise_dbfs = round(min(base, base + (gain or 0.0)) - snr, 1)
    b = _Builder(rng, text, agent.cpm, caller.cpm)
    keyword_free = "closing_missing" in vset      # no 谢谢 / 再见 drifting into the last turns

    _opening(b, c)
    # the body: exchanges until the call is long enough for what it must show
    need_agent_s = RATE_SPEECH_S if vset & {"speech_rate_high", "speech_rate_low"} else 0.0
    target_s = LONG_CALL_S if "call_too_long" in vset else rng.uniform(35.0, 95.0)
    segment_gain = gain if gain is not None else None
    plan_events = ["exchange"] * rng.randint(1, 3)
    if c.hold:
        plan_events.insert(rng.randint(0, len(plan_events)), "hold")
    if c.interrupts == "caller_interrupts":
        plan_events.insert(rng.randint(0, len(plan_events)), "interrupted")
    for name in ("overtalk", "dead_air", "forbidden"):
        if getattr(c, name):
            plan_events.insert(rng.randint(0, len(plan_events)), name)
    if segment_gain is not None:       # a long stretch at the violating level: >= 18 s of speech
        plan_events.insert(rng.randint(1, len(plan_events)), "volume_segment")
    done = 0
    while plan_events or b.est_s < target_s - 25.0 or b.agent_s < need_agent_s:
        event = plan_events.pop(0) if plan_events else "exchange"
        if not plan_events and event == "exchange" and b.est_s > MAX_COMPLIANT_S - 30.0 \
                and "call_too_long" not in vset and b.agent_s >= need_agent_s and done >= 1:
            break
        done += 1
        if event == "hold":
            _hold(b, c.hold or "hold_checkins", None)
        elif event == "interrupted":
            _interrupted_exchange(b, keyword_free, None)
        elif event == "volume_segment":
            start = b.agent_s
            while b.agent_s - start < 18.0:
                _exchange(b, c, sentences=rng.randint(2, 3), keyword_free=keyword_free, gain_db=segment_gain)
        else:
            _exchange(b, c, sentences=rng.randint(1, 3) if need_agent_s == 0 else rng.randint(5, 7),
                      keyword_free=keyword_free, overtalk=event == "overtalk", dead_air=event == "dead_air",
                      forbidden=event == "forbidden")
    _ending(b, c, None)

    how: dict[str, dict[str, Any]] = {v: {} for v in violations}
    if "answer_late" in how:
        how["answer_late"] = {"rings": c.rings}
    if "greeting_missing" in how:
        how["greeting_missing"] = {"opening": c.opening}
    if "hold_checkin_missed" in how:
        how["hold_checkin_missed"] = {"hold": c.hold}
    for side in ("high", "low"):
        if f"speech_rate_{side}" in how:
            how[f"speech_rate_{side}"] = {"cpm": agent.cpm}
        if f"agent_volume_{side}" in how:
            how[f"agent_volume_{side}"] = volume_how
    styles = [c.opening, c.hold or "no_hold", c.ending, c.interrupts or "no_interrupts",
              "busy_only" if c.busy_only else "signal_and_busy"]
    return CallPlan(
        id=f"c{index:04d}", index=index, seed=seed, expect=sorted(violations), agent=agent, caller=caller,
        level_dbfs=base, caller_level_dbfs=round(rng.uniform(-32.0, -22.0), 1), noise=noise, snr_db=snr,
        noise_dbfs=noise_dbfs,
        ear_snr_db=round(rng.uniform(15.0, 30.0), 1), channel=rng.choices(CHANNELS, (4, 3, 3))[0],
        ear_mulaw=rng.random() < 0.5, styles=styles, violations=how, steps=b.steps,
        estimate={"duration_s": round(b.est_s, 1), "agent_speech_s": round(b.agent_s, 1)},
        sources="seed+corpus" if text.seed_lines else "corpus")


def _schedule(seed: int, count: int, family: str) -> list[tuple[tuple[str, ...], str, str]]:
    """(violations, family, noise) per call: even indices compliant, odd ones cycling
    through a seeded order of the rules; for `all`, espeak and neural alternate so each
    rule is heard in both (any other `family` plays every call); noise kinds are dealt
    from a shuffled deck (a third each)."""
    rng = random.Random(f"callbench-schedule-{DRAWS}-{seed}")
    order = list(VIOLATIONS)
    rng.shuffle(order)
    deck = [NOISES[i % len(NOISES)] for i in range(count)]
    random.Random(f"callbench-noise-{DRAWS}-{seed}").shuffle(deck)
    out: list[tuple[tuple[str, ...], str, str]] = []
    for index in range(count):
        j = index // 2
        if index % 2 == 0:
            fam = ALL_FAMILIES[j % 2]
            out.append(((), family if family != "all" else fam, deck[index]))
            continue
        first = order[j % len(order)]
        fam = ALL_FAMILIES[(j % len(order) + j // len(order)) % 2]
        chosen = [first]
        if rng.random() < SECOND_VIOLATION_P:
            others = [v for v in VIOLATIONS if v != first
                      and not any(first in group and v in group for group in _EXCLUSIVE)]
            chosen.append(rng.choice(others))
        out.append((tuple(chosen), family if family != "all" else fam, deck[index]))
    return out


def generate(seed: int = 13, count: int = 200, family: str = "all", *,
             seed_path: Path = SEED_SCRIPTS) -> list[CallPlan]:
    """`count` call plans, reproducible from `seed`; `family` espeak | neural | mellotron |
    all (espeak and neural alternating; mellotron agents only when asked for by name)."""
    if family not in ("all", *FAMILIES):
        raise ValueError(f"family must be all, {', '.join(FAMILIES)} (got {family!r})")
    return [plan_call(seed, index, violations, fam, noise, seed_path=seed_path)
            for index, (violations, fam, noise) in enumerate(_schedule(seed, count, family))]


def check_plan(plan: CallPlan) -> list[str]:
    """Problems with a plan's truth (empty when it is well formed)."""
    from seatwatch.contracts.events import EVENT_TYPES, LIFECYCLE_TYPES

    problems = []
    for event_type in plan.expect:
        if event_type not in EVENT_TYPES or event_type in LIFECYCLE_TYPES:
            problems.append(f"{plan.id}: unknown or lifecycle type {event_type}")
    if sorted(plan.violations) != plan.expect:
        problems.append(f"{plan.id}: violations {sorted(plan.violations)} != expect {plan.expect}")
    kinds = [s["do"] for s in plan.steps]
    if kinds.count("off_hook") != 1 or kinds[-1] != "on_hook" or kinds.count("on_hook") != 1:
        problems.append(f"{plan.id}: needs one off_hook and a final on_hook")
    agent_text = "".join(s["text"] for s in plan.steps if s["do"] == "agent")
    forbidden = has_any(agent_text, TABOO_FORMS)
    if forbidden != ("forbidden_phrase" in plan.expect):
        problems.append(f"{plan.id}: forbidden words in the agent's text: {forbidden}")
    hung_up = "far_end_hangup" not in kinds
    if hung_up != ("agent_hung_up_first" in plan.expect):
        problems.append(f"{plan.id}: far-end hang-up missing: {hung_up}")
    last_agent = [s["text"] for s in plan.steps if s["do"] == "agent"][-2:]
    if "closing_missing" in plan.expect and has_any("".join(last_agent), CLOSING_FORMS):
        problems.append(f"{plan.id}: closing words in the last turns of a closing_missing call")
    est = plan.estimate.get("duration_s", 0.0)
    rate = {"speech_rate_high", "speech_rate_low"} & set(plan.expect)
    most = MAX_COMPLIANT_S + (25.0 if rate else 15.0)    # a minute of agent speech takes room
    if not (est >= LONG_CALL_S - 5.0 if "call_too_long" in plan.expect else est <= most):
        problems.append(f"{plan.id}: estimated {est} s vs call_too_long truth")
    if rate and plan.estimate.get("agent_speech_s", 0.0) < RATE_SPEECH_S:
        problems.append(f"{plan.id}: too little agent speech for {sorted(rate)}")
    return problems
