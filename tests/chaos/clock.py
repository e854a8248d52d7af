"""Fault 5: the edge's wall clock jumps (NTP step, RTC reset) while it streams.

The pipeline runs on the sample clock; only an event's `ts` and the time part of its id
come from the wall clock (seatwatch/contracts/events.py). The same recordings go through the real
pipeline twice: once as a reference, once with the wall clock stepped back an hour and
then forward two hours mid-stream, this time through an outbox, a real mosquitto and the
console's Ingest. Nothing may be lost or reordered: the events delivered equal the
reference's (type, call, t_call, data) in the same order, and event ids stay increasing
in production order even across the step back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import seatwatch.contracts.events
from seatwatch.contracts.events import Event
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.publish.mqtt import BrokerUrl, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox
from seatwatch.edge.sources.base import AudioBlock
from seatwatch.edge.sources.wavfile import WavSource
from tests.chaos.common import FaultResult, durable_broker, start_ingest
from tests.chaos.daemon import RENDERED


class SteppedClock:
    """Stands in for the `time` module inside seatwatch.contracts.events: time() = real time + offset."""

    def __init__(self, real: ModuleType) -> None:
        self._real = real
        self.offset_s = 0.0

    def time(self) -> float:
        return self._real.time() + self.offset_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _key(event: dict[str, Any] | Event) -> tuple[Any, ...]:
    d = event.to_dict() if isinstance(event, Event) else event
    return (d["seat"], d["type"], d["call"], d["t_call"], repr(sorted(d["data"].items())))


def _stream(name: str, seat: str, emit: Callable[[Event], None],
            on_progress: Callable[[float], None] | None = None) -> None:
    audio = RENDERED / f"{name}.ogg"
    source = WavSource(audio, audio.with_suffix(".json"), realtime=False)
    pipeline = SeatPipeline(SeatContext("chaos", seat, "replay"), load_policy(), emit)
    total = len(source.pcm)
    for item in source.items():
        pipeline.feed(item)
        if on_progress is not None and isinstance(item, AudioBlock):
            on_progress(item.sample / total)
    pipeline.finish()


def run(folder: Path, recordings: tuple[str, ...] = ("no_greeting_rude",)) -> FaultResult:
    reference: list[Event] = []
    for i, name in enumerate(recordings):
        _stream(name, f"T{i + 1:02d}", reference.append)

    broker = durable_broker(folder / "broker")
    ingest, collector = start_ingest(broker, "chaos-console-clock")
    clock = SteppedClock(time)
    produced: list[Event] = []
    links: list[tuple[MqttLink, Outbox]] = []
    steps: list[str] = []
    seatwatch.contracts.events.time = clock         # type: ignore[assignment]
    try:
        for i, name in enumerate(recordings):
            seat = f"T{i + 1:02d}"
            outbox = Outbox(folder / f"outbox-{seat}.db")
            link = MqttLink(BrokerUrl.parse(broker.url), SeatIdentity("chaos", seat, "replay"),
                            outbox).start()
            links.append((link, outbox))

            def emit(event: Event, link: MqttLink = link) -> None:
                produced.append(event)
                link.publish(event)

            def progress(share: float, seat: str = seat, i: int = i) -> None:
                if share >= 1 / 3 and len(steps) == 2 * i:
                    clock.offset_s = -3600.0          # NTP steps the clock back an hour
                    steps.append(f"{seat}: -1 h at {share:.0%}")
                elif share >= 2 / 3 and len(steps) == 2 * i + 1:
                    clock.offset_s = +3600.0          # and then two hours forward
                    steps.append(f"{seat}: +2 h at {share:.0%}")

            clock.offset_s = 0.0
            _stream(name, seat, emit, progress)
        took = collector.wait_for({e.id for e in produced}, timeout=60)
        collector.wait_quiet(1.0, timeout=10)
    finally:
        seatwatch.contracts.events.time = time      # type: ignore[assignment]
        for link, outbox in links:
            link.close(2.0)
            outbox.close()
        collector.stop()
        ingest.stop()
        broker.stop()
    delivered = [collector.events[i] for i in collector.order if i in {e.id for e in produced}]
    want = [_key(e) for e in reference]
    got = [_key(e) for e in delivered]
    matched = sum(min(want.count(k), got.count(k)) for k in set(want))
    ids = [e.id for e in produced]
    stamps = [e.ts for e in produced]
    return FaultResult(
        fault="edge wall clock -1 h then +2 h mid-stream",
        expected=len(reference), delivered=matched, duplicated=collector.duplicates,
        lost=len(reference) - matched, recovery_s=None,   # no outage to recover from
        detail={"all_delivered_within_s": took, "same_events_and_order": got == want,
                "ids_increasing": ids == sorted(ids) and len(set(ids)) == len(ids),
                "steps": steps,
                "ts_backwards_steps": sum(b < a for a, b in zip(stamps, stamps[1:], strict=False)),
                "ts_range": [min(stamps), max(stamps)] if stamps else None})
