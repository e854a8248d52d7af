"""Fault 1, daemon level: the real edge daemon serves three seats (recorded calls replayed
as fast as the CPU allows, in a loop) while mosquitto is killed and restarted N times.

Exact ids are not known in advance here, so the accounting is per call: every replayed
call of a recording produces the same event types (checked against an in-process run of
the same pipeline), calls are numbered (`c<second>-<n>`), so a lost event shows as a type
missing from its call and a lost call as a hole in the numbering. The last call of each
seat is cut short by the daemon's SIGTERM and is counted as delivered-only.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path

from seatwatch.contracts.events import Event
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import load_policy
from seatwatch.edge.sources.wavfile import WavSource
from tests.chaos import daemon
from tests.chaos.common import FaultResult, durable_broker, start_ingest, stop_broker

# recordings whose every replay gives the same event types (fast_talker's rate varies)
SEATS = {"D01": "no_greeting_rude", "D02": "loud_interrupter", "D03": "dead_air_assist"}


def reference_types(name: str) -> Counter[str]:
    """The event types of one call of the recording, from the pipeline in-process."""
    audio = daemon.RENDERED / f"{name}.ogg"
    events: list[Event] = []
    pipeline = SeatPipeline(SeatContext("chaos", "R", "replay"), load_policy(), events.append)
    for item in WavSource(audio, audio.with_suffix(".json")).items():
        pipeline.feed(item)
    pipeline.finish()
    return Counter(e.type for e in events if e.call is not None)


def run(folder: Path, restarts: int, up_s: tuple[float, float] = (1.0, 2.0),
        down_s: float = 0.5, seed: int = 9, how: str = "kill") -> FaultResult:
    rng = random.Random(seed)
    reference = {seat: reference_types(name) for seat, name in SEATS.items()}
    broker = durable_broker(folder / "broker")
    ingest, collector = start_ingest(broker, "chaos-console-daemon")
    state, log = folder / "state", folder / "edge.log"
    cfg = daemon.write_config(folder, broker.url, SEATS, loop=True, realtime=False)
    edge = daemon.start(cfg, log)
    recoveries: list[float] = []
    try:
        deadline = time.monotonic() + 120
        while len(collector.order) < 20 and time.monotonic() < deadline:
            if edge.poll() is not None:
                raise RuntimeError(f"edge daemon exited ({edge.returncode}); see {log}")
            time.sleep(0.05)
        for _ in range(restarts):
            time.sleep(rng.uniform(*up_s))
            stop_broker(broker, how)
            time.sleep(down_s)
            broker.start()
            pending = {i for seat in SEATS for i in daemon.outbox_rows(state, seat)}
            took = collector.wait_for(pending, timeout=60)
            if took is not None:
                recoveries.append(took)
        time.sleep(rng.uniform(*up_s))
        edge.send_signal(signal.SIGTERM)            # clean stop: closes calls, flushes outboxes
        edge.wait(60)
        left = {i for seat in SEATS for i in daemon.outbox_rows(state, seat)}
        collector.wait_quiet(1.5, timeout=20)
    finally:
        if edge.poll() is None:
            edge.kill()
            edge.wait(10)
        collector.stop()
        ingest.stop()
        broker.stop()
    by_call: dict[str, dict[str, Counter[str]]] = defaultdict(dict)
    outside = 0
    for event in collector.events.values():
        if event["call"] is None:
            outside += 1
            continue
        by_call[event["seat"]].setdefault(event["call"], Counter())[event["type"]] += 1
    expected = delivered = outside
    missing: dict[str, int] = {}
    calls = 0
    for seat, seat_calls in by_call.items():
        numbers = {int(call.rsplit("-", 1)[1]): call for call in seat_calls}
        last = max(numbers)
        for n in range(1, last + 1):
            got = seat_calls[numbers[n]] if n in numbers else Counter()
            if n == last:               # cut short by the stop: what arrived is what was made
                expected += sum(got.values())
                delivered += sum(got.values())
                continue
            calls += 1
            want = reference[seat]
            expected += sum(want.values())
            delivered += sum(min(got[t], want[t]) for t in want)
            for t in want:
                if got[t] < want[t]:
                    missing[f"{seat}:{t}"] = missing.get(f"{seat}:{t}", 0) + want[t] - got[t]
    return FaultResult(
        fault=f"broker {'SIGKILL' if how == 'kill' else 'SIGTERM'}+restart x{restarts} "
              f"(edge daemon, {len(SEATS)} seats)",
        expected=expected, delivered=delivered, duplicated=collector.duplicates,
        lost=expected - delivered, recovery_s=max(recoveries) if recoveries else None,
        detail={"complete_calls_checked": calls, "missing_by_type": missing,
                "left_in_outboxes_after_stop": len(left),
                "recovery_timeouts": restarts - len(recoveries),
                "daemon_exit": edge.returncode})
