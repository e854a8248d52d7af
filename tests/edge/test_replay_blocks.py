"""`analyze` replays in 10 s blocks: the same events and detections as 100 ms blocks.

The cost work of issue 12 rests on this: the pipeline, the models and the source give
the same results whatever the block size, so `analyze` may read big blocks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from seatwatch.contracts.events import Event
from seatwatch.edge.analyze import BLOCK
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.rules.base import Heard, RateReading
from seatwatch.edge.sources.base import AudioBlock, ControlEvent, to_int16
from seatwatch.edge.sources.wavfile import CONTROL_GRAIN, WavSource, read_stereo

RENDERED = Path(__file__).resolve().parents[2] / "scenarios" / "rendered"


class Spy:
    """Hears every keyword hit and rate reading the pipeline hands to the rules."""
    hears_unconfirmed = True

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def keyword(self, heard: Heard) -> None:
        self.seen.append((heard.label, heard.score, heard.sample, heard.confirmed))

    def rate(self, reading: RateReading) -> None:
        self.seen.append((reading.cpm, reading.sample))


def replay(name: str, block: int) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    events: list[Event] = []
    pipeline = SeatPipeline(SeatContext("t", "S1", "replay", file_times=True), load_policy(),
                            events.append)
    spy = Spy()
    pipeline._on_keyword.append(spy)     # type: ignore[arg-type]
    pipeline._on_rate.append(spy)        # type: ignore[arg-type]
    for item in WavSource(RENDERED / f"{name}.ogg", RENDERED / f"{name}.json", block=block).items():
        pipeline.feed(item)
    pipeline.finish()
    out = []
    for event in events:
        doc = json.loads(event.to_json())
        del doc["id"], doc["ts"]         # random and wall clock
        out.append(doc)
    return out, spy.seen


@pytest.mark.parametrize("name", ["compliant", "acoustic_shock"])
def test_big_blocks_give_the_events_and_detections_of_100ms_blocks(name: str) -> None:
    small, big = replay(name, CONTROL_GRAIN), replay(name, BLOCK)
    assert big == small
    assert len(small[0]) >= 2 and len(small[1]) >= 10


def test_controls_cut_big_blocks_on_the_100ms_grid() -> None:
    def trace(block: int) -> tuple[list[tuple[int, str, int]], np.ndarray]:
        fed, controls, parts = 0, [], []
        for item in WavSource(RENDERED / "answer_late.ogg", RENDERED / "answer_late.json",
                              block=block).items():
            if isinstance(item, AudioBlock):
                assert item.sample == fed and len(item.pcm) <= block
                fed += len(item.pcm)
                parts.append(item.pcm)
            else:
                assert isinstance(item, ControlEvent)
                controls.append((item.sample, item.kind, fed))   # audio fed before it
        return controls, np.concatenate(parts)

    small, big = trace(CONTROL_GRAIN), trace(BLOCK)
    assert small[0] == big[0] and len(small[0]) >= 5
    assert np.array_equal(small[1], big[1])


def test_16_bit_files_read_as_through_floats(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    codes = rng.integers(-32768, 32768, (48_000, 2)).astype(np.int16)
    codes[:4] = [[-32768, 32767], [0, -1], [16384, -16384], [1, 32766]]
    path = tmp_path / "call.wav"
    sf.write(str(path), codes, 16_000, subtype="PCM_16")
    data, _ = sf.read(str(path), dtype="float32", always_2d=True)
    assert np.array_equal(read_stereo(path), to_int16(data))
