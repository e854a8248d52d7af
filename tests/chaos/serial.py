"""Fault 3: the serial link. The simulated device (the firmware's own main loop on a real
pty, edge/sim/device.py) streams a call; the edge reads it with SerialSource and runs
the real SeatPipeline. Faults: the cable pulled and pushed back N times; bit flips on the
wire at a given rate per byte.

Units are 10 ms audio frames. Audio that the wire destroyed cannot come back: it is
"explained" when the edge reported it (a SourceGap, turned into a device_fault event by
the pipeline). Unexplained = audio missing without a report, or damaged audio let through.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from seatwatch.contracts.events import Event
from seatwatch.edge.link.serial_source import SerialSource
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sim.device import RATE, PtyDevice, stereo_signal
from seatwatch.edge.sources.base import FRAME_SAMPLES, AudioBlock, SourceGap, SourceItem
from tests.chaos.common import FaultResult
from tests.link.collect import collect


class BitFlips:
    """Flips each byte's random bit with probability `rate`, after the handshake frames."""

    def __init__(self, rate: float, seed: int, skip: int = 5) -> None:
        self.rng = random.Random(seed)
        self.rate, self.skip = rate, skip
        self.frames = self.damaged = 0
        self.active: Callable[[], bool] = lambda: True

    def __call__(self, frame: bytes) -> bytes:
        self.frames += 1
        if self.frames <= self.skip or not self.active():
            return frame
        out = bytearray(frame)
        for i in range(len(out)):
            if self.rng.random() < self.rate:
                out[i] ^= 1 << self.rng.randrange(8)
        if out != frame:
            self.damaged += 1
        return bytes(out)


def _script(seconds: float) -> list[tuple[int, str, int]]:
    return [(RATE // 2, "hook", 1), (int((seconds - 0.5) * RATE), "hook", 0)]


def _account(name: str, pcm: np.ndarray, items: list[SourceItem], source: SerialSource,
             recovery_s: float | None, crashed: bool, detail: dict) -> FaultResult:
    total = len(pcm)
    have = np.zeros(total, bool)
    corrupt = 0
    for item in items:
        if isinstance(item, AudioBlock):
            end = min(total, item.sample + len(item.pcm))
            if end <= item.sample:
                continue
            span = slice(item.sample, end)
            have[span] = True
            corrupt += int((item.pcm[: end - item.sample] != pcm[span]).any(axis=1).sum())
    gap_samples = sum(i.samples for i in items if isinstance(i, SourceGap))
    gaps = [i for i in items if isinstance(i, SourceGap)]
    events: list[Event] = []
    if not crashed:
        pipeline = SeatPipeline(SeatContext("chaos", "P01", source.info.device), load_policy(),
                                events.append)
        try:
            for item in items:
                pipeline.feed(item)
            pipeline.finish()
        except Exception as exc:   # the point of the fault: report a crash, do not hide it
            crashed = True
            detail["pipeline_crash"] = repr(exc)
    faults = [e for e in events if e.type == "device_fault"]
    missing = total - int(have.sum())
    reported = min(missing, gap_samples) if len(faults) == len(gaps) else 0
    detail.update({"gaps": len(gaps), "device_fault_events": len(faults),
                   "bad_frames": dict(source.stats.bad_frames), "bad_total": source.stats.bad_total,
                   "corrupt_samples_delivered": corrupt,
                   "reconnects": source.stats.reconnects,
                   "events": sorted({e.type for e in events})})
    frames = lambda samples: -(-samples // FRAME_SAMPLES)   # noqa: E731 (partial frames count)
    return FaultResult(fault=name, unit="frames", expected=frames(total),
                       delivered=frames(int(have.sum())), duplicated=source.stats.duplicates,
                       lost=frames(missing) + frames(corrupt), explained=frames(reported),
                       recovery_s=recovery_s, crashed=crashed, detail=detail)


def yanks(folder: Path, count: int, every_s: float = 2.0, out_s: float = 0.3) -> FaultResult:
    """The cable is pulled for `out_s` every `every_s` of audio, `count` times."""
    seconds = every_s * (count + 1)
    pcm = stereo_signal(seconds)
    dev = PtyDevice(folder, pcm, _script(seconds), speed=4.0).start()
    state = {"next": every_s * RATE, "done": 0}
    recoveries: list[float] = []
    waiting: dict[str, float] = {}

    def cable() -> None:
        dev.unplug()
        time.sleep(out_s)
        dev.replug()
        waiting["replugged"] = time.monotonic()

    def watch(item: SourceItem) -> None:
        if not isinstance(item, AudioBlock):
            return
        if "replugged" in waiting:
            recoveries.append(time.monotonic() - waiting.pop("replugged"))
        if state["done"] < count and item.sample >= state["next"] and "pulled" not in waiting:
            state["done"] += 1
            state["next"] += every_s * RATE
            threading.Thread(target=cable, daemon=True).start()

    crashed, detail = False, {}
    items: list[SourceItem] = []
    source = SerialSource(dev.port)
    try:
        items = collect(source, len(pcm), timeout=20 + 4 * seconds, on_item=watch,
                        done=dev.finished)
    except Exception as exc:
        crashed, detail["crash"] = True, repr(exc)
    finally:
        dev.stop()
    detail["yanks"] = state["done"]
    return _account(f"serial port yanked x{count}", pcm, items, source,
                    max(recoveries) if recoveries else None, crashed, detail)


def flips(folder: Path, rate: float, seconds: float = 4.0, seed: int = 3,
          clean_tail_s: float = 0.5) -> FaultResult:
    """Bit flips at `rate` per byte, then a clean last `clean_tail_s`: a live link keeps
    streaming, and its next good frame is what reveals the loss before it."""
    pcm = stereo_signal(seconds)
    mangle = BitFlips(rate, seed)
    dev = PtyDevice(folder, pcm, _script(seconds), mangle=mangle)
    until = int((seconds - clean_tail_s) * RATE)
    mangle.active = lambda: dev.hal.clock < until
    dev.start()
    crashed, detail = False, {}
    items: list[SourceItem] = []
    source = SerialSource(dev.port)
    try:
        items = collect(source, len(pcm), timeout=30 + 4 * seconds, done=dev.finished)
    except Exception as exc:
        crashed, detail["crash"] = True, repr(exc)
    finally:
        dev.stop()
    detail["frames_damaged_on_wire"] = mangle.damaged
    return _account(f"serial bit flips {rate:g}/byte", pcm, items, source,
                    source.stats.last_resync_s, crashed, detail)
