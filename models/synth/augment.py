"""Channel augmentation: what a headset microphone and a phone line do to speech.

Telephone band-pass, 8 kHz G.711 mu-law round trip, office babble, reverberation,
gain from whisper to shout, clipping, background noise. Every function takes the
random generator it uses, so a seed reproduces a data set exactly.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

RATE = 16_000


@functools.lru_cache(maxsize=1)
def _phone_band() -> np.ndarray:
    return butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")


def telephone_band(x: np.ndarray) -> np.ndarray:
    return sosfilt(_phone_band(), x).astype(np.float32)


def mulaw_8k(x: np.ndarray, mu: float = 255.0) -> np.ndarray:
    """Down to 8 kHz, 8-bit mu-law (G.711) and back: the narrowband phone path."""
    narrow = resample_poly(x, 1, 2)
    enc = np.sign(narrow) * np.log1p(mu * np.minimum(np.abs(narrow), 1.0)) / np.log1p(mu)
    q = np.round(enc * 127.0) / 127.0
    dec = np.sign(q) * ((1 + mu) ** np.abs(q) - 1) / mu
    return resample_poly(dec, 2, 1).astype(np.float32)[: len(x)]


def reverb(x: np.ndarray, rng: np.random.Generator, rt60: float) -> np.ndarray:
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / 0.3
    ir *= 0.3 / np.sqrt((ir ** 2).sum())
    return fftconvolve(x, ir)[: len(x)].astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def mix_at_snr(x: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    if len(noise) < len(x):
        noise = np.tile(noise, int(np.ceil(len(x) / max(1, len(noise)))))
    noise = noise[: len(x)]
    return (x + noise * (rms(x) / rms(noise)) * 10 ** (-snr_db / 20)).astype(np.float32)


def babble(pool: list[np.ndarray], rng: np.random.Generator, length: int, talkers: int = 4) -> np.ndarray:
    """Office babble: several other voices summed, each started at a random point."""
    out = np.zeros(length, np.float32)
    for _ in range(talkers):
        voice = pool[int(rng.integers(len(pool)))]
        reps = np.tile(voice, int(np.ceil(length / len(voice))) + 1)
        start = int(rng.integers(len(voice)))
        out += reps[start:start + length] / max(rms(voice), 1e-6)
    return out


def channel(x: np.ndarray, rng: np.random.Generator, pool: list[np.ndarray] | None = None,
            *, strength: float = 1.0, babble_p: float = 0.5,
            babble_snr_db: tuple[float, float] = (3.0, 22.0)) -> np.ndarray:
    """A random but plausible capture chain; `strength` 0 leaves the speech clean."""
    y = x.astype(np.float32)
    if strength <= 0:
        return y
    if rng.random() < 0.3 * strength:
        y = reverb(y, rng, float(rng.uniform(0.15, 0.5)))
    if rng.random() < babble_p * strength and pool:
        y = mix_at_snr(y, babble(pool, rng, len(y)), float(rng.uniform(*babble_snr_db)))
    if rng.random() < 0.4 * strength:
        y = telephone_band(y)
    if rng.random() < 0.3 * strength:
        y = mulaw_8k(y)
    # whisper .. shout around the nominal -22 dBFS speech level, then the ADC clips
    gain_db = float(rng.uniform(-22, 14)) * strength
    y = y * (10 ** ((-22 + gain_db) / 20) / max(rms(y), 1e-6)) * 1.6  # active-speech ~ +4 dB
    y = y + rng.standard_normal(len(y)).astype(np.float32) * 10 ** (rng.uniform(-80, -55) / 20)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def steady_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stationary room noise of a random colour: a noise floor whose spectral slope runs
    from white to brown (air conditioning, PC fans, traffic hum), sometimes with mains hum
    and its harmonics or a fan's tonal whine; unit RMS."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0)
    spectrum *= f ** (-float(rng.uniform(0.0, 1.0)))          # 0: white .. 1: brown
    out = np.fft.irfft(spectrum, n)
    out /= np.std(out) + 1e-12
    t = np.arange(n) / RATE
    if rng.random() < 0.5:
        mains = float(rng.choice((50.0, 60.0)))
        out += sum(float(rng.uniform(0.05, 0.5)) / k * np.sin(2 * np.pi * mains * k * t + rng.uniform(0, 6.3))
                   for k in range(1, 7))
    if rng.random() < 0.4:
        out += float(rng.uniform(0.02, 0.15)) * np.sin(2 * np.pi * rng.uniform(120, 900) * t)
    return (out / (np.std(out) + 1e-12)).astype(np.float32)
