"""Fault 2: the edge daemon is killed with SIGKILL mid-stream (power cut, OOM killer) and
started again: what it had accepted and not yet delivered goes out after the restart.

Expected = events the subscriber had before the kill, plus the rows committed to the
outboxes at the moment of the kill (read from the SQLite files after the kill, as the
restarted daemon will). The restarted daemon serves the same seats from a second of
silence, so it adds nothing of its own: whatever it delivers came from the outbox.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.chaos import daemon
from tests.chaos.common import FaultResult, durable_broker, start_ingest

SEATS = {"K01": "no_greeting_rude", "K02": "loud_interrupter", "K03": "dead_air_assist"}


def run(folder: Path, kills: int = 1, min_events: int = 15, stall_s: float = 1.5) -> FaultResult:
    broker = durable_broker(folder / "broker")
    ingest, collector = start_ingest(broker, "chaos-console-kill")
    state = folder / "state"
    log = folder / "edge.log"
    expected: set[str] = set()
    unsent_at_kill = 0
    recoveries: list[float] = []
    silent = folder / "silent.wav"
    sf.write(str(silent), np.zeros((16_000, 2), np.float32), 16_000)
    silent.with_suffix(".json").write_text('{"events": []}')   # on hook: no call of its own
    try:
        for _ in range(kills):
            cfg = daemon.write_config(folder, broker.url, SEATS, loop=True, realtime=False)
            edge = daemon.start(cfg, log)
            target = len(collector.order) + min_events
            deadline = time.monotonic() + 120
            while len(collector.order) < target and time.monotonic() < deadline:
                if edge.poll() is not None:
                    raise RuntimeError(f"edge daemon exited early ({edge.returncode}); see {log}")
                time.sleep(0.05)
            # the broker stalls first (SIGSTOP), so the outboxes hold unacknowledged
            # events at the moment of the kill, as they would on a busy or slow network
            assert broker.proc is not None
            broker.proc.send_signal(signal.SIGSTOP)
            time.sleep(stall_s)
            os.kill(edge.pid, signal.SIGKILL)
            edge.wait(10)
            broker.proc.send_signal(signal.SIGCONT)
            time.sleep(0.5)                              # let in-flight deliveries land
            rows = [i for seat in SEATS for i in daemon.outbox_rows(state, seat)]
            unsent_at_kill += len(rows)
            expected |= set(collector.first) | set(rows)
            # restart the same seats (same state dir) on a second of silence
            cfg = daemon.write_config(folder, broker.url, dict.fromkeys(SEATS, str(silent)),
                                      loop=False, realtime=False)
            restarted_at = time.monotonic()
            edge = daemon.start(cfg, log)
            took = collector.wait_for(set(rows), timeout=90)
            if took is not None:
                recoveries.append(time.monotonic() - restarted_at)
            edge.wait(120)
            if edge.returncode != 0:
                raise RuntimeError(f"restarted edge daemon failed ({edge.returncode}); see {log}")
        collector.wait_quiet(1.0, timeout=10)
        delivered = expected & set(collector.first)
        left = sum(len(daemon.outbox_rows(state, seat)) for seat in SEATS)
        return FaultResult(
            fault=f"edge daemon SIGKILL mid-stream x{kills} ({len(SEATS)} seats)",
            expected=len(expected), delivered=len(delivered), duplicated=collector.duplicates,
            lost=len(expected - delivered), recovery_s=max(recoveries) if recoveries else None,
            detail={"unsent_at_kill": unsent_at_kill, "left_in_outboxes": left,
                    "unexpected": sorted(collector.events[i]["type"]
                                         for i in set(collector.first) - expected)})
    finally:
        collector.stop()
        ingest.stop()
        broker.stop()
