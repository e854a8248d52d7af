"""Bytes from the device -> AudioBlock / ControlEvent / SourceGap items, without IO.

The pure half of the serial link (edge/link/serial_source.py does the port): it
deframes, checks and decodes frames with the firmware's own protocol module, tracks
sequence numbers and the device's sample clock, turns jumps into SourceGap items and
holds audio back by the device's `control_hold` so each control event lands in sample
order. Time (for outages and resync figures) is passed in, never read here.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from seatwatch.edge.link.framing import FrameError, protocol
from seatwatch.edge.sources.base import (
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
CONTROL_KINDS = {(P.C_HOOK, 1): "off_hook", (P.C_HOOK, 0): "on_hook",
                 (P.C_RING, 1): "ring", (P.C_BUTTON, 1): "button"}


class LinkRefused(OSError):
    """The device answered, but with a stream the pipeline cannot take."""


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


class LinkDecoder:
    """Decoder state for one device link; `ready` holds the items to hand on, in order."""

    def __init__(self, name: str, device: str | None = None) -> None:
        self.name = name                             # for messages: the port
        self.stats = LinkStats()
        self.hello: dict[str, Any] = {}
        self.info = DeviceInfo(device=device or name)
        self.ready: deque[SourceItem] = deque()      # in order, ready to yield
        self.awaiting_hello = True
        self._device_label = device
        self._now = 0.0
        self._deframer = P.Deframer()
        self._last_seq: int | None = None
        self._held: list[SourceItem] = []            # held back for late control events
        self._hold = 0                               # samples (from the device's hello)
        self._released = 0                           # stream samples already handed on
        self._expected: int | None = None            # stream sample of the next audio
        self._offset = 0                             # stream sample = device clock + offset
        self._last_clock: int | None = None          # unwrapped device clock (last audio)
        self._boot: int | None = None
        self._rebase_gap: tuple[int, str] | None = None   # set by a new boot
        self._down_since: float | None = None
        self._last_audio_wall = 0.0
        self._bad_since: float | None = None
        self._seq_missing_seen = 0
        self._bad_seen = 0
        self._last_data = 0.0
        self._hook: bool | None = None               # last known hook state (off hook = True)

    def feed(self, data: bytes, now: float) -> None:
        """Bytes as read from the port at monotonic time `now`."""
        self._now = now
        self._last_data = now
        self.stats.bytes_in += len(data)
        for raw in self._deframer.feed(data):
            self._frame(raw)
        if self._deframer.oversize:
            self.stats.bad_frames["oversize"] += self._deframer.oversize
            self._deframer.oversize = 0

    def idle(self, now: float, after: float) -> None:
        """Nothing read: after `after` seconds of quiet, release held items (no control
        can still be on its way)."""
        if self._held and now - self._last_data > after:
            self._release(self._held_end())

    def link_lost(self, now: float) -> None:
        self._down_since = now

    def link_back(self) -> None:
        """A new connection: frames count again once a hello says which boot this is."""
        self.awaiting_hello = True
        self._deframer = P.Deframer()

    def flush(self) -> list[SourceItem]:
        """Everything still held or ready (the stream is ending)."""
        out = list(self.ready) + self._held
        self.ready.clear()
        self._held = []
        return out

    def _frame(self, raw: bytes) -> None:
        try:
            _, ptype, seq, ts, payload = P.decode_frame(raw)
        except FrameError as exc:
            reason = str(exc.args[0])
            self.stats.bad_frames[reason] += 1
            if self._bad_since is None:
                self._bad_since = self._now
            if reason == "version":
                log.warning("serial:%s: frame of unknown protocol version (type %s)", self.name, exc.args[1])
            return
        if self._bad_since is not None:
            self.stats.last_resync_s = self._now - self._bad_since
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
        elif self.awaiting_hello:
            return                      # nothing counts until we know which boot this is
        elif ptype == P.T_AUDIO:
            self._on_audio(ts, payload)
        elif ptype == P.T_CONTROL:
            self._on_control(payload)
        elif ptype == P.T_HEARTBEAT:
            self._on_heartbeat(ts, payload)
        elif ptype == P.T_ACK:
            try:
                cmd, _cmd_seq, status = P.unpack_ack(payload)
            except FrameError:
                self.stats.bad_frames["ack"] += 1
                return
            name = P.ACK_NAMES.get(status, str(status))
            self.stats.acks[name] += 1
            if status != P.ACK_OK:
                log.warning("serial:%s: device refused %s: %s", self.name,
                            P.TYPE_NAMES.get(cmd, cmd), name)
        elif ptype == P.T_TIMESYNC_REPLY:
            pass
        else:
            self.stats.unknown_types[ptype] += 1
            log.warning("serial:%s: unknown packet type 0x%02x ignored", self.name, ptype)

    def _on_hello(self, payload: bytes) -> None:
        try:
            hello = P.unpack_hello(payload)
        except (FrameError, UnicodeDecodeError):
            self.stats.bad_frames["hello"] += 1
            return
        if hello["rate"] != PIPELINE_RATE or hello["channels"] != 2 or hello["bits"] != 16:
            raise LinkRefused(f"serial:{self.name}: device streams {hello['rate']} Hz, "
                                  f"{hello['channels']} ch, {hello['bits']} bit; the pipeline needs "
                                  f"{PIPELINE_RATE} Hz stereo 16 bit")
        if self._boot is not None and hello["boot_id"] != self._boot and self._expected is not None:
            # A new boot restarts the device's clock: measure the outage on the wall clock.
            lost = int(round((self._now - self._last_audio_wall) * PIPELINE_RATE))
            self._rebase_gap = (lost, "device rebooted")
            self._last_clock = None
        if hello["boot_id"] != self._boot:
            self._hook = False          # a device boots on hook; going off hook is reported
        self._boot = hello["boot_id"]
        self._hold = int(hello["control_hold"])
        self.hello = hello
        self.info = DeviceInfo(device=self._device_label or hello["serial"], firmware=hello["firmware"],
                               board=hello["board"], extra={"seat": hello["seat"], "port": self.name})
        self.awaiting_hello = False

    def _unwrap(self, ts: int) -> int:
        if self._last_clock is None:
            return ts
        delta = (ts - self._last_clock) % P.CLOCK_MOD
        if delta >= CLOCK_HALF:
            delta -= P.CLOCK_MOD
        return self._last_clock + delta

    def _on_audio(self, ts: int, payload: bytes) -> None:
        frames = len(payload) // 4
        if frames == 0 or len(payload) % 4:
            self.stats.bad_frames["audio"] += 1      # not whole stereo int16 frames
            return
        clock = self._unwrap(ts)
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
        self._last_audio_wall = self._now
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
            self.ready.append(ControlEvent(self._released, name))
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
            self.ready.extend(held[:count])
            self._released = max(self._released, _end(held[count - 1]))
            del held[:count]

