"""A call plan -> what `seatwatch analyze` reads, plus the truth beside it.

    <cache>/callbench/v<GENERATOR_VERSION>-seed<S>/<id>-<plan key>.wav          ch0 agent mic, ch1 earpiece
                                                  .control.json  {"events": [{"t", "type"}, ...]}
                                                  .truth.json    the plan, the expected alerts, timings

Speech comes from a voice family (espeak-ng variants, the neural voice, or the held-out
Mellotron speakers, `--family mellotron`); each
utterance goes through the call's channel (mild reverb, or a narrowband telephone path
on the agent mic; the earpiece is always a band-limited phone line, sometimes mu-law) and
is scaled to its active speech level (the mean power of the frames within 30 dB of the
loudest, P.56 in spirit). Room noise (steady office hum and pink noise, or babble of
colleagues' speech) runs under the whole call on both channels; rings are control
signals, the caller's hang-up is a signal and/or a 450 Hz busy tone on the earpiece.
Everything random is drawn from the plan's key, so a render is reproducible and the
cache is keyed by what shapes the audio.
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.callbench.generator import GENERATOR_VERSION, CallPlan, Voice, rate_band, retune
from seatwatch.edge.callbench.sentences import han_chars, pools

RATE = 16_000
RING_PERIOD_S = 3.0               # 1 s on, 2 s off (Chinese ring cadence)
ANSWER_AFTER_RING_S = 1.5         # off-hook this long after the last ring starts
BUSY_HZ, BUSY_ON_S, BUSY_OFF_S, BUSY_DBFS = 450.0, 0.35, 0.35, -20.0
BUSY_AFTER_S = 0.2                # the busy tone starts this long after the caller hangs up
AGENT_STOPS_S = 0.3               # the agent hears the hang-up (or the caller) and stops
FLOOR_DBFS = -80.0                # "no noise": a clean line's floor
MUSIC_DBFS = (-32.0, -24.0)
BABBLE_POOL = 16                  # colleagues' utterances rendered once per generator version


@dataclass(frozen=True)
class RenderedCall:
    id: str
    audio: Path
    control: Path
    truth: Path


def call_dir(root: Path, seed: int) -> Path:
    return root / f"v{GENERATOR_VERSION}-seed{seed}"


def paths_for(plan: CallPlan, root: Path) -> RenderedCall:
    stem = call_dir(root, plan.seed) / f"{plan.id}-{plan.key()}"
    return RenderedCall(plan.id, stem.with_suffix(".wav"), stem.with_suffix(".control.json"),
                        stem.with_suffix(".truth.json"))


def default_root() -> Path:
    from seatwatch.models.synth.speech import cache_dir

    return cache_dir() / "callbench"


# --- signals -----------------------------------------------------------------------------
def _db(x: float) -> float:
    return float(10 ** (x / 20))


def active_level_dbfs(x: np.ndarray) -> float:
    """Mean power of the 10 ms frames within 30 dB of the loudest, in dBFS."""
    frames = x[: len(x) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = (frames ** 2).mean(axis=1)
    if not energy.size or energy.max() <= 0:
        return -120.0
    active = energy[energy > energy.max() * 1e-3]
    return float(10 * np.log10(active.mean()))


def set_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * _db(dbfs - active_level_dbfs(x))).astype(np.float32)


def _tone(hz: float, seconds: float, dbfs: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (_db(dbfs) * np.sqrt(2) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def busy_tone(seconds: float) -> np.ndarray:
    cadence = np.concatenate([_tone(BUSY_HZ, BUSY_ON_S, BUSY_DBFS),
                              np.zeros(int(BUSY_OFF_S * RATE), np.float32)])
    reps = int(np.ceil(seconds * RATE / len(cadence)))
    return np.tile(cadence, max(reps, 1))[: int(seconds * RATE)]


def pink_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    spectrum /= np.sqrt(np.maximum(f, 20.0))
    out = np.fft.irfft(spectrum, n)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def office_hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink noise with mains hum and a fan's whine under it: steady office noise."""
    t = np.arange(n) / RATE
    mains = rng.choice((50.0, 60.0))
    hum = sum(rng.uniform(0.1, 0.4) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3))
              for k in range(1, 6))
    fan = 0.05 * np.sin(2 * np.pi * rng.uniform(180, 420) * t)
    out = pink_noise(rng, n) + hum + fan
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def hold_music(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """A plain pentatonic tune with a bass line (what a PBX plays to a waiting caller)."""
    scale = 261.63 * 2 ** (np.array([0, 2, 4, 7, 9, 12, 14, 16]) / 12)
    out: list[np.ndarray] = []
    total = int(seconds * RATE)
    while sum(len(o) for o in out) < total:
        note_s = float(rng.choice((0.25, 0.375, 0.5)))
        t = np.arange(int(note_s * RATE)) / RATE
        f = float(rng.choice(scale))
        env = np.minimum(1.0, t / 0.02) * np.exp(-3.0 * t)
        tone = env * (np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
                      + 0.5 * np.sin(2 * np.pi * f / 4 * t))
        out.append(tone.astype(np.float32))
    return np.concatenate(out)[:total]


def _fade_cut(audio: np.ndarray, at: int) -> np.ndarray:
    """`audio` stopped at sample `at` with a 20 ms fade (an agent who stops talking)."""
    if at >= len(audio):
        return audio
    out = audio[: max(0, at)].copy()
    fade = min(len(out), int(0.02 * RATE))
    if fade:
        out[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


@dataclass
class _Track:
    channel: int
    start: int
    audio: np.ndarray
    who: str = ""
    text: str = ""
    speech_s: float = 0.0
    clean_len: int = 0


def talking(audio: np.ndarray, bridge_s: float = 0.15) -> np.ndarray:
    """Per 10 ms frame: speech (within 30 dB of the loudest frame), gaps under `bridge_s`
    filled (a pause between syllables is no pause between phrases)."""
    frames = audio[: len(audio) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energy = (frames ** 2).mean(axis=1)
    if not energy.size:
        return np.zeros(0, bool)
    mask = energy > energy.max() * 1e-3
    bridge = int(bridge_s * 100)
    idx = np.flatnonzero(mask)
    for a, b in zip(idx, idx[1:], strict=False):
        if 1 < b - a <= bridge:
            mask[a:b] = True
    return mask


def _talk_spot(track: _Track, lo: float, hi: float, need_s: float, prefer: float) -> float | None:
    """A time in [lo, hi] (file seconds) nearest `prefer` where the track's speaker has
    been talking for 0.2 s and goes on for `need_s` without a pause."""
    mask = talking(track.audio)
    t0 = track.start / RATE
    steps = np.arange(lo, hi + 1e-9, 0.01)
    for t in sorted(steps, key=lambda x: abs(x - prefer)):
        i = int(round((t - t0) * 100)) - 20
        j = i + 20 + int(round(need_s * 100))
        if i >= 0 and j <= len(mask) and mask[i:j].all():
            return float(t)
    return None


def _next_pause(track: _Track, after: float) -> float | None:
    """File time of the first pause in the track's speech at or after `after`."""
    mask = talking(track.audio)
    i = max(0, int(round((after - track.start / RATE) * 100)))
    quiet = np.flatnonzero(~mask[i:])
    return None if not quiet.size else track.start / RATE + (i + int(quiet[0])) / 100


# --- speech ------------------------------------------------------------------------------
# a clause the Mellotron decoder fails: again at these nudged stretches (each another,
# differently seeded render: its prenet's dropout is on at inference)
MELLOTRON_RETRY_STRETCHES = (0.03, -0.03, 0.06, -0.06)


def _speak_mellotron(name: str, text: str) -> np.ndarray:
    """Tacotron's decoder fails some clauses on some renders (stops early or babbles on):
    retries at nudged stretches, then the SynthError surfaces."""
    from seatwatch.models.synth.mellotron import MellotronVoice, parse, speak_mellotron
    from seatwatch.models.synth.speech import SynthError

    mv = parse(name)
    for nudge in (0.0, *MELLOTRON_RETRY_STRETCHES):
        try:
            return speak_mellotron(text, MellotronVoice(mv.speaker, round(mv.stretch + nudge, 2)).name())
        except SynthError as exc:
            failure = exc
    raise failure


def synthesize(voice: Voice, text: str) -> np.ndarray:
    if voice.family == "mellotron":
        return _speak_mellotron(voice.name, text)
    if voice.family == "neural":
        from seatwatch.models.synth.neural import speak_neural

        return speak_neural(text, voice.name)
    from seatwatch.models.synth.speech import speak

    return speak(text, voice=voice.name, speed=voice.speed, pitch=voice.pitch, gap=voice.gap)


@functools.lru_cache(maxsize=1)
def _babble_pool() -> list[np.ndarray]:
    from seatwatch.models.synth.speech import VARIANTS, speak

    rng = random.Random(f"callbench-babble-{GENERATOR_VERSION}")
    texts = rng.sample(list(pools().babble), BABBLE_POOL)
    voices = [v for v in VARIANTS if v not in ("whisper", "whisperf")]
    return [speak(t, voice=rng.choice(voices), speed=rng.randint(85, 125), pitch=rng.randint(30, 70))
            for t in texts]


def room_noise(kind: str, rng: np.random.Generator, n: int, dbfs: float) -> np.ndarray:
    from seatwatch.models.synth.augment import babble

    if kind == "steady":
        noise = office_hum(rng, n)
    elif kind == "babble":
        noise = babble(_babble_pool(), rng, n, talkers=int(rng.integers(4, 7)))
        noise = noise / (np.std(noise) + 1e-12)
    else:
        return (rng.standard_normal(n) * _db(FLOOR_DBFS)).astype(np.float32)
    floor = rng.standard_normal(n) * _db(FLOOR_DBFS)
    return (noise * _db(dbfs) + floor).astype(np.float32)


def _agent_channel(audio: np.ndarray, plan: CallPlan, rng: np.random.Generator, rt60: float) -> np.ndarray:
    from seatwatch.models.synth.augment import mulaw_8k, reverb, telephone_band

    if plan.channel == "reverb":
        padded = np.concatenate([audio, np.zeros(int(rt60 * RATE), np.float32)])
        return reverb(padded, rng, rt60)
    if plan.channel == "narrowband":
        return mulaw_8k(telephone_band(audio))
    return audio.astype(np.float32)


def _ear_channel(audio: np.ndarray, plan: CallPlan) -> np.ndarray:
    from seatwatch.models.synth.augment import mulaw_8k, telephone_band

    out = telephone_band(audio)
    return mulaw_8k(out) if plan.ear_mulaw else out


def _speech_stats(audio: np.ndarray) -> float:
    """Seconds the label VAD calls speech in a clean utterance: the rate truth's unit,
    as for the rate model's labels (seatwatch.models.synth.dataset.speech_frames)."""
    from seatwatch.edge.dsp.vad import label_vad

    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)
    frames = pcm[: len(pcm) // 160 * 160].reshape(-1, 160)
    return float(np.count_nonzero(label_vad().process(frames))) / 100.0


def tune_agent(plan: CallPlan, speech_s: dict[tuple[str, str], float]) -> tuple[Voice, list[float]]:
    """The agent's voice, re-tuned (at most twice) until the call's measured rate is in the
    band its truth says (text moves a voice's rate by +-10 %). `speech_s` caches the VAD
    speech seconds per (voice, text)."""
    band = rate_band(plan.expect)
    texts = [str(step["text"]) for step in plan.steps if step["do"] == "agent"]
    voice, history = plan.agent, []
    for attempt in range(3):
        chars = sum(han_chars(t) for t in texts)
        seconds = 0.0
        for t in texts:
            key = (voice.name + f"|{voice.speed}|{voice.gap}|{voice.pitch}", t)
            if key not in speech_s:
                speech_s[key] = _speech_stats(synthesize(voice, t))
            seconds += speech_s[key]
        cpm = chars / max(seconds, 1e-3) * 60.0
        history.append(round(cpm, 1))
        if band[0] <= cpm <= band[1] or attempt == 2:
            break
        voice = retune(voice, cpm)
    return voice, history


# --- the time line -----------------------------------------------------------------------
def render_plan(plan: CallPlan) -> tuple[np.ndarray, dict[str, Any], dict[str, Any]]:
    """(pcm float32 (n, 2), control document, timing facts) for one plan."""
    seed = int(hashlib.sha1(plan.key().encode()).hexdigest()[:8], 16)
    rng = np.random.default_rng(seed)
    rt60 = float(rng.uniform(0.15, 0.35))
    speech_s: dict[tuple[str, str], float] = {}
    agent_voice, tuning = tune_agent(plan, speech_s)
    tracks: list[_Track] = []
    controls: list[dict[str, Any]] = []
    last: dict[str, int | None] = {"agent": None, "caller": None}   # each side's last utterance (track index)
    cursor = 0.0
    busy_from: float | None = None
    off_hook = on_hook = 0.0

    def control(kind: str, at: float) -> None:
        controls.append({"t": round(at, 3), "type": kind})

    def end_of(index: int | None) -> float:
        if index is None:
            return cursor
        track = tracks[index]
        return (track.start + len(track.audio)) / RATE

    for step in plan.steps:
        do = step["do"]
        if do == "pause":
            cursor += float(step["s"])
        elif do == "ring":
            for _ in range(int(step["n"])):
                control("ring", cursor)
                cursor += RING_PERIOD_S
            cursor += ANSWER_AFTER_RING_S - RING_PERIOD_S
        elif do == "off_hook":
            control("off_hook", cursor)
            off_hook = cursor
        elif do == "on_hook":
            control("on_hook", cursor)
            on_hook = cursor
            if busy_from is not None and cursor > busy_from:
                tracks.append(_Track(1, int(busy_from * RATE), busy_tone(cursor - busy_from)))
            cursor += 0.5
        elif do == "music":
            music = hold_music(rng, float(step["s"]))
            level = float(rng.uniform(*MUSIC_DBFS))
            tracks.append(_Track(1, int(cursor * RATE), set_level(_ear_channel(music, plan), level)))
            cursor += float(step["s"])
        elif do == "far_end_hangup":
            at = cursor
            if step.get("into_s") is not None and last["agent"] is not None:
                agent = tracks[last["agent"]]
                at = agent.start / RATE + float(step["into_s"])
                keep = int((at + AGENT_STOPS_S) * RATE) - agent.start
                agent.audio = _fade_cut(agent.audio, keep)
            if step.get("signal", True):
                control("far_end_hangup", at)
            if step.get("busy", True):
                busy_from = at + BUSY_AFTER_S
            cursor = max(at, end_of(last["agent"])) if step.get("into_s") is not None else at
        elif do in ("agent", "caller"):
            agent = do == "agent"
            voice = agent_voice if agent else plan.caller
            clean = synthesize(voice, step["text"])
            if agent:
                audio = _agent_channel(clean, plan, rng, rt60)
                level = plan.level_dbfs + float(step.get("gain_db", 0.0))
            else:
                audio = _ear_channel(clean, plan)
                level = plan.caller_level_dbfs
            audio = set_level(audio, level + float(rng.uniform(-1.0, 1.0)))
            other = last["caller" if agent else "agent"]
            if step.get("overlap_s") and other is not None:
                # the agent cuts in while the caller is mid-phrase (not in a pause), and
                # the caller goes on talking under the agent for at least 0.8 s
                end = end_of(other)
                prefer = end - float(step["overlap_s"])
                spot = _talk_spot(tracks[other], end - 2.5, end - 0.9, 0.8, prefer)
                start = prefer if spot is None else spot
            elif step.get("interrupt_s") and other is not None:
                # the caller cuts in; the agent stops within `yield_s`, or at their next
                # pause if sooner (resuming after it would be the agent starting over the caller)
                yielded = tracks[other]
                end = end_of(other)
                prefer = end - float(step["interrupt_s"])
                spot = _talk_spot(yielded, end - 3.5, end - 1.0, 0.3, prefer)
                start = prefer if spot is None else spot
                stop = start + float(step["yield_s"])
                pause = _next_pause(yielded, start - 0.1)
                if pause is not None:
                    stop = min(stop, pause)
                yielded.audio = _fade_cut(yielded.audio, int(stop * RATE) - yielded.start)
            elif step.get("backchannel_at") is not None and other is not None:
                # 嗯 while the agent talks on: placed where the agent does not pause
                track = tracks[other]
                prefer = (track.start + float(step["backchannel_at"]) * len(track.audio)) / RATE
                need = len(audio) / RATE + 0.5
                spot = _talk_spot(track, track.start / RATE + 0.5, end_of(other) - need, need, prefer)
                if spot is None:
                    continue            # no room in this answer: the caller keeps quiet
                start = spot
            else:
                start = cursor
            start = max(0.0, start)
            key = (voice.name + f"|{voice.speed}|{voice.gap}|{voice.pitch}", str(step["text"]))
            tracks.append(_Track(0 if agent else 1, int(start * RATE), audio, do, step["text"],
                                 speech_s[key] if agent else 0.0, len(clean)))
            last[do] = len(tracks) - 1
            cursor = max(cursor, start + len(audio) / RATE)
            if step.get("backchannel_at") is not None and other is not None:
                cursor = max(cursor, end_of(other))
        else:
            raise ValueError(f"{plan.id}: unknown step {do!r}")

    total = int(cursor * RATE)
    pcm = np.zeros((total, 2), np.float32)
    pcm[:, 0] = room_noise(plan.noise, rng, total, plan.noise_dbfs)
    pcm[:, 1] = room_noise(plan.noise, rng, total, plan.caller_level_dbfs - plan.ear_snr_db)
    utterances = []
    agent_chars, agent_speech_s = 0.0, 0.0
    for track in tracks:
        end = min(total, track.start + len(track.audio))
        pcm[track.start:end, track.channel] += track.audio[: end - track.start]
        if not track.who:
            continue
        chars = han_chars(track.text)
        said = len(track.audio)
        utterances.append({"who": track.who, "start": round(track.start / RATE, 3),
                           "end": round(end / RATE, 3), "chars": chars, "text": track.text})
        if track.who == "agent" and track.speech_s > 0:
            full = int(round(track.speech_s * 100))   # a cut utterance counts in proportion
            share = min(1.0, said / max(1, track.clean_len))
            agent_chars += chars * share
            agent_speech_s += full / 100.0 * share
    np.clip(pcm, -1.0, 1.0, out=pcm)
    facts = {"duration_s": round(on_hook - off_hook, 2), "audio_s": round(total / RATE, 2),
             "agent_speech_s": round(agent_speech_s, 1),
             "agent_cpm": round(agent_chars / agent_speech_s * 60.0, 1) if agent_speech_s else None,
             "agent_voice": {"name": agent_voice.name, "speed": agent_voice.speed, "gap": agent_voice.gap},
             "rate_tuning_cpm": tuning,
             "utterances": utterances}
    return pcm, {"events": sorted(controls, key=lambda c: c["t"])}, facts


def truth_doc(plan: CallPlan, facts: dict[str, Any], paths: RenderedCall) -> dict[str, Any]:
    return {"id": plan.id, "generator": GENERATOR_VERSION, "key": plan.key(), "seed": plan.seed,
            "expect": plan.expect, "family": plan.family, "held_out_voice": plan.agent.held_out,
            "noise": plan.noise, "channel": plan.channel, "styles": plan.styles,
            "violations": plan.violations, "audio": paths.audio.name, "control": paths.control.name,
            "measured": facts, "plan": plan.to_json()}


def render_to(plan: CallPlan, root: Path, *, force: bool = False) -> RenderedCall:
    """Render one call into the cache (nothing to do when it is there already)."""
    import soundfile as sf

    paths = paths_for(plan, root)
    if not force and paths.audio.exists() and paths.control.exists() and paths.truth.exists():
        return paths
    pcm, control_doc, facts = render_plan(plan)
    paths.audio.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.audio.with_suffix(".tmp.wav")
    sf.write(str(tmp), pcm, RATE, subtype="PCM_16")
    paths.control.write_text(json.dumps(control_doc, indent=1) + "\n", encoding="utf-8")
    paths.truth.write_text(json.dumps(truth_doc(plan, facts, paths), ensure_ascii=False, indent=1) + "\n",
                           encoding="utf-8")
    tmp.replace(paths.audio)          # last: an audio file means the call is complete
    return paths


CALL_LIMIT_S = 180.0           # the default policy's call length limit (N14)
LIMIT_MARGIN_S = 4.0           # a call this close to the limit is ambiguous: flagged, not re-judged


def expected_alerts(truth: dict[str, Any]) -> list[str]:
    """The alerts a call should raise: the plan's, except that call_too_long follows the
    rendered call's measured length (the generator only estimates it before rendering; a
    very slow voice can carry a call past the limit, and then the alert is right)."""
    expect = [e for e in truth["expect"] if e != "call_too_long"]
    duration = truth["measured"]["duration_s"]
    near = abs(duration - CALL_LIMIT_S) <= LIMIT_MARGIN_S      # (flagged by check_render)
    if ("call_too_long" in truth["expect"]) if near else duration >= CALL_LIMIT_S:
        expect.append("call_too_long")
    return expect


def check_render(truth: dict[str, Any]) -> list[str]:
    """Where the rendered call strays from its truth (empty when it does not): the call's
    length against call_too_long, the agent's measured rate against the rate band."""
    measured, expect, name = truth["measured"], truth["expect"], truth["id"]
    problems = []
    long_call, off_s = measured["duration_s"] >= CALL_LIMIT_S, abs(measured["duration_s"] - CALL_LIMIT_S)
    if long_call != ("call_too_long" in expect) or off_s <= LIMIT_MARGIN_S:
        problems.append(f"{name}: {measured['duration_s']} s off-hook vs call_too_long in truth: "
                        f"{'call_too_long' in expect}")
    low, high = rate_band(expect)
    cpm = measured.get("agent_cpm")
    if cpm is not None and measured["agent_speech_s"] >= 20.0 and not low <= cpm <= high:
        problems.append(f"{name}: agent at {cpm} cpm, outside {low:.0f}-{high:.0f}")
    if ({"speech_rate_high", "speech_rate_low"} & set(expect)) and measured["agent_speech_s"] < 62.0:
        problems.append(f"{name}: {measured['agent_speech_s']} s of agent speech for a rate violation")
    return problems
