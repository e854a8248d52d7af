"""Recorded-call replay: a stereo WAV/FLAC file as an AudioSource."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from seatwatch.edge.sources.base import (
    FRAME_SAMPLES,
    PIPELINE_RATE,
    AudioBlock,
    ControlEvent,
    DeviceInfo,
    SourceItem,
    to_int16,
)
from seatwatch.edge.sources.control import load_control, whole_file_call

# Control signals are applied on this grid of the recording (before the 100 ms stretch
# that holds them), whatever the block size: a replay in 10 s blocks gives the events a
# replay in 100 ms blocks gives (`analyze` reads big blocks: less per-block overhead).
CONTROL_GRAIN = FRAME_SAMPLES * 10
CONVERT_CHUNK = 1 << 20         # samples per float -> int16 conversion step (cache-sized)


class AudioFileError(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def _pcm16_table() -> np.ndarray:
    """int16 sample (offset to 0..65535) -> what the float path gives it (x / 32768
    read, then to_int16)."""
    codes = np.arange(-32768, 32768, dtype=np.int32).astype(np.float32) / np.float32(32768.0)
    return to_int16(codes)


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
        info = sf.info(str(file))
        if info.channels != 2:
            raise AudioFileError(f"{file}: expected 2 channels (agent mic, earpiece), "
                                 f"got {info.channels}")
        if info.subtype == "PCM_16" and info.samplerate == rate:
            # 16-bit PCM at the pipeline rate: read the integers (no float copy) and map
            # them through the table of what the float path gives, bit for bit
            pcm, _ = sf.read(str(file), dtype="int16", always_2d=True)
            table, flat = _pcm16_table(), pcm.reshape(-1)
            for at in range(0, len(flat), CONVERT_CHUNK):     # in place, cache-sized steps
                part = flat[at:at + CONVERT_CHUNK]
                part[:] = table[part.view(np.uint16) ^ np.uint16(0x8000)]
        else:
            data, file_rate = sf.read(str(file), dtype="float32", always_2d=True)
            if file_rate != rate:
                from scipy.signal import resample_poly  # seconds to import: only here

                g = gcd(int(file_rate), rate)
                data = resample_poly(data, rate // g, int(file_rate) // g, axis=0)
            pcm = np.empty(data.shape, np.int16)
            for at in range(0, len(data), CONVERT_CHUNK):
                pcm[at:at + CONVERT_CHUNK] = to_int16(data[at:at + CONVERT_CHUNK])
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"{file}: not a readable audio file ({exc})") from None
    pcm.flags.writeable = False
    return pcm


def _streamable(file: Path, rate: int) -> int | None:
    """Frames of a 16-bit stereo PCM file at `rate` (read block by block, memory flat in
    its length), or None when the whole file must be read (other formats are converted
    or resampled as one signal)."""
    if not file.exists():
        raise AudioFileError(f"{file}: no such file")
    try:
        info = sf.info(str(file))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"{file}: not a readable audio file ({exc})") from None
    if info.channels != 2:
        raise AudioFileError(f"{file}: expected 2 channels (agent mic, earpiece), got {info.channels}")
    return int(info.frames) if info.subtype == "PCM_16" and info.samplerate == rate else None


class WavSource:
    """Replays a recording block by block; `realtime` paces it like a live device.

    `stream=True` (what `analyze` uses) reads a 16-bit PCM file at the pipeline rate
    block by block instead of into memory: the same blocks, bit for bit, in memory that
    does not grow with the call. Other files are read whole (they are resampled or
    converted as one signal)."""

    def __init__(self, path: str | Path, control: str | Path | None = None, *,
                 realtime: bool = False, loop: bool = False, block: int = FRAME_SAMPLES * 10,
                 device: str = "replay", offset_s: float = 0.0, stream: bool = False) -> None:
        self.path = Path(path)
        frames = _streamable(self.path, PIPELINE_RATE) if stream and not offset_s and not loop else None
        self._frames = frames
        self.pcm = read_stereo(self.path) if frames is None else np.zeros((0, 2), np.int16)
        if offset_s:
            # Start part-way in and wrap around (simulated seats share one recording).
            shift = int(offset_s * PIPELINE_RATE) % max(1, len(self.pcm))
            self.pcm = np.concatenate([self.pcm[shift:], self.pcm[:shift]])
        self.duration_s = (len(self.pcm) if frames is None else frames) / PIPELINE_RATE
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

    def _read(self, reader: sf.SoundFile | None, offset: int, end: int) -> np.ndarray:
        if reader is None:
            return self.pcm[offset:end]
        pcm = reader.read(end - offset, dtype="int16", always_2d=True)
        flat = pcm.reshape(-1)
        flat[:] = _pcm16_table()[flat.view(np.uint16) ^ np.uint16(0x8000)]
        pcm.flags.writeable = False
        return pcm

    def items(self) -> Iterator[SourceItem]:
        if self._frames is None:
            yield from self._items(None)
            return
        with sf.SoundFile(str(self.path)) as reader:
            yield from self._items(reader)

    def _items(self, reader: sf.SoundFile | None) -> Iterator[SourceItem]:
        start = time.monotonic()
        while not self._closed:
            base = self._clock
            controls = list(self.controls)
            total = len(self.pcm) if reader is None else int(self._frames or 0)
            offset = 0
            # a control is applied before the grain (100 ms) that holds it; a block never
            # spans one, so any block size that is a multiple of the grain replays alike
            grain = CONTROL_GRAIN if self.block % CONTROL_GRAIN == 0 else self.block
            while offset < total:
                while controls and controls[0].sample < min(offset + grain, total):
                    event = controls.pop(0)
                    yield ControlEvent(base + event.sample, event.kind)
                end = min(total, offset + self.block)
                if controls and controls[0].sample < end:
                    end = controls[0].sample // grain * grain
                chunk = self._read(reader, offset, end)
                if len(chunk) < end - offset:           # the file held less than it said
                    total = end = offset + len(chunk)
                    if not len(chunk):
                        break
                yield AudioBlock(base + offset, chunk)
                offset = end
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
