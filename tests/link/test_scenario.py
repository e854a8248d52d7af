"""A rendered call scenario played by the simulated device through the pty gives the
seat pipeline the same audio, the same hook/ring signals (to the 10 ms the device polls
at) and the same events as replaying the file directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seatwatch.contracts.events import Event
from seatwatch.edge.link.serial_source import SerialSource
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sim.device import PtyDevice, device_script
from seatwatch.edge.sources.base import ControlEvent
from seatwatch.edge.sources.wavfile import WavSource, read_stereo
from tests.link.collect import audio_of, collect, controls, gaps

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "rendered" / "no_greeting_rude"
RATE = 16_000


def events_of(items) -> list[Event]:
    events: list[Event] = []
    pipeline = SeatPipeline(SeatContext("site", "S1", "dev"), load_policy(), events.append)
    for item in items:
        pipeline.feed(item)
    pipeline.finish()
    return events


def test_scenario_through_the_device_matches_the_file(tmp_path):
    pcm = read_stereo(SCENARIO.with_suffix(".ogg"))
    control = json.loads(SCENARIO.with_suffix(".json").read_text())
    script = device_script((e["t"], e["type"]) for e in control["events"])
    dev = PtyDevice(tmp_path, np.ascontiguousarray(pcm, dtype="<i2"), script).start()
    try:
        items = collect(SerialSource(dev.port), len(pcm) - len(pcm) % 160, done=dev.finished, timeout=60)
    finally:
        dev.stop()
    wav_items = list(WavSource(SCENARIO.with_suffix(".ogg"), SCENARIO.with_suffix(".json")).items())

    live, have = audio_of(items)
    assert have.all() and gaps(items) == []
    assert np.array_equal(live, pcm[:len(live)]) and len(pcm) - len(live) < 160

    want = [(e.sample, e.kind) for e in wav_items if isinstance(e, ControlEvent) and e.sample < len(live)]
    got = controls(items)
    assert [k for _, k in got] == [k for _, k in want]
    assert all(0 <= g - w < 160 for (g, _), (w, _) in zip(got, want, strict=True))

    live_events = [e.type for e in events_of(items)]
    file_events = [e.type for e in events_of(wav_items)]
    assert "call_ended" in live_events and len(live_events) >= 3 and live_events == file_events
