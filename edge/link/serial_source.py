"""`serial:PORT`: the inline device over USB CDC as an AudioSource.

Open the port, ask for a hello (handshake), then turn frames into AudioBlock /
ControlEvent / SourceGap items on one stream clock:

- resync: garbage or a corrupt frame costs that frame only (COBS delimiters, CRC);
  every bad frame is counted by reason in `stats`;
- gaps: a jump in the audio's sample clock is audio lost (on the wire, or dropped by
  the device); it becomes a SourceGap the pipeline reports as `device_fault`;
- order: the device reports a hook change once debounced, stamped with the sample at
  which it happened, so audio is held back by the device's declared `control_hold`
  and each control event is placed before the first block that ends after it;
- unplug: the port is reopened every 0.1 s; on return the device is asked for a hello
  again and the outage becomes a SourceGap (measured on the device's clock when it kept
  running, on the wall clock when it rebooted).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import serial

from edge.link.framing import FrameError, protocol
from edge.sources.base import (
    PIPELINE_RATE,
    AudioBlock,
    ControlEvent,
    DeviceInfo,
    SourceGap,
    SourceItem,
)

log = logging.getLogger("seatwatch.link")

P = protocol
CLOCK_HALF = P.CLOCK_MOD // 2
IDLE_RELEASE_S = 0.25       # no bytes this long: release held audio (no control can follow)
CONTROL_KINDS = {(P.C_HOOK, 1): "off_hook", (P.C_HOOK, 0): "on_hook",
                 (P.C_RING, 1): "ring", (P.C_BUTTON, 1): "button"}


class SerialLinkError(OSError):
    """The device could not be reached or did not answer like seatwatch firmware."""


@dataclass
class LinkStats:
    frames: int = 0                 # good frames from the device
    bytes_in: int = 0
    bad_frames: Counter[str] = field(default_factory=Counter)  # by reason: cobs, crc, ...
    unknown_types: Counter[int] = field(default_factory=Counter)
    seq_missing: int = 0            # packets missing by sequence number
    gaps: int = 0                   # SourceGap items produced
    samples_lost: int = 0
    duplicates: int = 0             # audio at or before the stream position (dropped)
    late_controls: int = 0          # control events that arrived after their audio left
    recovered_controls: int = 0     # hook changes seen only in a heartbeat (control packet lost)
    reconnects: int = 0
    bad_leds: int = 0               # LED pattern names the protocol does not know
    acks: Counter[str] = field(default_factory=Counter)   # by status name
    heartbeat: dict[str, int] = field(default_factory=dict)
    last_resync_s: float | None = None   # wall time from a bad frame to the next good one

    @property
    def bad_total(self) -> int:
        return sum(self.bad_frames.values())


def _end(item: SourceItem) -> int:
    if isinstance(item, AudioBlock):
        return item.sample + len(item.pcm)
    if isinstance(item, SourceGap):
        return item.sample + item.samples
    return item.sample


class SerialSource:
    """The device on `port`; `reconnect_timeout` None keeps retrying until close()."""

    def __init__(self, port: str, *, baudrate: int = 115_200, hello_timeout: float = 2.0,
                 reconnect_timeout: float | None = None, retry_interval: float = 0.1,
                 device: str | None = None) -> None:
        self.port, self.baudrate = port, baudrate
        self.hello_timeout, self.reconnect_timeout = hello_timeout, reconnect_timeout
        self.retry_interval = retry_interval
        self.stats = LinkStats()
        self.hello: dict[str, Any] = {}
        self._device_label = device
        self._serial: serial.Serial | None = None
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._deframer = P.Deframer()
        self._seq_out = 0
        self._last_seq: int | None = None
        self._ready: deque[SourceItem] = deque()     # in order, ready to yield
        self._held: list[SourceItem] = []            # held back for late control events
        self._hold = 0                               # samples (from the device's hello)
        self._released = 0                           # stream samples already yielded
        self._expected: int | None = None            # stream sample of the next audio
        self._offset = 0                             # stream sample = device clock + offset
        self._last_clock: int | None = None          # unwrapped device clock (last audio)
        self._boot: int | None = None
        self._rebase_gap: tuple[int, str] | None = None   # set by a new boot or an outage
        self._awaiting_hello = True
        self._down_since: float | None = None
        self._last_audio_wall = time.monotonic()
        self._bad_since: float | None = None
        self._seq_missing_seen = 0
        self._last_data = time.monotonic()
        self._bad_seen = 0
        self._led: str | None = None
        self._hook: bool | None = None               # last known hook state (off hook = True)
        self.info = DeviceInfo(device=device or port)
        self._open()
        self._handshake()

    # --- connection ------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.05, write_timeout=1.0)
        except (serial.SerialException, OSError) as exc:
            raise SerialLinkError(f"serial:{self.port}: cannot open the port ({exc})") from None

    def _handshake(self) -> None:
        deadline = time.monotonic() + self.hello_timeout
        next_ask = 0.0
        while self._awaiting_hello:
            now = time.monotonic()
            if now >= deadline:
                self._drop_port()
                raise SerialLinkError(f"serial:{self.port}: no hello from the device within "
                                      f"{self.hello_timeout:.1f} s (is the seatwatch firmware running?)")
            if now >= next_ask:
                self._send(P.T_INFO, b"")
                next_ask = now + 0.5
            self._pump()

    def _drop_port(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
        self._serial = None

    def _reconnect(self) -> bool:
        """Reopen after the port vanished; False when reconnect_timeout passed or closed."""
        started = time.monotonic()
        while not self._closed.is_set():
            try:
                self._open()
                self._awaiting_hello = True
                self._deframer = P.Deframer()
                self._handshake()
                self.stats.reconnects += 1
                log.info("serial:%s: device back after %.2f s", self.port, time.monotonic() - started)
                if self._led is not None:
                    self.send_led(self._led)
                return True
            except SerialLinkError:
                pass
            if self.reconnect_timeout is not None and time.monotonic() - started > self.reconnect_timeout:
                return False
            self._closed.wait(self.retry_interval)
        return False

    # --- reading ---------------------------------------------------------------------
    def items(self) -> Iterator[SourceItem]:
        while not self._closed.is_set():
            if self._serial is None:
                if not self._reconnect():
                    break
            self._pump()
            while self._ready:
                yield self._ready.popleft()
        self._held, flushed = [], self._held
        yield from self._ready
        yield from flushed

    def _pump(self) -> None:
        """Read what the port has (up to 50 ms wait) and turn it into items."""
        port = self._serial
        if port is None:
            return
        try:
            data = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            # TypeError: pyserial on a closed fd (close() from another thread)
            if not self._closed.is_set():
                log.warning("serial:%s: port lost (%s)", self.port, exc)
                self._down_since = time.monotonic()
            self._drop_port()
            return
        now = time.monotonic()
        if not data:
            if self._held and now - self._last_data > IDLE_RELEASE_S:
                self._release(self._held_end())     # the device went quiet: nothing more is coming
            return
        self._last_data = now
        self.stats.bytes_in += len(data)
        for raw in self._deframer.feed(data):
            self._frame(raw)
        if self._deframer.oversize:
            self.stats.bad_frames["oversize"] += self._deframer.oversize
            self._deframer.oversize = 0

    def _frame(self, raw: bytes) -> None:
        try:
            _, ptype, seq, ts, payload = P.decode_frame(raw)
        except FrameError as exc:
            reason = str(exc.args[0])
            self.stats.bad_frames[reason] += 1
            if self._bad_since is None:
                self._bad_since = time.monotonic()
            if reason == "version":
                log.warning("serial:%s: frame of unknown protocol version (type %s)", self.port, exc.args[1])
            return
        if self._bad_since is not None:
            self.stats.last_resync_s = time.monotonic() - self._bad_since
            self._bad_since = None
        self.stats.frames += 1
        if self._last_seq is not None:
            delta = P.seq_delta(seq, self._last_seq)
            if delta == 0 or delta > P.SEQ_MOD // 2:
                self.stats.duplicates += 1
            else:
                self.stats.seq_missing += delta - 1
        self._last_seq = seq
        if ptype == P.T_HELLO:
            self._on_hello(payload)
        elif self._awaiting_hello:
            return                      # nothing counts until we know which boot this is
        elif ptype == P.T_AUDIO:
            self._on_audio(ts, payload)
        elif ptype == P.T_CONTROL:
            self._on_control(payload)
        elif ptype == P.T_HEARTBEAT:
            self._on_heartbeat(ts, payload)
        elif ptype == P.T_ACK:
            cmd, _cmd_seq, status = P.unpack_ack(payload)
            name = P.ACK_NAMES.get(status, str(status))
            self.stats.acks[name] += 1
            if status != P.ACK_OK:
                log.warning("serial:%s: device refused %s: %s", self.port,
                            P.TYPE_NAMES.get(cmd, cmd), name)
        elif ptype == P.T_TIMESYNC_REPLY:
            pass
        else:
            self.stats.unknown_types[ptype] += 1
            log.warning("serial:%s: unknown packet type 0x%02x ignored", self.port, ptype)

    def _on_hello(self, payload: bytes) -> None:
        try:
            hello = P.unpack_hello(payload)
        except (FrameError, UnicodeDecodeError):
            self.stats.bad_frames["hello"] += 1
            return
        if hello["rate"] != PIPELINE_RATE or hello["channels"] != 2 or hello["bits"] != 16:
            raise SerialLinkError(f"serial:{self.port}: device streams {hello['rate']} Hz, "
                                  f"{hello['channels']} ch, {hello['bits']} bit; the pipeline needs "
                                  f"{PIPELINE_RATE} Hz stereo 16 bit")
        if self._boot is not None and hello["boot_id"] != self._boot and self._expected is not None:
            # A new boot restarts the device's clock: measure the outage on the wall clock.
            lost = int(round((time.monotonic() - self._last_audio_wall) * PIPELINE_RATE))
            self._rebase_gap = (lost, "device rebooted")
            self._last_clock = None
        if hello["boot_id"] != self._boot:
            self._hook = False          # a device boots on hook; going off hook is reported
        self._boot = hello["boot_id"]
        self._hold = int(hello["control_hold"])
        self.hello = hello
        self.info = DeviceInfo(device=self._device_label or hello["serial"], firmware=hello["firmware"],
                               board=hello["board"], extra={"seat": hello["seat"], "port": self.port})
        self._awaiting_hello = False

    def _unwrap(self, ts: int) -> int:
        if self._last_clock is None:
            return ts
        delta = (ts - self._last_clock) % P.CLOCK_MOD
        if delta >= CLOCK_HALF:
            delta -= P.CLOCK_MOD
        return self._last_clock + delta

    def _on_audio(self, ts: int, payload: bytes) -> None:
        clock = self._unwrap(ts)
        frames = len(payload) // 4
        rebooted = ""
        if self._expected is None:
            self._offset = -clock
            self._expected = 0
        elif self._last_clock is None:
            # first audio of a new boot: continue the stream after the measured outage
            lost, rebooted = self._rebase_gap or (0, "device rebooted")
            self._offset = self._expected + max(1, lost) - clock
            self._rebase_gap = None
        sample = clock + self._offset
        if sample < self._expected:
            self.stats.duplicates += 1
            return
        self._last_clock = clock
        self._last_audio_wall = time.monotonic()
        if sample > self._expected:
            missing = sample - self._expected
            if rebooted:
                reason = rebooted
            elif self._down_since is not None:
                reason = f"serial link down {missing / PIPELINE_RATE:.2f} s"
            elif (self.stats.seq_missing > self._seq_missing_seen
                  or self.stats.bad_total > self._bad_seen):
                reason = "audio frames lost on the serial link"
            else:
                reason = "audio frames dropped by the device"
            self._hold_item(SourceGap(self._expected, missing, reason))
            self.stats.gaps += 1
            self.stats.samples_lost += missing
        self._down_since = None
        self._seq_missing_seen = self.stats.seq_missing
        self._bad_seen = self.stats.bad_total
        pcm = np.frombuffer(payload, dtype="<i2", count=frames * 2).reshape(frames, 2)
        self._hold_item(AudioBlock(sample, pcm))
        self._expected = sample + frames
        self._release(self._expected - self._hold)

    def _on_heartbeat(self, ts: int, payload: bytes) -> None:
        try:
            beat = P.unpack_heartbeat(payload)
        except FrameError:
            self.stats.bad_frames["heartbeat"] += 1
            return
        self.stats.heartbeat = beat
        hook = bool(beat["inputs"] & 1)
        if self._hook is not None and hook != self._hook and self._expected is not None:
            # the control packet for this change was lost: report it late, not never
            self.stats.recovered_controls += 1
            self._add_control(self._unwrap(ts) + self._offset, "off_hook" if hook else "on_hook")
        self._hook = hook

    def _on_control(self, payload: bytes) -> None:
        try:
            kind, state, at = P.unpack_control(payload)
        except FrameError:
            self.stats.bad_frames["control"] += 1
            return
        name = CONTROL_KINDS.get((kind, state))
        if name is None or self._expected is None:
            return                      # ring or button released: not an event upstream
        if kind == P.C_HOOK:
            self._hook = bool(state)
        self._add_control(max(0, self._unwrap(at) + self._offset), name)

    def _add_control(self, sample: int, name: str) -> None:
        event = ControlEvent(sample, name)
        if sample < self._released:
            self.stats.late_controls += 1
            self._ready.append(ControlEvent(self._released, name))
            return
        index = 0
        while index < len(self._held) and _end(self._held[index]) <= sample:
            index += 1
        self._held.insert(index, event)

    def _hold_item(self, item: SourceItem) -> None:
        index = len(self._held)
        if isinstance(item, SourceGap):
            # a hook change inside lost audio comes after the gap that covers it
            while (index and isinstance(self._held[index - 1], ControlEvent)
                   and self._held[index - 1].sample >= item.sample):
                index -= 1
        self._held.insert(index, item)

    def _held_end(self) -> int:
        return max(_end(item) for item in self._held)

    def _release(self, horizon: int) -> None:
        held = self._held
        count = 0
        while count < len(held) and _end(held[count]) <= horizon:
            count += 1
        if count:
            self._ready.extend(held[:count])
            self._released = max(self._released, _end(held[count - 1]))
            del held[:count]

    # --- writing ---------------------------------------------------------------------
    def _send(self, ptype: int, payload: bytes) -> bool:
        frame = P.encode_frame(ptype, self._seq_out, 0, payload)
        with self._write_lock:
            self._seq_out = (self._seq_out + 1) % P.SEQ_MOD
            port = self._serial
            if port is None:
                return False
            try:
                port.write(frame)
                return True
            except (serial.SerialException, OSError) as exc:
                log.warning("serial:%s: write failed (%s)", self.port, exc)
                return False

    def send_led(self, pattern: str) -> None:
        try:
            payload = P.pack_led(pattern)
        except ValueError as exc:
            self.stats.bad_leds += 1
            log.warning("serial:%s: %s", self.port, exc)
            return
        self._led = pattern
        self._send(P.T_LED, payload)

    def send_gain(self, mic_steps: int, ear_steps: int) -> bool:
        """Digital gain on the device in 6 dB steps, -4..4 per channel."""
        if not (-4 <= mic_steps <= 4 and -4 <= ear_steps <= 4):
            raise ValueError(f"gain steps must be within -4..4, got {mic_steps}, {ear_steps}")
        return self._send(P.T_GAIN, P.pack_gain(mic_steps, ear_steps))

    def request_info(self) -> bool:
        return self._send(P.T_INFO, b"")

    def timesync(self) -> bool:
        return self._send(P.T_TIMESYNC, P.pack_timesync(int(time.time() * 1000)))

    def reboot(self, maintenance: bool = False) -> bool:
        return self._send(P.T_REBOOT, bytes((P.REBOOT_MAINTENANCE if maintenance else P.REBOOT_NORMAL,)))

    def close(self) -> None:
        self._closed.set()
        with self._write_lock:
            self._drop_port()
