"""Speech activity: frame accuracy against exact truth, old energy VAD vs the new one, and cost.

Signals (models/eval/vadset.py): espeak-ng monologues (24 sentences, all voices, pauses
0.2-9 s, ~3.5 min each) whose truth comes from the clean speech's frame energy plus the
policy's hangover; clean at -45..-15 dBFS, and white, pink, brown, hum and 6-talker
babble at 10 and 20 dB SNR with the talker at -40, -29 and -20 dBFS. Track `seed 1` is
the one the defaults were tuned on, `seed 2` is held out (other sentences order, voices
and noise draws); the figures that count are seed 2's.

Cost: CPU time of the VAD per second of audio, fed in the pipeline's 100 ms blocks
(bench_pipeline's block size), on one core: both channels in one VAD as the pipeline
runs it, and one channel alone.

Calls: the shipped scenario calls that must raise dead_air or overtalk, with office noise
added 16 dB under the agent's nominal level on the microphone (pink, or 6-talker
babble) and a noisy line 20 dB under the caller on the earpiece (white), run through the
whole pipeline with the new VAD and with the old one swapped in: the issue's failure.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from seatwatch.edge.dsp.vad import EnergyVad, NoiseVad
from seatwatch.edge.policy import Vad
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE
from seatwatch.models.eval import vadset

BLOCK_FRAMES = 10            # 100 ms, as the pipeline is fed by bench_pipeline and analyze
OLD = (-50.0, 0.3, 0.1)      # the previous shipped policy: speech_dbfs, hangover_s, min_speech_s


def new_vad(frames: np.ndarray, policy: Vad) -> np.ndarray:
    vad = NoiseVad(policy)
    return np.concatenate([vad.process(frames[i:i + BLOCK_FRAMES])
                           for i in range(0, len(frames), BLOCK_FRAMES)])


def old_vad(frames: np.ndarray) -> np.ndarray:
    x = frames.astype(np.float64) / 32768.0
    rms = 10 * np.log10(np.maximum((x * x).mean(axis=1), 1e-12))
    vad = EnergyVad(*OLD)
    return np.array([vad.update(float(level)) for level in rms], bool)


def _rounded(score: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 3) for key, value in score.items()}


def accuracy(seed: int, conditions: list[vadset.Condition], sentences: int,
             policy: Vad) -> dict[str, Any]:
    track = vadset.speech_track(seed=seed, sentences=sentences)
    want = vadset.truth(track, policy.hangover_s)
    noises = {kind: vadset.noise(kind, len(track.clean), seed=seed * 7) for kind in vadset.NOISES}
    rows: dict[str, Any] = {}
    for cond in conditions:
        frames = vadset.frames(vadset.mix(track, cond, noises, seed=seed))
        rows[cond.name] = {"old": _rounded(vadset.score(old_vad(frames), want)),
                           "new": _rounded(vadset.score(new_vad(frames, policy), want))}
    return {"audio_s": round(len(track.clean) / PIPELINE_RATE, 1),
            "speech_share": round(float(want.mean()), 3), "conditions": rows,
            "summary": summary(rows)}


def summary(rows: dict[str, Any]) -> dict[str, Any]:
    """Mean and minimum accuracy per group of conditions, old and new."""
    groups = {"clean": lambda n: n.startswith("clean"),
              "steady_10db": lambda n: any(n.startswith(f"{k}10dB") for k in vadset.STEADY),
              "steady_20db": lambda n: any(n.startswith(f"{k}20dB") for k in vadset.STEADY),
              "babble_10db": lambda n: n.startswith("babble10dB"),
              "babble_20db": lambda n: n.startswith("babble20dB")}
    out: dict[str, Any] = {}
    for group, member in groups.items():
        names = [n for n in rows if member(n)]
        if not names:
            continue
        out[group] = {which: {"mean_accuracy": round(float(np.mean([rows[n][which]["accuracy"]
                                                                     for n in names])), 3),
                              "min_accuracy": round(min(rows[n][which]["accuracy"] for n in names), 3)}
                      for which in ("old", "new")}
    return out


def cost(policy: Vad, seconds: float) -> dict[str, Any]:
    """CPU time per second of audio (babble at 10 dB on the mic, clean on the earpiece),
    best of three runs (the machine is shared): the pipeline's way (one VAD, both
    channels, 100 ms blocks), one channel alone, one channel as a whole signal, and the
    old detector's per-frame loop on levels already computed (both channels)."""
    track = vadset.speech_track(seed=2, sentences=6)
    mic = vadset.frames(vadset.mix(track, vadset.Condition("babble", 10.0, -29.0)))
    ear = vadset.frames(vadset.mix(track, vadset.Condition(None, None, -35.0)))
    reps = max(1, int(np.ceil(seconds * 100 / len(mic))))
    mono = np.tile(mic, (reps, 1))
    stereo = np.stack([mono, np.tile(ear, (reps, 1))], axis=2)
    audio_s = len(mono) * FRAME_SAMPLES / PIPELINE_RATE

    def best(work: Any) -> float:
        times = []
        for _ in range(3):
            began = time.process_time()
            work()
            times.append(time.process_time() - began)
        return 1000 * min(times) / audio_s

    def blocks(vad: NoiseVad, frames: np.ndarray) -> None:
        for i in range(0, len(frames), BLOCK_FRAMES):
            vad.process(frames[i:i + BLOCK_FRAMES])

    x = stereo.astype(np.float64) / 32768.0
    rms = 10 * np.log10(np.maximum((x * x).mean(axis=1), 1e-12))

    def old_loop() -> None:
        vads = [EnergyVad(*OLD), EnergyVad(*OLD)]
        for m, e in rms:
            vads[0].update(float(m))
            vads[1].update(float(e))

    stereo_ms = best(lambda: blocks(NoiseVad(policy, channels=2), stereo))
    return {"audio_s": round(audio_s, 1), "block_frames": BLOCK_FRAMES,
            "pipeline_both_channels_ms_per_audio_s": round(stereo_ms, 4),
            "pipeline_share_of_real_time_per_channel_pct": round(stereo_ms / 2 / 10, 4),
            "one_channel_ms_per_audio_s": round(best(lambda: blocks(NoiseVad(policy), mono)), 4),
            "one_channel_whole_signal_ms_per_audio_s": round(best(lambda: NoiseVad(policy).process(mono)), 4),
            "old_both_channels_ms_per_audio_s_levels_given": round(best(old_loop), 4)}


class LegacyVad:
    """The old EnergyVad per channel behind the new per-block stereo interface (for the
    pipeline comparison)."""

    def __init__(self) -> None:
        self._vads = [EnergyVad(*OLD), EnergyVad(*OLD)]

    def process(self, frames: np.ndarray) -> np.ndarray:
        x = frames.astype(np.float64) / 32768.0
        rms = 10 * np.log10(np.maximum((x * x).mean(axis=1), 1e-12))
        return np.array([[vad.update(float(level)) for vad, level in zip(self._vads, row, strict=True)]
                         for row in rms], bool).reshape(-1, 2)


NOMINAL_DBFS = -22.0         # seatwatch.edge.sim.scenario.NOMINAL_SPEECH_DBFS: both channels' speech


def noisy_calls(mic_noises: tuple[str, ...] = ("pink", "babble")) -> dict[str, Any]:
    """Events of the dead-air and overtalk scenarios in office noise, new VAD vs old."""
    import json

    from bench.bench_pipeline import RENDERED, feed, pipeline
    from seatwatch.edge.sources.wavfile import read_stereo

    out: dict[str, Any] = {}
    for name, wanted in (("dead_air_assist", "dead_air"), ("loud_interrupter", "overtalk")):
        clean = read_stereo(RENDERED / f"{name}.ogg").astype(np.float64) / 32768.0
        meta = json.loads((RENDERED / f"{name}.json").read_text())
        controls = [(e["t"], e["type"]) for e in meta["events"]]
        for mic_noise in mic_noises:
            pcm = clean.copy()
            pcm[:, 0] += vadset.noise(mic_noise, len(pcm), seed=5) * 10 ** ((NOMINAL_DBFS - 16) / 20)
            pcm[:, 1] += vadset.noise("white", len(pcm), seed=6) * 10 ** ((NOMINAL_DBFS - 20) / 20)
            pcm16 = np.clip(np.round(pcm * 32768), -32768, 32767).astype(np.int16)
            row: dict[str, Any] = {}
            for which in ("old", "new"):
                events: list[Any] = []
                pipe = pipeline(events)
                if which == "old":
                    pipe._vad = LegacyVad()  # type: ignore[assignment]
                feed(pipe, pcm16, controls)
                row[which] = sorted({e.type for e in events if e.call})
                row[f"{which}_raises_{wanted}"] = wanted in row[which]
            out[f"{name}+{mic_noise}16dB"] = row
    return out


def run(quick: bool = False) -> dict[str, Any]:
    policy = Vad()
    conditions = vadset.conditions(quick=quick)
    sentences = 8 if quick else 24
    result: dict[str, Any] = {"policy": dict(policy.__dict__), "truth_below_active_db": vadset.TRUTH_BELOW_DB,
                              "old_vad": {"speech_dbfs": OLD[0], "hangover_s": OLD[1],
                                          "min_speech_s": OLD[2]}}
    result["held_out_seed2"] = accuracy(2, conditions, sentences, policy)
    if not quick:
        result["tuning_seed1"] = accuracy(1, conditions, sentences, policy)
    result["cost_per_channel"] = cost(policy, 60.0 if quick else 600.0)
    result["noisy_calls"] = noisy_calls()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=1, ensure_ascii=False))
