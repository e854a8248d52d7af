"""Per-call numbers start afresh: no rate carried over, LED nudges counted per call."""

from __future__ import annotations

import numpy as np

from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sources.base import PIPELINE_RATE, AudioBlock, ControlEvent


def test_rate_and_nudges_reset_with_the_call() -> None:
    events = []
    pipe = SeatPipeline(SeatContext(site="t", seat="S1", device="d"), load_policy(), events.append)
    pipe.feed(ControlEvent(0, "off_hook"))
    pipe._last_rate = 123.0                    # as if the rate model had spoken
    pipe.feedback.sent += 3                    # as if the LED had nudged three times
    silence = np.zeros((PIPELINE_RATE, 2), np.int16)
    pipe.feed(AudioBlock(0, silence))
    pipe.feed(ControlEvent(PIPELINE_RATE, "on_hook"))
    assert pipe.snapshot()["rate_cpm"] is None
    pipe.feed(ControlEvent(2 * PIPELINE_RATE, "off_hook"))
    assert pipe.snapshot()["rate_cpm"] is None
    pipe.feed(ControlEvent(3 * PIPELINE_RATE, "on_hook"))
    ended = [e for e in events if e.type == "call_ended"]
    assert len(ended) == 2
    # the second call sent only its own closing nudge, not the first call's
    assert ended[1].data["scorecard"]["led_nudges"] <= 1
