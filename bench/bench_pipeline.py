"""The seat pipeline: real-time factor on one core, and detection latency per rule family.

Real-time factor: the shipped scenario calls (every norm, ~15 min of stereo audio)
through the full pipeline (levels, VAD, log-mel, keyword and rate models, rules,
hearing), single-threaded; CPU time is process time, so it is per core.

Latency, from the end of the triggering audio to the event (algorithmic, on the sample
clock, beyond what the rule's own definition requires: e.g. volume needs 2 s of loud
speech, dead air 8 s of silence), plus the wall time the pipeline takes for the 100 ms
block that raises it. Publishing adds the outbox-to-subscriber latency of bench_outbox.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from edge.events import Event
from edge.pipeline import SeatContext, SeatPipeline
from edge.policy import load_policy
from edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE, AudioBlock, ControlEvent
from edge.sources.wavfile import read_stereo

ROOT = Path(__file__).resolve().parents[1]
RENDERED = ROOT / "scenarios" / "rendered"
BLOCK = FRAME_SAMPLES * 10
END_DB = 40.0        # speech_end: a word ends at its last frame within this of its peak
PI4_SLOWDOWN = 6.0   # Cortex-A72 @1.5 GHz vs one core here: ~4-8x on numpy/TFLite int8 loops


def pipeline(events: list[Event]) -> SeatPipeline:
    ctx = SeatContext("bench", "B1", "bench", file_times=True)
    return SeatPipeline(ctx, load_policy(), events.append)


def feed(pipe: SeatPipeline, pcm: np.ndarray, controls: list[tuple[float, str]],
         block_ms: list[float] | None = None) -> None:
    pending = sorted((int(t * PIPELINE_RATE), kind) for t, kind in controls)
    for start in range(0, len(pcm), BLOCK):
        while pending and pending[0][0] <= start:
            sample, kind = pending.pop(0)
            pipe.feed(ControlEvent(sample, kind))
        began = time.perf_counter()
        pipe.feed(AudioBlock(start, pcm[start:start + BLOCK]))
        if block_ms is not None:
            block_ms.append((time.perf_counter() - began) * 1000)
    for sample, kind in pending:
        pipe.feed(ControlEvent(sample, kind))
    pipe.finish()


def real_time_factor(quick: bool) -> dict[str, Any]:
    names = sorted(p.stem for p in RENDERED.glob("*.json"))[: 3 if quick else None]
    calls = [(read_stereo(RENDERED / f"{n}.ogg"),
              [(e["t"], e["type"]) for e in json.loads((RENDERED / f"{n}.json").read_text())["events"]])
             for n in names]
    audio_s = sum(len(pcm) for pcm, _ in calls) / PIPELINE_RATE
    block_ms: list[float] = []
    began = time.process_time()
    for pcm, controls in calls:
        feed(pipeline([]), pcm, controls, block_ms)
    cpu_s = time.process_time() - began
    rtf = audio_s / cpu_s
    return {"audio_s": round(audio_s, 1), "cpu_s": round(cpu_s, 2), "real_time_factor": round(rtf, 1),
            "seats_per_core_here": int(rtf), "assumed_pi4_slowdown": PI4_SLOWDOWN,
            "seats_per_core_pi4_estimate": int(rtf / PI4_SLOWDOWN),
            "block_100ms_p50_ms": round(float(np.percentile(block_ms, 50)), 3),
            "block_100ms_p99_ms": round(float(np.percentile(block_ms, 99)), 3)}


def tone(seconds: float, amp: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * PIPELINE_RATE)) / PIPELINE_RATE
    syllables = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)          # speech-like 4 Hz envelope
    return (amp * syllables * np.sin(2 * np.pi * hz * t) * 32767).astype(np.int16)


def speech_end(mono: np.ndarray, start: int = 0, end: int | None = None) -> int:
    """Where speech in mono[start:end] ends: the sample after its last 10 ms frame within
    END_DB of its loudest (espeak-ng pads every utterance with ~0.5 s of silence)."""
    end = len(mono) if end is None else end
    usable = start + (end - start) // FRAME_SAMPLES * FRAME_SAMPLES
    frames = mono[start:usable].astype(np.float64).reshape(-1, FRAME_SAMPLES)
    energy = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-20)
    return start + (int(np.flatnonzero(energy > energy.max() - END_DB)[-1]) + 1) * FRAME_SAMPLES


def level_probe(kind: str, onset: float) -> tuple[np.ndarray, float]:
    """A call with one trigger; returns the audio and when the rule's condition is met."""
    n = int(30 * PIPELINE_RATE)
    pcm = np.zeros((n, 2), np.int16)

    def put(channel: int, start: float, part: np.ndarray) -> None:
        at = int(start * PIPELINE_RATE)
        pcm[at:at + len(part), channel] = part

    if kind == "agent_volume_high":
        judged = load_policy().volume.min_speech_s
        put(0, onset, tone(judged + 2.0, 0.7))
        return pcm, onset + judged                      # policy: min_speech_s of loud speech
    if kind == "overtalk":
        put(1, onset - 2.0, tone(4.0, 0.05, 180.0))
        put(0, onset, tone(2.0, 0.05))
        return pcm, onset + 0.5                         # policy: 0.5 s of overlap
    if kind == "dead_air":
        put(1, onset - 2.0, tone(2.0, 0.05, 180.0))
        return pcm, onset + 8.0                         # policy: 8 s of silence
    put(1, onset, (np.sign(np.sin(np.arange(4800) * 2 * np.pi * 3150 / PIPELINE_RATE)) * 32000)
        .astype(np.int16))
    return pcm, onset                                   # acoustic shock: at once


def latency(quick: bool) -> dict[str, Any]:
    rng = np.random.default_rng(5)
    out: dict[str, Any] = {}
    trials = 5 if quick else 25
    for kind in ("agent_volume_high", "overtalk", "dead_air", "acoustic_shock"):
        lat = []
        for _ in range(trials):
            onset = 5.0 + float(rng.uniform(0, 1))      # any phase against frames and blocks
            pcm, due = level_probe(kind, onset)
            events: list[Event] = []
            feed(pipeline(events), pcm, [(0.0, "off_hook")])
            hit = next(e for e in events if e.type == kind)
            assert hit.t is not None
            lat.append((hit.t - due) * 1000)
        out[kind] = {"p50_ms": round(float(np.percentile(lat, 50)), 1),
                     "p99_ms": round(float(np.percentile(lat, 99)), 1)}
    out["keyword"] = keyword_latency(quick)
    return out


def keyword_latency(quick: bool) -> dict[str, Any]:
    """Keywords said alone by held-out voices: hit time minus the end of the word (its
    last sound, not the end of the synthesizer's buffer)."""
    from edge.dsp.features import logmel
    from edge.models.keywords import KeywordSpotter
    from models.synth import corpus
    from models.synth.speech import speak

    lat, missed = [], 0
    voices = ("m6", "f4") if quick else ("m6", "m7", "f4", "f5")
    for voice in voices:
        for label in corpus.KEYWORDS:
            word = speak(corpus.KEYWORDS[label][0], voice=voice, speed=110, pitch=50)
            lead = PIPELINE_RATE + int(np.random.default_rng(len(lat)).integers(0, FRAME_SAMPLES * 10))
            audio = np.concatenate([np.zeros(lead), word, np.zeros(PIPELINE_RATE * 3)]).astype(np.float32)
            hits = [h for h in KeywordSpotter().push(logmel(audio)) if h.label == label]
            if not hits:
                missed += 1
                continue
            end = (lead + speech_end(word)) / PIPELINE_RATE
            lat.append((hits[0].frame * FRAME_SAMPLES / PIPELINE_RATE - end) * 1000)
    return {"p50_ms": round(float(np.percentile(lat, 50)), 1) if lat else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 1) if lat else None,
            "words": len(lat) + missed, "missed": missed}


def run(quick: bool) -> dict[str, Any]:
    return {"real_time": real_time_factor(quick), "latency_beyond_rule_definition": latency(quick)}
