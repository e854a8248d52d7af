"""Log-mel features: computed once per channel, shared by the keyword and rate models.

The same numpy code runs in training (models/) and on the edge, frame by frame or on a
whole signal; `test_features` proves both paths give identical arrays. 25 ms Hann
windows every 10 ms (one frame per FRAME_SAMPLES), 40 mel bands over 60-7600 Hz.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

WIN = 400                     # 25 ms at 16 kHz
HOP = FRAME_SAMPLES           # 10 ms
NFFT = 512
N_MELS = 40
FMIN, FMAX = 60.0, 7600.0
LOG_FLOOR = 1e-6


@dataclass(frozen=True)
class FeatureConfig:
    rate: int = PIPELINE_RATE
    win: int = WIN
    hop: int = HOP
    nfft: int = NFFT
    n_mels: int = N_MELS
    fmin: float = FMIN
    fmax: float = FMAX

    def to_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@functools.lru_cache(maxsize=4)
def mel_filterbank(cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(nfft//2+1, n_mels) triangular filters, float32."""
    mels = np.linspace(_hz_to_mel(np.array(cfg.fmin)), _hz_to_mel(np.array(cfg.fmax)),
                       cfg.n_mels + 2)
    edges = _mel_to_hz(mels)
    freqs = np.linspace(0, cfg.rate / 2, cfg.nfft // 2 + 1)
    bank = np.zeros((len(freqs), cfg.n_mels), np.float32)
    for m in range(cfg.n_mels):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        bank[:, m] = np.maximum(0.0, np.minimum(up, down))
    return bank


@functools.lru_cache(maxsize=4)
def _window(win: int) -> np.ndarray:
    return np.hanning(win).astype(np.float32)


def frames_to_logmel(frames: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """(n, win) float32 windows of audio in [-1, 1] -> (n, n_mels) float32 log-mel."""
    windowed = frames * _window(cfg.win)
    if cfg.nfft >= cfg.win:     # zero-padded in float64 here: what rfft(n=nfft) does, one copy less
        padded = np.zeros((len(frames), cfg.nfft))
        padded[:, :cfg.win] = windowed
        spec = np.fft.rfft(padded, axis=1)
    else:
        spec = np.fft.rfft(windowed, n=cfg.nfft, axis=1)
    power = spec.real * spec.real
    power += spec.imag * spec.imag
    power = power.astype(np.float32)
    # einsum without BLAS: each output sums in a fixed order whatever the batch size, so
    # streaming and whole-signal features are bit-identical (BLAS blocking is not).
    mel = np.einsum("nf,fm->nm", power, mel_filterbank(cfg), optimize=False)
    return np.log(mel + LOG_FLOOR).astype(np.float32)


def logmel(audio: np.ndarray, cfg: FeatureConfig = FeatureConfig()) -> np.ndarray:
    """Whole signal (float in [-1, 1] or int16) -> (n_frames, n_mels).

    Frame i covers samples [i*hop - (win-hop), i*hop + hop): it ends where the i-th
    10 ms block ends, so feature frames line up with the pipeline's level frames. The
    signal is zero-padded on the left, exactly as the streaming extractor starts.
    """
    x = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
    n = len(x) // cfg.hop
    padded = np.concatenate([np.zeros(cfg.win - cfg.hop, np.float32), x[: n * cfg.hop]])
    return frames_to_logmel(_frames(padded, n, cfg), cfg) if n else np.zeros((0, cfg.n_mels), np.float32)


def _frames(buf: np.ndarray, n: int, cfg: FeatureConfig) -> np.ndarray:
    """The n windows of `buf` (win samples every hop from its start), as a view."""
    return sliding_window_view(buf[: (n - 1) * cfg.hop + cfg.win], cfg.win)[:: cfg.hop]


def remove_window_mean(x: np.ndarray) -> np.ndarray:
    """(..., frames, mels) -> float32 with each window's mean removed: the models' only
    input normalisation, shared by training and the edge (robust to whisper .. shout)."""
    x = x.astype(np.float32)
    return x - x.mean(axis=(-2, -1), keepdims=True)


class StreamingLogMel:
    """Feed audio in any block sizes; get the same frames `logmel` gives the whole signal."""

    def __init__(self, cfg: FeatureConfig = FeatureConfig()) -> None:
        self.cfg = cfg
        self._buf = np.zeros(cfg.win - cfg.hop, np.float32)

    def push(self, audio: np.ndarray, needed: np.ndarray | None = None) -> np.ndarray:
        """Audio in -> the frames it completes. `needed` (one flag per frame, when the
        caller knows which it will read): only those are computed, the others are NaN;
        a computed frame has the bits it has when every frame is computed."""
        x = audio.astype(np.float32) / 32768.0 if audio.dtype == np.int16 else audio.astype(np.float32)
        buf = np.concatenate([self._buf, x])
        n = (len(buf) - (self.cfg.win - self.cfg.hop)) // self.cfg.hop
        if n <= 0:
            self._buf = buf
            return np.zeros((0, self.cfg.n_mels), np.float32)
        frames = _frames(buf, n, self.cfg)
        if needed is None:
            out = frames_to_logmel(frames, self.cfg)
        else:
            out = np.full((n, self.cfg.n_mels), np.nan, np.float32)
            which = np.flatnonzero(needed[:n])
            if len(which):
                out[which] = frames_to_logmel(frames[which], self.cfg)
        self._buf = buf[n * self.cfg.hop:]
        return out
