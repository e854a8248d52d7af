"""Music on hold on the earpiece: is the caller's line playing music, not a voice?

The VAD hears energy over the noise level; hold music has plenty, so without this a
silent hold with music reads as the caller talking (the hold rule then thinks the
caller took the floor, and dead air is judged instead of the missed check-in). Music on
a phone line differs from speech in three cheap ways:

1. Stable spectra. A note holds its partials at fixed frequencies for 100-500 ms; a
   voice's harmonics glide with the intonation (Mandarin tones) and its formants move
   from one syllable to the next. Every 40 ms (STEP frames) the 300-3400 Hz magnitude
   spectrum of the last 32 ms (512-point FFT, Hann) is compared with the one 40 ms
   earlier (cosine); an analysis is *stable* from STABLE_COS.
2. No syllabic gaps. Speech dips 12 dB and more under its recent peak several times a
   second (consonants, syllable ends, pauses) and its dips change spectrum; music keeps
   sounding between notes, and where it fades (a piano note decaying) the spectrum stays
   that of the note. A *dip* is DIP_DB under the last second's peak and not stable.
3. Notes change. A held note now and another one 0.48 s before (cosine under
   CHANGE_COS) is a melody; one steady tone (a dial tone, a fan's whine, a modulated
   sine) is no music, and neither is the onset of a sound after silence.

Over the last second (WINDOW analyses): music starts when at least ENTER_STABLE of the
loud analyses are stable, at most ENTER_DIPS are dips, the line is loud for LOUD_SHARE
of it and notes changed, all of it for ENTER_RUN in a row (0.52 s: a flat-pitched
syllable or two of a synthetic voice does not make it); music goes on while
KEEP_STABLE / KEEP_DIPS / KEEP_LOUD hold. A busy tone (0.35 s on / off, silent gaps) or
a ring-back is never music: its gaps are dips. Steady noise has no stable spectrum (the
cosine of independent noise spectra stays under STABLE_COS).

Streaming and vectorised like the VAD: the analyses run once per PUBLISH frames of the
stream (0.5 s) over the frames since, and a frame's flag is the state at the last such
boundary before it; the state (the last samples, spectra, levels and counts, the run
and state indices) carries over, so any split of a stream into blocks gives the same
flags. The flag rises ~1.5 s (at most ~2.5 s) into the music and falls within ~1 s of
its end. Cost: one 512-point real FFT per 40 ms, and a few dozen numpy calls per 0.5 s:
a quarter of the VAD's CPU in 100 ms blocks, a tenth in 10 s ones. bench/bench_music.py
and docs/music.md: recall on music of several kinds, caller speech taken for music.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy.ndimage import maximum_filter1d

from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

STEP = 4                  # frames per analysis (40 ms)
NFFT = 512                # analysis window (32 ms at 16 kHz)
LAG = 1                   # analyses between the compared spectra (40 ms)
NOTE_LAG = 12             # ... and for a note change (0.48 s)
CHANGE_COS = 0.9          # cosine under which the spectrum 0.48 s ago was another note
BAND_HZ = (300.0, 3400.0)  # the phone band
STABLE_COS = 0.85         # cosine of magnitude spectra 40 ms apart: a held note
WINDOW = 25               # analyses in the evidence window (1 s)
LOUD_DB = 30.0            # loud: within this of the window's peak ...
FLOOR_DBFS = -60.0        # ... and over this band level
DIP_DB = 12.0             # a dip: this far under the window's peak (and not a held note)
ENTER_STABLE = 0.75       # music starts: share of loud analyses that are stable, at least
ENTER_DIPS = 0.08         # ... share of analyses that are dips, at most
LOUD_SHARE = 0.6          # ... share of analyses that are loud, at least
ENTER_RUN = 13            # ... all of it for this many analyses in a row (0.52 s)
ENTER_CHANGES = 2         # ... with notes changing: analyses in the window unlike 0.48 s before
KEEP_STABLE = 0.4         # music goes on while this share of loud analyses is stable
KEEP_DIPS = 0.15          # ... dips stay under this share
KEEP_LOUD = 0.3           # ... and the line is loud this share of the window
PUBLISH = 50              # frames between two runs of the analyses (0.5 s)
_NEVER = -(1 << 40)


class MusicDetector:
    """Per 10 ms frame of one channel (the earpiece): is it music? Feed `process` the
    frames of each block in order; `playing` is the flag the next frame gets (the state
    at the last PUBLISH boundary)."""

    def __init__(self, rate: int = PIPELINE_RATE) -> None:
        if rate != PIPELINE_RATE:
            raise ValueError(f"music detection runs at {PIPELINE_RATE} Hz")
        self._window = np.hanning(NFFT + 2)[1:-1].astype(np.float32)
        freqs = np.fft.rfftfreq(NFFT, 1.0 / rate)
        self._lo = int(np.searchsorted(freqs, BAND_HZ[0]))
        self._hi = int(np.searchsorted(freqs, BAND_HZ[1]))
        # band power of a full-scale int16 frame -> dBFS (a full-scale sine reads ~0 dBFS)
        self._scale = 2.0 / (float(np.sum(self._window ** 2)) * 32768.0 ** 2)
        self.reset()

    def reset(self) -> None:
        bins = self._hi - self._lo
        self._tail = np.zeros(NFFT - FRAME_SAMPLES, np.float32)   # samples before the batch
        self._pending: list[np.ndarray] = []          # samples not analysed yet
        self._t = 0                                   # frames seen
        self._done = 0                                # frames analysed (a multiple of PUBLISH)
        self._first = 0                               # first analysed frame of the last batch
        self._a = 0                                   # analyses made
        self._spec = np.zeros((NOTE_LAG, bins), np.float32)  # the last NOTE_LAG spectra (unit)
        # zeros after a batch: its analysis windows are cut from rows of STEP frames
        self._pad = np.zeros(STEP * FRAME_SAMPLES - NFFT + FRAME_SAMPLES, np.float32)
        self._held = np.zeros(NOTE_LAG, bool)         # ... and whether each was a held note
        self._levels = np.full(WINDOW - 1, -120.0)    # the last WINDOW-1 band levels (dBFS)
        self._counts = np.zeros((WINDOW - 1, 4))      # ... loud, stable, dip, change
        self._last_miss = -1                          # last analysis not meeting the entry
        self._last_start = _NEVER                     # last analysis where music started
        self._last_stop = -1                          # last analysis failing to keep it
        self.playing = False                          # music after the last frame
        self.stable_share = np.zeros(0)               # per analysis of the last block
        self.dip_share = np.zeros(0)

    def process(self, frames: np.ndarray) -> np.ndarray:
        """(n, FRAME_SAMPLES) int16 (or float in [-1, 1]) frames of one block -> (n,) bool.

        The analyses run once per PUBLISH frames of the stream (fewer numpy calls than
        one run per 100 ms block); frame t carries the state after the frames before the
        last multiple of PUBLISH at or before t, whatever the blocks."""
        n = len(frames)
        if n == 0:
            return np.zeros(0, bool)
        x = frames.reshape(-1)
        x = x.astype(np.float32) if frames.dtype == np.int16 else x.astype(np.float32) * 32768.0
        begin = self._t
        self._t += n
        self._pending.append(x)
        upto = self._t // PUBLISH * PUBLISH                 # the last boundary reached
        out = np.full(n, self.playing)
        if upto <= self._done:
            return out
        pending = np.concatenate(self._pending)
        cut = (upto - self._done) * FRAME_SAMPLES
        self._pending = [pending[cut:]] if cut < len(pending) else []
        state = self._analyse(pending[:cut])               # per analysis of frames done..upto
        # the state at each boundary crossed: after the last analysis before it
        bounds = np.arange(self._done + PUBLISH, upto + 1, PUBLISH)
        frame_of = self._done + self._first + STEP * np.arange(len(state))   # analysed frame
        at = np.searchsorted(frame_of, bounds - 1, side="right") - 1
        published = np.where(at >= 0, state[np.maximum(at, 0)], self.playing)
        # frames of this block from each boundary on
        rel = bounds - begin
        which = np.searchsorted(rel, np.arange(n), side="right") - 1
        out = np.where(which >= 0, published[np.maximum(which, 0)], self.playing)
        self.playing = bool(published[-1])
        self._done = upto
        return np.asarray(out, bool)

    def _analyse(self, x: np.ndarray) -> np.ndarray:
        """Samples of whole frames from `_done` on -> the music state per analysis."""
        n = len(x) // FRAME_SAMPLES
        first = (STEP - 1 - self._done) % STEP           # the first analysed frame
        self._first = first
        count = len(range(first, n, STEP))
        if not count:
            self._tail = np.concatenate([self._tail, x])[-(NFFT - FRAME_SAMPLES):]
            return np.zeros(0, bool)
        # the NFFT samples ending with each analysed frame: with the tail before the batch,
        # analysis i starts at frame first + STEP * i (hop STEP frames >= NFFT samples)
        x = np.concatenate([self._tail, x, self._pad])
        self._tail = x[len(x) - len(self._pad) - (NFFT - FRAME_SAMPLES):len(x) - len(self._pad)]
        hop = STEP * FRAME_SAMPLES
        begin = first * FRAME_SAMPLES
        windows = x[begin:begin + count * hop].reshape(count, hop)[:, :NFFT]
        spectrum = scipy.fft.rfft(windows * self._window, axis=1)[:, self._lo:self._hi]
        power = spectrum.real ** 2 + spectrum.imag ** 2
        total = power.sum(axis=1)
        level = 10.0 * np.log10(total.astype(np.float64) * self._scale + 1e-20)
        mag = np.sqrt(power)
        unit = mag / np.maximum(np.sqrt(np.einsum("ab,ab->a", mag, mag)), 1e-12)[:, None]
        specs = np.concatenate([self._spec, unit])      # unit-norm magnitude spectra
        now = specs[NOTE_LAG:]
        cos = np.einsum("ab,ab->a", now, specs[NOTE_LAG - LAG:-LAG])
        cos_note = np.einsum("ab,ab->a", now, specs[:-NOTE_LAG])
        self._spec = specs[-NOTE_LAG:]
        levels = np.concatenate([self._levels, level])
        peak = maximum_filter1d(levels, WINDOW, origin=(WINDOW - 1) // 2)[WINDOW - 1:]
        self._levels = levels[-(WINDOW - 1):]
        loud = (level >= peak - LOUD_DB) & (level >= FLOOR_DBFS)
        stable = loud & (cos >= STABLE_COS)
        dip = (level < peak - DIP_DB) & ~stable
        # a note change: a held note now, another held note 0.48 s ago (not an onset)
        held = np.concatenate([self._held, stable])
        self._held = held[-NOTE_LAG:]
        change = stable & held[:-NOTE_LAG] & (cos_note < CHANGE_COS)
        counts = np.concatenate([self._counts, np.stack([loud, stable, dip, change], axis=1)])
        sums = np.cumsum(np.concatenate([np.zeros((1, 4)), counts]), axis=0)
        window = sums[WINDOW:] - sums[:-WINDOW]
        self._counts = counts[-(WINDOW - 1):]
        n_loud, n_stable, n_dip, n_change = window[:, 0], window[:, 1], window[:, 2], window[:, 3]
        self.stable_share = n_stable / np.maximum(n_loud, 1.0)
        self.dip_share = n_dip / WINDOW
        enter = ((self.stable_share >= ENTER_STABLE) & (self.dip_share <= ENTER_DIPS)
                 & (n_loud >= LOUD_SHARE * WINDOW) & (n_change >= ENTER_CHANGES))
        keep = ((self.stable_share >= KEEP_STABLE) & (self.dip_share <= KEEP_DIPS)
                & (n_loud >= KEEP_LOUD * WINDOW))
        # flip-flop: music at analysis i <=> its last start (ENTER_RUN entries in a row)
        # is later than its last failure to keep it (an entry is always kept)
        idx = self._a + np.arange(count)
        last_miss = np.maximum.accumulate(np.where(enter, self._last_miss, idx))
        last_start = np.maximum.accumulate(np.where(idx - last_miss >= ENTER_RUN, idx,
                                                    self._last_start))
        last_stop = np.maximum.accumulate(np.where(keep, self._last_stop, idx))
        self._a += count
        self._last_miss, self._last_start = int(last_miss[-1]), int(last_start[-1])
        self._last_stop = int(last_stop[-1])
        return np.asarray(last_start > last_stop)
