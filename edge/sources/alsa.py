"""`alsa:DEVICE`: the Pi-inline variant, the headset captured through ALSA.

A Raspberry Pi sits inline with the headset itself (a USB audio adapter with a stereo
line input, or an I2S ADC HAT), with no RP2040 device in between: ALSA gives the two
channels, left = the agent's microphone tap, right = the earpiece feed (wiring:
hardware/pi-inline.md, setup: docs/pi-inline.md). DEVICE is any ALSA PCM name:
`plughw:CARD=Device,DEV=0` (the `plug` layer converts the card's own rate and format to
the 16 kHz / S16_LE stereo asked for), `hw:1,0`, `default`, or a PCM of asound.conf.

The contract is the other sources' (edge/sources/base.py): AudioBlocks of one ALSA
period (100 ms) on the sample clock, ControlEvents, and SourceGaps for audio lost:

- overrun: when the reader fell behind and the capture buffer overflowed, ALSA drops the
  buffered audio and capture restarts (pyalsaaudio's read() returns -EPIPE and
  re-prepares). The loss is measured on the monotonic clock from the last good read
  (at least one buffer), reported as a SourceGap ("overrun"), and the sample clock
  jumps by it, so later timings stay true;
- device lost (a USB headset unplugged): the PCM is reopened every `retry_interval` s;
  on return the outage becomes a SourceGap ("device lost"), as serial:PORT does.

Hook, ring and the help button come from a Linux input device given as the seat's
`control = "evdev:/dev/input/..."` (a USB headset's HID telephony controls, or GPIO
lines bound to keys with the `gpio-key` device-tree overlay); see EvdevControl. Without
it the seat has no call signals: hearing safety (dose, acoustic shock) and levels are
monitored, the call norms need a hook. LED patterns are kept (like a replay) and logged:
the Pi-inline variant has no device LED yet.

ALSA is reached through pyalsaaudio (`pip install seatwatch[alsa]`; it compiles against
Debian's libasound2-dev).
"""

from __future__ import annotations

import errno
import logging
import os
import select
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from seatwatch.edge.sources.base import (
    FRAME_SAMPLES,
    PIPELINE_RATE,
    AudioBlock,
    ControlEvent,
    DeviceInfo,
    SourceGap,
    SourceItem,
)

log = logging.getLogger("seatwatch.alsa")

CHANNELS = 2
PERIOD = FRAME_SAMPLES * 10         # frames per read: 100 ms, the replay sources' block
PERIODS = 4                         # ALSA buffer: 4 periods (400 ms) before an overrun


class AlsaSourceError(OSError):
    """The ALSA device (or the control input) could not be opened as asked."""


@dataclass
class AlsaStats:
    blocks: int = 0
    frames: int = 0
    overruns: int = 0
    reconnects: int = 0
    lost_frames: int = 0            # frames reported as SourceGaps
    controls: int = 0


def _alsaaudio() -> Any:
    try:
        import alsaaudio
    except ImportError:
        raise AlsaSourceError("alsa sources need pyalsaaudio: pip install 'seatwatch[alsa]' "
                              "(it compiles against libasound2-dev)") from None
    return alsaaudio


class AlsaSource:
    """Stereo capture from ALSA `device`; `control` an `evdev:PATH` spec or None."""

    def __init__(self, device: str, *, control: str | None = None, period: int = PERIOD,
                 periods: int = PERIODS, retry_interval: float = 0.5,
                 reconnect_timeout: float | None = None, label: str | None = None) -> None:
        self.device, self.period, self.periods = device, period, periods
        self.retry_interval, self.reconnect_timeout = retry_interval, reconnect_timeout
        self.info = DeviceInfo(device=label or "alsa", extra={"alsa": device})
        self.stats = AlsaStats()
        self.leds: list[tuple[int, str]] = []
        self._alsa = _alsaaudio()
        self._closed = threading.Event()
        self._clock = 0
        self._pcm: Any = self._open()
        self.buffer_frames = self._buffer_frames()
        self.control = EvdevControl.parse(control) if control else None

    # --- the PCM ---------------------------------------------------------------------
    def _open(self) -> Any:
        alsa = self._alsa
        try:
            pcm = alsa.PCM(alsa.PCM_CAPTURE, alsa.PCM_NORMAL, device=self.device,
                           channels=CHANNELS, rate=PIPELINE_RATE, format=alsa.PCM_FORMAT_S16_LE,
                           periodsize=self.period, periods=self.periods)
        except alsa.ALSAAudioError as exc:
            raise AlsaSourceError(f"alsa:{self.device}: cannot open for capture ({exc})") from None
        info = pcm.info()
        got = (info.get("channels"), info.get("rate"), info.get("format_name"))
        if got != (CHANNELS, PIPELINE_RATE, "S16_LE"):
            pcm.close()
            raise AlsaSourceError(
                f"alsa:{self.device}: the device gives {got[0]} channel(s) at {got[1]} Hz "
                f"{got[2]}, not 2 channels at {PIPELINE_RATE} Hz S16_LE: use its plughw: name "
                "(ALSA converts) and a stereo input (mic left, earpiece right)")
        return pcm

    def _buffer_frames(self) -> int:
        try:
            return int(self._pcm.info().get("buffer_size") or self.period * self.periods)
        except self._alsa.ALSAAudioError:
            return self.period * self.periods

    def _drop_pcm(self) -> None:
        if self._pcm is not None:
            try:
                self._pcm.close()
            except self._alsa.ALSAAudioError:
                pass
        self._pcm = None

    def _reconnect(self) -> bool:
        started = time.monotonic()
        while not self._closed.is_set():
            try:
                self._pcm = self._open()
                self.stats.reconnects += 1
                log.info("alsa:%s: device back after %.2f s", self.device, time.monotonic() - started)
                return True
            except AlsaSourceError:
                pass
            if self.reconnect_timeout is not None and time.monotonic() - started > self.reconnect_timeout:
                return False
            self._closed.wait(self.retry_interval)
        return False

    def _gap(self, frames: int, reason: str) -> SourceGap:
        gap = SourceGap(self._clock, frames, reason)
        self._clock += frames
        self.stats.lost_frames += frames
        return gap

    # --- reading ---------------------------------------------------------------------
    def items(self) -> Iterator[SourceItem]:
        if self.control is not None:
            self.control.start()
        last_read = time.monotonic()
        try:
            while not self._closed.is_set():
                yield from self._controls()
                if self._pcm is None:
                    if not self._reconnect():
                        break
                    lost = round((time.monotonic() - last_read) * PIPELINE_RATE)
                    yield self._gap(max(1, lost), "device lost")
                    last_read = time.monotonic()
                    continue
                try:
                    frames, data = self._pcm.read()
                except self._alsa.ALSAAudioError as exc:
                    if not self._closed.is_set():
                        log.warning("alsa:%s: capture failed (%s); reopening", self.device, exc)
                    self._drop_pcm()
                    continue
                now = time.monotonic()
                if frames == -errno.EPIPE:
                    # overrun: the buffer overflowed and was dropped; pyalsaaudio has
                    # prepared the PCM again. Lost: everything since the last good read.
                    self.stats.overruns += 1
                    lost = max(self.buffer_frames, round((now - last_read) * PIPELINE_RATE))
                    log.warning("alsa:%s: overrun, %.3f s of audio lost", self.device,
                                lost / PIPELINE_RATE)
                    yield self._gap(lost, "overrun")
                    last_read = now
                    continue
                if frames <= 0:          # -EAGAIN (non-blocking) or nothing yet
                    self._closed.wait(0.005)
                    continue
                pcm = np.frombuffer(data, dtype="<i2", count=frames * CHANNELS)
                block = AudioBlock(self._clock, pcm.astype(np.int16).reshape(frames, CHANNELS))
                self._clock += frames
                self.stats.blocks += 1
                self.stats.frames += frames
                last_read = now
                yield block
            yield from self._controls()
        finally:
            self._drop_pcm()
            if self.control is not None:
                self.control.close()

    def _controls(self) -> Iterator[ControlEvent]:
        if self.control is None:
            return
        for kind in self.control.drain():
            self.stats.controls += 1
            yield ControlEvent(self._clock, kind)

    def send_led(self, pattern: str) -> None:
        self.leds.append((self._clock, pattern))
        log.debug("alsa:%s: led %s (no device LED on the Pi-inline variant)", self.device, pattern)

    def close(self) -> None:
        """Ends items() after the read in progress (at most one period); the reading
        thread closes the PCM itself, so no read is cut under it."""
        self._closed.set()


# --- hook, ring and button from a Linux input device ---------------------------------------

EV_KEY = 0x01
KEY_PHONE = 169         # hook switch: pressed = off-hook, released = on-hook
KEY_F13 = 183           # ring detector: pressed at each ring burst
KEY_F14 = 184           # the agent's help button
INPUT_EVENT = struct.Struct("@llHHi")   # struct input_event: timeval, type, code, value


class EvdevControl:
    """Call-control signals from Linux input devices (`/dev/input/eventN`).

    Spec: `evdev:PATH[,PATH...]` or `evdev:PATHS?hook=169&ring=183&button=184` (EV_KEY
    codes; several paths when each key is a device of its own, as one `gpio-key`
    overlay per GPIO gives).
    Key down of `hook` is off_hook, key up on_hook; key down of `ring` is a ring, of
    `button` a button press; autorepeat and other events are ignored. A thread reads the
    device; the audio loop stamps each signal with the sample clock of the next block
    (within one 100 ms period of when it happened).
    """

    def __init__(self, path: str, *, hook: int = KEY_PHONE, ring: int = KEY_F13,
                 button: int = KEY_F14) -> None:
        self.path = path
        self.paths = [p for p in path.split(",") if p]
        self.down = {hook: "off_hook", ring: "ring", button: "button"}
        self.up = {hook: "on_hook"}
        self._queue: deque[str] = deque()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"evdev-{path}", daemon=True)
        for one in self.paths:
            if not os.path.exists(one):
                raise AlsaSourceError(f"control {one}: no such input device")

    @classmethod
    def parse(cls, spec: str) -> EvdevControl:
        kind, _, rest = spec.partition(":")
        if kind != "evdev" or not rest:
            raise AlsaSourceError(f"control {spec!r}: alsa sources take evdev:/dev/input/... "
                                  "(hook, ring and button keys)")
        path, _, query = rest.partition("?")
        codes: dict[str, int] = {}
        for part in filter(None, query.split("&")):
            key, _, value = part.partition("=")
            if key not in ("hook", "ring", "button") or not value.isdigit():
                raise AlsaSourceError(f"control {spec!r}: {part!r} is not hook=, ring= or "
                                      "button= with a key code")
            codes[key] = int(value)
        return cls(path, **codes)

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()

    def drain(self) -> list[str]:
        out = []
        while self._queue:
            out.append(self._queue.popleft())
        return out

    def feed(self, data: bytes) -> int:
        """Decode whole input_event records; returns the bytes consumed."""
        used = len(data) - len(data) % INPUT_EVENT.size
        for _sec, _usec, etype, code, value in INPUT_EVENT.iter_unpack(data[:used]):
            if etype != EV_KEY:
                continue
            kind = self.down.get(code) if value == 1 else self.up.get(code) if value == 0 else None
            if kind is not None:
                self._queue.append(kind)
        return used

    def _run(self) -> None:
        pending: dict[int, bytes] = {}
        try:
            for one in self.paths:
                pending[os.open(one, os.O_RDONLY | os.O_NONBLOCK)] = b""
            while not self._closed.is_set():
                ready, _, _ = select.select(list(pending), [], [], 0.2)
                idle = True
                for fd in ready:
                    try:
                        data = os.read(fd, INPUT_EVENT.size * 64)
                    except BlockingIOError:
                        continue
                    if data:
                        idle = False
                        buffered = pending[fd] + data
                        pending[fd] = buffered[self.feed(buffered):]
                if ready and idle:    # a FIFO with no writer (yet): wait for one
                    self._closed.wait(0.05)
        except OSError as exc:
            if not self._closed.is_set():
                log.error("control %s: input device failed (%s); no more hook signals", self.path, exc)
        finally:
            for fd in pending:
                os.close(fd)

    def close(self) -> None:
        self._closed.set()
