"""Fault injection on the pty link: corrupted, dropped and truncated bytes, frames the
device dropped, the port vanishing and coming back (with and without a reboot)."""

from __future__ import annotations

import random
import threading
import time

import numpy as np

from seatwatch.contracts.events import Event
from seatwatch.edge.link.serial_source import SerialSource
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sim.device import PtyDevice, stereo_signal
from seatwatch.edge.sources.base import AudioBlock
from tests.link.collect import assert_in_order, audio_of, collect, controls, gaps

SCRIPT = [(8000, "hook", 1), (40000, "hook", 0)]


class Mangler:
    """Damages frames as they leave the device; counts the frames it touched."""

    def __init__(self, seed: int, *, flip: float = 0.0, drop: float = 0.0, truncate: float = 0.0,
                 skip: int = 5) -> None:
        self.rng = random.Random(seed)
        self.flip, self.drop, self.truncate, self.skip = flip, drop, truncate, skip
        self.frames = 0
        self.damaged = 0

    def __call__(self, frame: bytes) -> bytes:
        self.frames += 1
        if self.frames <= self.skip:                 # let the handshake through
            return frame
        out = bytearray(frame)
        if self.truncate and self.rng.random() < self.truncate:
            cut = self.rng.randrange(1, len(out) - 1)
            keep_delimiter = self.rng.random() < 0.5
            out = out[:cut] + (b"\x00" if keep_delimiter else b"")
        if self.flip:
            for i in range(len(out)):
                if self.rng.random() < self.flip:
                    out[i] ^= 1 << self.rng.randrange(8)
        if self.drop:
            out = bytearray(b for b in out if self.rng.random() >= self.drop)
        if out != frame:
            self.damaged += 1
        return bytes(out)


def run_link(tmp_path, mangle: Mangler, seconds: float = 4.0):
    dev = PtyDevice(tmp_path, stereo_signal(seconds), SCRIPT, mangle=mangle).start()
    try:
        source = SerialSource(dev.port)
        items = collect(source, len(dev.pcm), done=dev.finished)
    finally:
        dev.stop()
    return dev, source, items


def check_damaged_stream(dev, source, items, mangle):
    assert mangle.damaged > 5
    assert_in_order(items)                           # audio and gaps tile the stream
    pcm, have = audio_of(items)
    n = min(len(pcm), len(dev.pcm))
    assert np.array_equal(pcm[:n][have[:n]], dev.pcm[:n][have[:n]])   # CRC let nothing bad through
    lost = sum(g.samples for g in gaps(items))
    assert lost == int((~have).sum()) == source.stats.samples_lost > 0
    assert source.stats.bad_total >= mangle.damaged // 2
    assert all("serial link" in g.reason for g in gaps(items))
    # the hook changes arrive, from their control packets or else from a heartbeat
    kinds = [kind for _, kind in controls(items)]
    assert kinds[:1] == ["off_hook"] and "on_hook" in kinds


def test_bit_flips_at_1e_3(tmp_path):
    mangle = Mangler(3, flip=1e-3)
    dev, source, items = run_link(tmp_path, mangle)
    check_damaged_stream(dev, source, items, mangle)
    assert source.stats.bad_frames["crc"] + source.stats.bad_frames["cobs"] > 0


def test_dropped_bytes(tmp_path):
    mangle = Mangler(4, drop=1e-3)
    dev, source, items = run_link(tmp_path, mangle)
    check_damaged_stream(dev, source, items, mangle)


def test_truncated_frames(tmp_path):
    mangle = Mangler(5, truncate=0.03)
    dev, source, items = run_link(tmp_path, mangle)
    check_damaged_stream(dev, source, items, mangle)
    assert source.stats.last_resync_s is not None and source.stats.last_resync_s < 0.5


def test_lost_audio_becomes_a_device_fault_event(tmp_path):
    mangle = Mangler(6, flip=1e-3)
    _, _, items = run_link(tmp_path, mangle, seconds=2.0)
    events: list[Event] = []
    pipeline = SeatPipeline(SeatContext("site", "S1", "SIM-0001"), load_policy(), events.append)
    for item in items:
        pipeline.feed(item)
    pipeline.finish()
    faults = [e for e in events if e.type == "device_fault"]
    assert len(faults) == len(gaps(items)) > 0
    assert faults[0].data["kind"] == "audio_lost"


def test_frames_dropped_by_the_device(tmp_path):
    dev = PtyDevice(tmp_path, stereo_signal(2.0), drops={50, 51, 52}).start()
    try:
        source = SerialSource(dev.port)
        items = collect(source, len(dev.pcm), done=dev.finished)
    finally:
        dev.stop()
    [gap] = gaps(items)
    assert (gap.sample, gap.samples) == (50 * 160, 3 * 160)
    assert gap.reason == "audio frames dropped by the device"
    assert source.stats.heartbeat["frames_dropped"] == 3 and source.stats.bad_total == 0
    pcm, have = audio_of(items)
    assert np.array_equal(pcm[have], dev.pcm[have])


def test_port_vanishes_and_returns(tmp_path):
    dev = PtyDevice(tmp_path, stereo_signal(8.0), SCRIPT, speed=4.0).start()
    back: dict[str, float] = {}

    def cable():                    # pulled and pushed back while the edge keeps reading
        dev.unplug()
        time.sleep(0.3)
        dev.replug()
        back["replugged"] = time.monotonic()

    def watch(item):
        if isinstance(item, AudioBlock) and "replugged" in back and "audio" not in back:
            back["audio"] = time.monotonic()
        if isinstance(item, AudioBlock) and item.sample >= 16000 and "unplugged" not in back:
            back["unplugged"] = time.monotonic()
            threading.Thread(target=cable, daemon=True).start()

    try:
        source = SerialSource(dev.port)
        items = collect(source, len(dev.pcm), on_item=watch)
    finally:
        dev.stop()
    recovery = back["audio"] - back["replugged"]
    assert recovery < 2.0, f"recovered after {recovery:.2f} s"
    assert source.stats.reconnects == 1
    assert_in_order(items)
    [gap] = gaps(items)
    assert gap.reason.startswith("serial link down")
    pcm, have = audio_of(items)
    assert np.array_equal(pcm[have], dev.pcm[:len(pcm)][have])   # same boot: same clock
    assert have[gap.sample + gap.samples:].all()


def test_device_reboots_while_unplugged(tmp_path):
    first, second = stereo_signal(6.0, seed=1), stereo_signal(2.0, seed=2)
    dev = PtyDevice(tmp_path, first, speed=4.0).start()
    state: dict[str, int] = {}

    def watch(item):
        if isinstance(item, AudioBlock) and item.sample >= 16000 and "done" not in state:
            state["done"] = 1
            dev.unplug()
            dev.replug(reboot_with=second, boot=7)

    try:
        source = SerialSource(dev.port)
        items = collect(source, 10**9, timeout=10.0, on_item=watch, done=dev.finished)
    finally:
        dev.stop()
    assert_in_order(items)
    [gap] = gaps(items)
    assert gap.reason == "device rebooted" and gap.samples > 0
    assert source.info.device == "SIM-0007"
    pcm, have = audio_of(items)
    after = pcm[gap.sample + gap.samples:]
    assert have[gap.sample + gap.samples:].all()
    assert np.array_equal(after, second[:len(after)]) and len(after) > 8000
