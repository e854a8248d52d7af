"""Speech-activity test signals with exact frame truth, shared by tests/dsp and bench_vad.

A track is a monologue of espeak-ng sentences (several voices and speeds) separated by
pauses from 0.2 s to 9 s, so about half of its frames are speech. Truth comes from the
clean speech alone: a 10 ms frame is speech when its energy is within TRUTH_BELOW_DB of
the track's active speech level (ITU-T P.56 style: the mean power of the frames within
40 dB of the loudest), and the speech state then holds for the VAD's hangover
(policy `vad.hangover_s`), as the product defines "speaking": the rules read the VAD
state, hangover included. The clean track is scaled to the condition's active speech
level, and noise is added at the condition's SNR (active speech level over noise RMS).

Noises: white, pink (1/f), brown (1/f^2), hum (brown-ish HVAC rumble with 50 Hz mains
harmonics and a pink bed) and babble (six other espeak-ng talkers, each a stream of
sentences with short pauses, summed): the steady kinds are an office's fan, air
conditioning and mains hum; babble is the open-plan floor, the hard case.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

RATE = PIPELINE_RATE
TRUTH_BELOW_DB = 35.0          # frames this far below the active speech level are not speech
DEVICE_FLOOR_DBFS = -85.0      # white noise always present (ADC and microphone self-noise)
PAUSES_S = (0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0, 5.0, 9.0)
NOISES = ("white", "pink", "brown", "hum", "babble")
STEADY = ("white", "pink", "brown", "hum")


@dataclass(frozen=True)
class Condition:
    noise: str | None          # None: clean speech (device floor only)
    snr_db: float | None
    level_dbfs: float          # active speech level of the foreground talker

    @property
    def name(self) -> str:
        if self.noise is None:
            return f"clean@{self.level_dbfs:g}dBFS"
        return f"{self.noise}{self.snr_db:g}dB@{self.level_dbfs:g}dBFS"


@dataclass
class Track:
    clean: np.ndarray          # float32 speech at RATE, unscaled
    raw: np.ndarray            # bool per frame: clean energy within TRUTH_BELOW_DB of active
    active_power: float        # mean power of the active frames (linear, float scale)


def _sentences() -> list[str]:
    from seatwatch.models.synth import corpus

    return list(corpus.NEGATIVE_SENTENCES) + list(corpus.service_sentences())


def _frame_power(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME_SAMPLES
    f = x[: n * FRAME_SAMPLES].astype(np.float64).reshape(n, FRAME_SAMPLES)
    return (f * f).mean(axis=1)


def active_power(x: np.ndarray) -> float:
    power = _frame_power(x)
    if not power.size or power.max() <= 0:
        return 0.0
    return float(power[power >= power.max() * 1e-4].mean())


def _talk(rng: random.Random, texts: Iterable[str], voices: tuple[str, ...],
          pauses: tuple[float, ...], lead_s: float) -> np.ndarray:
    from seatwatch.models.synth.speech import speak

    parts = [np.zeros(int(lead_s * RATE), np.float32)]
    for text in texts:
        audio = speak(text, voice=rng.choice(voices), speed=rng.randint(90, 170),
                      pitch=rng.randint(30, 70))
        parts += [audio, np.zeros(int(rng.choice(pauses) * RATE), np.float32)]
    return np.concatenate(parts)


def speech_track(seed: int = 1, sentences: int = 24) -> Track:
    """A monologue: `sentences` sentences, voices and speeds drawn from `seed`."""
    from seatwatch.models.synth.speech import VOICES

    rng = random.Random(seed)
    pool = _sentences()
    texts = [pool[i] for i in rng.sample(range(0, len(pool), 2), sentences)]  # even: foreground
    clean = _talk(rng, texts, VOICES, PAUSES_S, lead_s=2.0)
    clean = np.concatenate([clean, np.zeros(RATE, np.float32)])
    active = active_power(clean)
    raw = _frame_power(clean) >= active * 10 ** (-TRUTH_BELOW_DB / 10)
    return Track(clean, raw, active)


def truth(track: Track, hangover_s: float) -> np.ndarray:
    """Raw speech frames, each holding the state for `hangover_s` after it (bool per frame)."""
    hold = int(round(hangover_s * RATE / FRAME_SAMPLES))
    idx = np.where(track.raw, np.arange(len(track.raw)), -(1 << 30))
    last = np.maximum.accumulate(idx)
    return np.arange(len(track.raw)) - last <= hold


def _shaped(rng: np.random.Generator, n: int, slope_db_per_oct: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    gain = np.where(f > 20, (np.maximum(f, 20) / 1000.0) ** (slope_db_per_oct / 6.02), 0.0)
    return np.fft.irfft(spec * gain, n)


def babble(n: int, seed: int = 99, talkers: int = 6) -> np.ndarray:
    """Six other talkers (odd-indexed sentences, never the foreground's), summed."""
    from seatwatch.models.synth.speech import VOICES

    rng = random.Random(seed)
    pool = _sentences()
    odd = list(range(1, len(pool), 2))
    out = np.zeros(n, np.float64)
    for _ in range(talkers):
        stream = np.zeros(0, np.float32)
        while len(stream) < n:
            texts = [pool[i] for i in rng.sample(odd, 6)]
            stream = np.concatenate([stream, _talk(rng, texts, VOICES, (0.1, 0.2, 0.4, 0.6),
                                                   lead_s=rng.uniform(0.0, 0.5))])
        start = rng.randrange(len(stream) - n + 1)
        piece = stream[start:start + n].astype(np.float64)
        out += piece / np.sqrt(active_power(piece) + 1e-20)
    return out


def noise(kind: str, n: int, seed: int = 7) -> np.ndarray:
    """Unit-RMS noise of `kind`, float64."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _shaped(rng, n, -3.0)
    elif kind == "brown":
        x = _shaped(rng, n, -6.0)
    elif kind == "hum":
        t = np.arange(n) / RATE
        rumble = _shaped(rng, n, -9.0)
        mains = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in (1, 2, 3, 4, 6))
        bed = _shaped(rng, n, -3.0)
        x = (rumble / np.std(rumble) + 0.5 * mains / np.std(mains) + 0.3 * bed / np.std(bed))
    elif kind == "babble":
        x = babble(n, seed=seed)
    else:
        raise ValueError(f"unknown noise {kind!r}")
    return x / np.sqrt(np.mean(x * x))


def mix(track: Track, cond: Condition, noises: dict[str, np.ndarray] | None = None,
        seed: int = 3) -> np.ndarray:
    """int16 mono mixture for `cond`: speech at its active level, noise at the SNR."""
    n = len(track.clean)
    gain = 10 ** (cond.level_dbfs / 20) / np.sqrt(track.active_power)
    x = track.clean.astype(np.float64) * gain
    if cond.noise is not None and cond.snr_db is not None:
        bank = noises if noises is not None else {}
        if cond.noise not in bank:
            bank[cond.noise] = noise(cond.noise, n)
        x = x + bank[cond.noise][:n] * 10 ** ((cond.level_dbfs - cond.snr_db) / 20)
    x = x + np.random.default_rng(seed).standard_normal(n) * 10 ** (DEVICE_FLOOR_DBFS / 20)
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def frames(pcm: np.ndarray) -> np.ndarray:
    n = len(pcm) // FRAME_SAMPLES
    return pcm[: n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES)


def score(decided: np.ndarray, want: np.ndarray) -> dict[str, float]:
    """Frame accuracy, speech recall and non-speech specificity."""
    n = min(len(decided), len(want))
    d, w = np.asarray(decided[:n], bool), np.asarray(want[:n], bool)
    return {"accuracy": float(np.mean(d == w)),
            "speech_recall": float(d[w].mean()) if w.any() else 1.0,
            "nonspeech_specificity": float((~d[~w]).mean()) if (~w).any() else 1.0}


def conditions(quick: bool = False) -> list[Condition]:
    """Clean speech at -45..-15 dBFS; every noise at 10 and 20 dB SNR at agent levels."""
    clean = [Condition(None, None, level) for level in (-45.0, -35.0, -25.0, -15.0)]
    levels = (-29.0,) if quick else (-40.0, -29.0, -20.0)
    noisy = [Condition(kind, snr, level) for kind in NOISES for snr in (10.0, 20.0)
             for level in levels]
    return clean + noisy
