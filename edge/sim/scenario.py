"""Scripted calls (scenarios/*.toml) rendered to a stereo recording plus control signals.

The output is exactly what `seatwatch analyze` and the simulated devices consume:
channel 0 = agent microphone, channel 1 = earpiece, and a control list (ring, off_hook,
far_end_hangup, button, on_hook). Speech comes from a `Speak` function (the models'
espeak-ng synthesizer); everything else (rings, busy tone, squeal, room noise) is
generated here from the scenario's seed, so a render is reproducible.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.resources import data_dir

RATE = 16_000
SCENARIO_DIR = data_dir("scenarios")
RENDERED_DIR = SCENARIO_DIR / "rendered"

NOMINAL_SPEECH_DBFS = -22.0   # active-speech RMS of a normal voice on either channel
NOISE_DBFS = -80.0            # room / line noise floor (a quiet office, a clean line)
RING_PERIOD_S = 3.0           # 1 s on, 2 s off (Chinese ring cadence)
ANSWER_AFTER_RING_S = 1.5     # off-hook this long after the last ring starts
BUSY_HZ, BUSY_ON_S, BUSY_OFF_S = 450.0, 0.35, 0.35
SHOCK_HZ, SHOCK_S = 3_150.0, 0.3

# speak(text, voice=..., speed=..., pitch=..., gap=...) -> float32 mono audio at RATE
Speak = Callable[..., np.ndarray]

_ACTIONS = ("ring", "off_hook", "on_hook", "agent", "caller", "pause", "far_end_hangup",
            "button", "shock")
_STEP_OPTIONS = ("gain_db", "speed", "overlap", "pitch")


class ScenarioError(ValueError):
    pass


@dataclass(frozen=True)
class Step:
    action: str
    value: Any
    gain_db: float = 0.0
    speed: int | None = None
    pitch: int | None = None
    overlap: float = 0.0


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    agent_voice: str
    caller_voice: str
    agent_speed: int
    caller_speed: int
    seed: int
    expect: tuple[str, ...]
    steps: tuple[Step, ...]
    agent_gap: int = 0               # espeak-ng -g between syllables (10 ms units): slow talkers


@dataclass
class Rendered:
    scenario: Scenario
    pcm: np.ndarray                      # float32 (n, 2)
    controls: list[dict[str, Any]] = field(default_factory=list)   # {"t", "type"}
    utterances: list[dict[str, Any]] = field(default_factory=list)  # who, start, end, chars

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / RATE


def parse_scenario(text: str, name: str) -> Scenario:
    from seatwatch.contracts.events import EVENT_TYPES

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: {exc}") from None
    known = {"title", "agent_voice", "caller_voice", "agent_speed", "caller_speed", "seed",
             "expect", "step", "agent_gap"}
    unknown = set(doc) - known
    if unknown:
        raise ScenarioError(f"{name}: unknown key(s) {', '.join(sorted(unknown))}")
    expect = tuple(doc.get("expect", ()))
    for event_type in expect:
        if event_type not in EVENT_TYPES:
            raise ScenarioError(f"{name}: expect: unknown event type {event_type!r}")
    steps = []
    for index, raw in enumerate(doc.get("step", [])):
        actions = [key for key in raw if key in _ACTIONS]
        extra = [key for key in raw if key not in _ACTIONS and key not in _STEP_OPTIONS]
        if len(actions) != 1 or extra:
            raise ScenarioError(f"{name}: step {index + 1}: needs exactly one of "
                                f"{', '.join(_ACTIONS)} (got {', '.join(raw) or 'nothing'})")
        action = actions[0]
        steps.append(Step(action, raw[action], float(raw.get("gain_db", 0.0)),
                          raw.get("speed"), raw.get("pitch"), float(raw.get("overlap", 0.0))))
    if not steps or steps[-1].action != "on_hook":
        raise ScenarioError(f"{name}: the last step must be on_hook = true")
    return Scenario(name=name, title=str(doc.get("title", name)),
                    agent_voice=str(doc.get("agent_voice", "f2")),
                    caller_voice=str(doc.get("caller_voice", "m3")),
                    agent_speed=int(doc.get("agent_speed", 100)),
                    caller_speed=int(doc.get("caller_speed", 110)),
                    seed=int(doc.get("seed", 0)), expect=expect, steps=tuple(steps),
                    agent_gap=int(doc.get("agent_gap", 0)))


def load_scenario(path: Path) -> Scenario:
    return parse_scenario(path.read_text(encoding="utf-8"), path.stem)


def list_scenarios(directory: Path = SCENARIO_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def _tone(hz: float, seconds: float, dbfs: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (10 ** (dbfs / 20) * np.sqrt(2) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _normalise(speech: np.ndarray, dbfs: float) -> np.ndarray:
    """Scale so the active part (frames within 30 dB of the loudest) has RMS `dbfs`."""
    frames = speech[: len(speech) // 160 * 160].reshape(-1, 160)
    energy = (frames.astype(np.float64) ** 2).mean(axis=1)
    if not energy.size or energy.max() <= 0:
        return speech
    active = energy[energy > energy.max() * 1e-3]
    rms = float(np.sqrt(active.mean()))
    return (speech * (10 ** (dbfs / 20) / rms)).astype(np.float32)


def render(scenario: Scenario, speak: Speak) -> Rendered:
    rng = np.random.default_rng(scenario.seed)
    tracks: list[tuple[int, int, np.ndarray]] = []   # (channel, start sample, audio)
    controls: list[dict[str, Any]] = []
    utterances: list[dict[str, Any]] = []
    cursor = 0.5
    busy_from: float | None = None
    last_end = cursor

    def control(kind: str, at: float) -> None:
        controls.append({"t": round(at, 3), "type": kind})

    for step in scenario.steps:
        if step.action == "ring":
            for _ in range(int(step.value)):
                control("ring", cursor)
                cursor += RING_PERIOD_S
            cursor += ANSWER_AFTER_RING_S - RING_PERIOD_S
        elif step.action in ("off_hook", "button"):
            control(step.action, cursor)
        elif step.action in ("agent", "caller"):
            agent = step.action == "agent"
            audio = speak(str(step.value),
                          voice=scenario.agent_voice if agent else scenario.caller_voice,
                          speed=step.speed or (scenario.agent_speed if agent
                                               else scenario.caller_speed),
                          pitch=step.pitch if step.pitch is not None else 50,
                          gap=scenario.agent_gap if agent else 0)
            audio = _normalise(audio, NOMINAL_SPEECH_DBFS + step.gain_db)
            start = max(0.0, (last_end - step.overlap) if step.overlap else cursor)
            tracks.append((0 if agent else 1, int(start * RATE), audio))
            end = start + len(audio) / RATE
            utterances.append({"who": step.action, "start": round(start, 3),
                               "end": round(end, 3),
                               "chars": sum(1 for ch in str(step.value) if "\u4e00" <= ch <= "\u9fff")})
            cursor = last_end = max(cursor, end)
        elif step.action == "pause":
            cursor += float(step.value)
        elif step.action == "far_end_hangup":
            control("far_end_hangup", cursor)
            busy_from = cursor + 0.2
        elif step.action == "shock":
            squeal = np.sign(_tone(SHOCK_HZ, SHOCK_S, 0.0)).astype(np.float32) * 0.98
            tracks.append((1, int(cursor * RATE), squeal))
            cursor += SHOCK_S
        elif step.action == "on_hook":
            control("on_hook", cursor)
            if busy_from is not None:
                cadence = np.concatenate([_tone(BUSY_HZ, BUSY_ON_S, -20.0),
                                          np.zeros(int(BUSY_OFF_S * RATE), np.float32)])
                reps = int(np.ceil((cursor - busy_from) * RATE / len(cadence)))
                busy = np.tile(cadence, max(reps, 0))[: int((cursor - busy_from) * RATE)]
                tracks.append((1, int(busy_from * RATE), busy))
            cursor += 0.5

    total = int(cursor * RATE)
    pcm = (rng.standard_normal((total, 2)) * 10 ** (NOISE_DBFS / 20)).astype(np.float32)
    for channel, start, audio in tracks:
        end = min(total, start + len(audio))
        pcm[start:end, channel] += audio[: end - start]
    np.clip(pcm, -1.0, 1.0, out=pcm)
    return Rendered(scenario, pcm, sorted(controls, key=lambda c: c["t"]), utterances)


def write_rendered(rendered: Rendered, directory: Path = RENDERED_DIR, *,
                   lossless: bool = False) -> tuple[Path, Path]:
    """Audio plus control JSON. The shipped set is Ogg Vorbis (a few MB for the whole
    library, ~22 dB SNR coding noise); tests that need exact audio write FLAC."""
    import soundfile as sf

    directory.mkdir(parents=True, exist_ok=True)
    audio = directory / f"{rendered.scenario.name}.{'flac' if lossless else 'ogg'}"
    meta = directory / f"{rendered.scenario.name}.json"
    for stale in directory.glob(f"{rendered.scenario.name}.*"):
        if stale.suffix in (".flac", ".ogg") and stale != audio:
            stale.unlink()
    if lossless:
        sf.write(str(audio), rendered.pcm, RATE, subtype="PCM_16")
    else:
        # libsndfile's Vorbis encoder crashes on very large single writes: feed it blocks.
        with sf.SoundFile(str(audio), "w", RATE, 2, format="OGG", subtype="VORBIS",
                          compression_level=0.6) as out:
            for start in range(0, len(rendered.pcm), RATE):
                out.write(rendered.pcm[start:start + RATE])
    meta.write_text(json.dumps({"events": rendered.controls,
                                "title": rendered.scenario.title,
                                "expect": list(rendered.scenario.expect),
                                "utterances": rendered.utterances},
                               ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return audio, meta
