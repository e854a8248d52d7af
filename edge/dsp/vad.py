"""Speech-activity detection per channel: is someone talking in this 10 ms frame?

`NoiseVad` (the pipeline's) decides on the signal-to-noise ratio in the speech band, so
it holds whatever the talker's level and whatever steady noise or babble sits under it:

1. Speech-band energy: the frame through a 150-5000 Hz band-pass (Butterworth, 2nd
   order each side: mains hum and HVAC rumble below, hiss above are left out), its
   power smoothed frame to frame (one pole at 0.5, ~15 ms), in dB.
2. Noise level: a low quantile (`noise_quantile`, 20 %) of that energy over the last
   `noise_window_s` (5 s), updated every 100 ms. Speech never fills a window: pauses
   and the dips between syllables sit at the noise, so the quantile lands on the noise
   whether it is a fan (steady: the quantile is its mean) or babble (the quantile is
   its typical level, not its deepest dip as a minimum tracker would find, so babble's
   own bumps stay under the onset margin). A noise that appears suddenly counts as
   speech until it fills 80 % of the window (~4 s). At the stream's start the window
   holds only what was heard so far (not the first frame repeated: a first frame in a
   dip of babble made the babble speech for seconds), its quantile starts at the median
   and falls to `noise_quantile` as the window fills, and nothing is speech before 300 ms
   have been heard (a median of fewer frames landed in a dip of babble).
3. Decision with hysteresis: speech starts once `min_speech_s` of frames are
   `onset_snr_db` above the noise level, then holds while frames stay
   `sustain_snr_db` above it, plus `hangover_s` after the last one. Frames quieter
   than `speech_dbfs` are never speech (digital silence, a muted line).

Everything is vectorised over the frames (and channels) of a block; the state (filter memories, the
noise window, counters) carries across blocks, so any split of a stream into blocks
gives the same decisions, with no wall clock. Measured against exact truth in steady
noise and babble at 10 and 20 dB SNR: tests/dsp, bench/bench_vad.py and
models/experiments/vad.md.

`EnergyVad` is the previous absolute-threshold detector, kept as the baseline those
measurements compare against.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, replace

import numpy as np
from scipy import signal

from seatwatch.edge.policy import Vad
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

FRAME_S = FRAME_SAMPLES / PIPELINE_RATE
BAND_HZ = (150.0, 5000.0)      # the speech band the SNR is measured in
NOISE_EVERY = 10               # frames between two noise-level updates (100 ms)
SMOOTH = 0.5                   # one-pole smoothing of frame power (time constant ~15 ms)
STARTUP_QUANTILE = 0.5         # the noise quantile of the stream's first second (see _noise)
STARTUP_DEAF_FRAMES = 30       # nothing is speech before the stream's first 300 ms are heard
TALKER_FRAMES = 300            # onset-level frames the talker level is a median of (~5 s of speech)
TALKER_MIN = 50                # ... and how many it needs before it gates anything
NOISE_FLOOR_DBFS = -90.0       # the noise level never goes below this (digital silence)
_TINY = 1e-14
_NEVER = -(1 << 40)


def _band(rate: int) -> tuple[np.ndarray, np.ndarray]:
    b, a = signal.butter(2, BAND_HZ, btype="bandpass", fs=rate)
    return np.asarray(b), np.asarray(a)


class NoiseVad:
    """Noise-adaptive VAD for `channels` independent channels (the pipeline runs one for
    the microphone and the earpiece together: one set of numpy calls per block); feed
    `process` the frames of each block in order."""

    def __init__(self, policy: Vad, rate: int = PIPELINE_RATE, channels: int = 1,
                 talker_gate: tuple[bool, ...] | None = None, first_frame_past: bool = False) -> None:
        self.policy, self.channels = policy, channels
        self._first_frame_past = first_frame_past      # see label_vad
        gate = talker_gate if talker_gate is not None else (True,) * channels
        if len(gate) != channels:
            raise ValueError(f"talker_gate names {len(gate)} channel(s), the VAD has {channels}")
        # per channel: how far under the talker's own peaks an onset may be (inf: no gate)
        margin = policy.talker_margin_db if policy.talker_margin_db > 0 else np.inf
        self._margin = np.where(np.array(gate, bool), margin, np.inf)
        self._b, self._a = _band(rate)
        self._window = max(2, round(policy.noise_window_s / FRAME_S))
        self._span = np.arange(self._window)
        self._quantile = policy.noise_quantile
        self._rank = min(self._window - 1, int(policy.noise_quantile * self._window))
        self._min_frames = max(1, math.ceil(policy.min_speech_s / FRAME_S - 1e-9))
        self._hang_frames = round(policy.hangover_s / FRAME_S)
        self._renew_frames = round(policy.renew_s / FRAME_S)
        self._gate = 10 ** (policy.speech_dbfs / 10)
        self.reset()

    def reset(self) -> None:
        c = self.channels
        self._zi = np.zeros((len(self._a) - 1, c))      # band-pass state
        self._smooth: np.ndarray | None = None          # smoothed band power, last frame
        self._history: np.ndarray | None = None         # last window-1 band levels (dB)
        self._t = 0                                     # frames seen
        self._run = np.zeros(c, np.int64)               # onset frames in a row at the end
        self._last_sustain = np.full(c, _NEVER)         # frame index of the last sustain frame
        self._last_onset = np.full(c, _NEVER)           # ... where an onset was confirmed
        self._last_peak = np.full(c, _NEVER)            # ... of the last frame at renewal level
        self._last_break = np.full(c, -1)               # ... where the hangover ran out
        self.noise_db = np.full(c, NOISE_FLOOR_DBFS)    # noise level after the last frame
        self.talker_db = np.full(c, self.policy.talker_prior_dbfs)   # the talker's typical loud level
        self._onsets: list[deque[float]] = [deque(maxlen=TALKER_FRAMES) for _ in range(c)]
        self._learning = np.ones(c, bool)                # talker level not known yet
        self.snr_db = np.zeros((0, c))                  # per frame of the last block

    @property
    def speaking(self) -> np.ndarray:
        return np.asarray(self._last_onset > self._last_break)

    def process(self, frames: np.ndarray) -> np.ndarray:
        """Frames of one block -> whether each is speech.

        (n, FRAME_SAMPLES) -> (n,) for one channel; (n, FRAME_SAMPLES, channels) ->
        (n, channels). int16, or float in [-1, 1].
        """
        mono = frames.ndim == 2
        x = frames[:, :, None] if mono else frames
        n, size, c = x.shape
        if c != self.channels:
            raise ValueError(f"expected {self.channels} channel(s), got {c}")
        if n == 0:
            return np.zeros((0,) if mono else (0, c), bool)
        x = x.astype(np.float64)
        if frames.dtype == np.int16:
            x /= 32768.0
        power = np.einsum("nsc,nsc->nc", x, x) / size
        band, self._zi = signal.lfilter(self._b, self._a, x.reshape(n * size, c), axis=0, zi=self._zi)
        band = band.reshape(n, size, c)
        band_power = np.einsum("nsc,nsc->nc", band, band) / size
        if self._smooth is None:
            self._smooth = band_power[0]
        smooth, _ = signal.lfilter([1.0 - SMOOTH], [1.0, -SMOOTH], band_power, axis=0,
                                   zi=SMOOTH * self._smooth[None, :])
        self._smooth = smooth[-1]
        level = 10.0 * np.log10(smooth + _TINY)
        if self._history is None and self._first_frame_past:
            self._history = np.repeat(level[:1], self._window - 1, axis=0)
            self.noise_db = np.maximum(level[0], NOISE_FLOOR_DBFS)
        elif self._history is None:     # no past yet: the quantile is of what was heard
            self._history = np.full((self._window - 1, c), np.inf)
            self.noise_db = np.full(c, np.inf)  # deaf until STARTUP_DEAF_FRAMES are heard
        levels = np.concatenate([self._history, level])
        self._history = levels[-(self._window - 1):]
        snr = level - self._noise(levels, n)
        self.snr_db = snr
        loud = power >= self._gate
        onset = loud & (snr >= self.policy.onset_snr_db)
        # a voice near the noise and far under the talker's own loud frames is a colleague's;
        # until that level is known, only a voice well clear of the noise is the agent's
        strong = onset & (snr >= self.policy.first_onset_snr_db)
        talker, learning = self._talker(level, onset, strong, n)
        near = np.where(learning, strong, True) & (level >= talker - self._margin)
        onset &= near | (snr >= self.policy.foreground_snr_db)
        sustain = loud & (snr >= self.policy.sustain_snr_db)
        renew = loud & (snr >= self.policy.renew_snr_db)
        speech = self._decide(onset, sustain, renew)
        return speech[:, 0] if mono else speech

    def _talker(self, level: np.ndarray, onset: np.ndarray, strong: np.ndarray,
                n: int) -> tuple[np.ndarray, np.ndarray]:
        """The gated channels' talker level per frame: the median level of the last
        TALKER_FRAMES onset-level frames, renewed at the noise-update frames (so any block
        split agrees). Not a peak: an agent back to a normal voice after shouting moves it
        within a few seconds of speech; a colleague's rare bumps in a hold do not.
        Second array: whether the level is still being learnt (fewer than TALKER_MIN
        frames), when only `strong` frames count, so babble heard before the agent's first
        words (a transferred call, a caller who speaks first) neither starts speech nor
        becomes the talker."""
        out = np.full((n, self.channels), -np.inf)
        learning = np.zeros((n, self.channels), bool)
        first = (NOISE_EVERY - 1 - self._t) % NOISE_EVERY
        ends = [*range(first + 1, n + 1, NOISE_EVERY)]
        if not ends or ends[-1] != n:
            ends.append(n)
        for ch in np.flatnonzero(np.isfinite(self._margin)):
            recent, value, learn, start = self._onsets[ch], self.talker_db[ch], self._learning[ch], 0
            for end in ends:
                out[start:end, ch] = value
                learning[start:end, ch] = learn
                heard = (strong if learn else onset)[start:end, ch]
                recent.extend(level[start:end, ch][heard].tolist())
                if (end - 1 - first) % NOISE_EVERY == 0 and end - 1 >= first:
                    learn = len(recent) < TALKER_MIN
                    if not learn:
                        value = float(np.median(np.fromiter(recent, float)))
                start = end
            self.talker_db[ch], self._learning[ch] = value, learn
        return out, learning

    def _noise(self, levels: np.ndarray, n: int) -> np.ndarray:
        """Noise level per frame and channel: the quantile of the window ending at the
        latest update frame (every NOISE_EVERY frames of the stream, so any block split
        agrees)."""
        first = (NOISE_EVERY - 1 - self._t) % NOISE_EVERY      # this block's first update
        if first >= n:
            return np.repeat(self.noise_db[None, :], n, axis=0)
        update = np.arange(first, n, NOISE_EVERY)
        windows = levels.T[:, update[:, None] + self._span]    # (channels, updates, window)
        heard = np.minimum(self._t + update + 1, self._window)   # frames of the stream so far
        if heard[0] >= self._window or self._first_frame_past:
            fresh = np.partition(windows, self._rank, axis=2)[:, :, self._rank].T
        else:       # the stream's first seconds: its unheard past is +inf, sorted last, and
            # a low quantile of a few frames is babble's chance dip: start at the median,
            # reach noise_quantile as the window fills
            quantile = STARTUP_QUANTILE + (self._quantile - STARTUP_QUANTILE) * heard / self._window
            ranks = np.minimum((quantile * heard).astype(np.int64), heard - 1)
            fresh = np.sort(windows, axis=2)[:, np.arange(len(update)), ranks].T
            fresh[heard < STARTUP_DEAF_FRAMES] = np.inf     # too few frames to know the noise
        table = np.maximum(np.concatenate([self.noise_db[None, :], fresh]), NOISE_FLOOR_DBFS)
        self.noise_db = table[-1]
        return table[(np.arange(n) - first) // NOISE_EVERY + 1]

    def _decide(self, onset: np.ndarray, sustain: np.ndarray, renew: np.ndarray) -> np.ndarray:
        """Hysteresis, minimum burst and hangover, vectorised over the block.

        Speaking at frame t <=> the last confirmed onset (a run of `min_frames` onset
        frames) is later than the last frame where the hangover ran out (more than
        `hang_frames` since the last sustain frame), and some frame within `renew_frames`
        reached the renewal level (babble stays `sustain_snr_db` over its own quantile
        ~40 % of the time, so sustain alone would carry a babble burst on for ever;
        speech renews itself with a syllable peak every few tenths of a second).
        """
        n = len(onset)
        idx = (self._t + np.arange(n))[:, None]
        last_off = np.maximum.accumulate(np.where(onset, self._t - 1 - self._run, idx), axis=0)
        run = idx - last_off
        last_sustain = np.maximum.accumulate(np.where(sustain, idx, self._last_sustain), axis=0)
        broke = idx - last_sustain > self._hang_frames
        last_onset = np.maximum.accumulate(np.where(run >= self._min_frames, idx, self._last_onset),
                                           axis=0)
        last_peak = np.maximum.accumulate(np.where(renew, idx, self._last_peak), axis=0)
        # a renewal lapse is a break too: a later onset run must confirm speech again
        broke |= idx - last_peak > self._renew_frames
        last_break = np.maximum.accumulate(np.where(broke, idx, self._last_break), axis=0)
        self._t += n
        self._last_peak = last_peak[-1]
        self._run = run[-1]
        self._last_sustain, self._last_onset = last_sustain[-1], last_onset[-1]
        self._last_break = last_break[-1]
        return np.asarray(last_onset > last_break)


def label_vad() -> NoiseVad:
    """The speech-seconds definition of the rate model's labels and of the benchmark's
    truth rates (seatwatch.models.synth.dataset.speech_frames, callbench render): the
    pipeline's VAD as it was when they were made (the first frame stands for the past,
    no renewal, no talker gate), kept so a label keeps its meaning. On a clean utterance
    the later changes moved the measured seconds by -10 % to +80 % (a sentence whose first
    frame is already speech); the rate model would need retraining to move with them."""
    legacy = replace(Vad(), renew_snr_db=0.0, talker_margin_db=0.0)
    return NoiseVad(legacy, first_frame_past=True)


@dataclass
class EnergyVad:
    """The previous detector: speech while a frame's RMS is over an absolute threshold.

    Fails as soon as steady noise sits over the threshold (every frame is speech) or a
    quiet talker sits under it; kept as the baseline for bench_vad and tests/dsp."""

    threshold_dbfs: float
    hangover_s: float
    min_speech_s: float
    speaking: bool = False
    _above: int = 0          # consecutive frames above threshold
    _below: int = 0          # consecutive frames below threshold while speaking

    def update(self, rms_dbfs: float) -> bool:
        """Feed one 10 ms frame's RMS level; return whether the channel is in speech."""
        if rms_dbfs >= self.threshold_dbfs:
            self._above += 1
            self._below = 0
            if not self.speaking and self._above * FRAME_S >= self.min_speech_s:
                self.speaking = True
        else:
            self._above = 0
            if self.speaking:
                self._below += 1
                if self._below * FRAME_S > self.hangover_s:
                    self.speaking = False
                    self._below = 0
        return self.speaking
