"""Recorded-call replay: a stereo WAV/FLAC file as an AudioSource."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from edge.sources.base import (
    FRAME_SAMPLES,
    PIPELINE_RATE,
    AudioBlock,
    ControlEvent,
    DeviceInfo,
    SourceItem,
    to_int16,
)
from edge.sources.control import load_control, whole_file_call


class AudioFileError(ValueError):
    pass


def read_stereo(path: str | Path, rate: int = PIPELINE_RATE) -> np.ndarray:
    """Read a stereo file as int16 (n, 2) at `rate`, resampling when needed.

    The result is read-only and cached per file version: several simulated seats
    replaying one recording share a single copy.
    """
    file = Path(path)
    if not file.exists():
        raise AudioFileError(f"{file}: no such file")
    stat = file.stat()
    return _read_stereo(file.resolve(), stat.st_mtime_ns, stat.st_size, rate)


@functools.lru_cache(maxsize=4)
def _read_stereo(file: Path, mtime_ns: int, size: int, rate: int) -> np.ndarray:
    try:
        data, file_rate = sf.read(str(file), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"{file}: not a readable audio file ({exc})") from None
    if data.shape[1] != 2:
        raise AudioFileError(f"{file}: expected 2 channels (agent mic, earpiece), "
                             f"got {data.shape[1]}")
    if file_rate != rate:
        g = gcd(int(file_rate), rate)
        data = resample_poly(data, rate // g, int(file_rate) // g, axis=0)
    pcm = to_int16(data)
    pcm.flags.writeable = False
    return pcm


class WavSource:
    """Replays a recording block by block; `realtime` paces it like a live device."""

    def __init__(self, path: str | Path, control: str | Path | None = None, *,
                 realtime: bool = False, loop: bool = False, block: int = FRAME_SAMPLES * 10,
                 device: str = "replay", offset_s: float = 0.0) -> None:
        self.path = Path(path)
        self.pcm = read_stereo(self.path)
        if offset_s:
            # Start part-way in and wrap around (simulated seats share one recording).
            shift = int(offset_s * PIPELINE_RATE) % max(1, len(self.pcm))
            self.pcm = np.concatenate([self.pcm[shift:], self.pcm[:shift]])
        self.duration_s = len(self.pcm) / PIPELINE_RATE
        self.controls = (load_control(control, self.duration_s, PIPELINE_RATE) if control
                         else whole_file_call(self.duration_s, PIPELINE_RATE))
        if offset_s:
            n = len(self.pcm)
            self.controls = sorted((ControlEvent((c.sample - shift) % n, c.kind)
                                    for c in self.controls), key=lambda c: c.sample)
        self.realtime, self.loop, self.block = realtime, loop, block
        self.info = DeviceInfo(device=device)
        self.leds: list[tuple[int, str]] = []
        self._clock = 0
        self._closed = False

    def items(self) -> Iterator[SourceItem]:
        start = time.monotonic()
        while not self._closed:
            base = self._clock
            controls = list(self.controls)
            for offset in range(0, len(self.pcm), self.block):
                chunk = self.pcm[offset:offset + self.block]
                end = offset + len(chunk)
                while controls and controls[0].sample < end:
                    event = controls.pop(0)
                    yield ControlEvent(base + event.sample, event.kind)
                yield AudioBlock(base + offset, chunk)
                self._clock = base + end
                if self.realtime:
                    delay = start + self._clock / PIPELINE_RATE - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                if self._closed:
                    return
            for event in controls:  # controls at or after the very end (on-hook at EOF)
                yield ControlEvent(base + event.sample, event.kind)
            if not self.loop:
                return

    def send_led(self, pattern: str) -> None:
        self.leds.append((self._clock, pattern))

    def close(self) -> None:
        self._closed = True
