"""The supervisors' console under a thousand-seat floor, through a real mosquitto.

A producer process plays 1,000 seats with the edge's own code (Event.new, seatwatch.contracts.topics,
seatwatch.contracts.payloads): retained status for every seat, metrics from every seat each second
(QoS 0, 1,000 messages/s) and a sustained 200 events/s (QoS 1) of calls starting,
alerts and scorecards. The console runs headless (App.run_test) with its real Ingest,
SQLite history and floor view, exactly as `seatwatch console` wires them.

Figures: events dropped (published but never shown; must be 0), the UI tick (drain +
history + model + table redraw) and the event-loop lag a key press would feel (p50/p99/
max), model handling time per message, memory growth over the steady state.
Run alone: `python -m bench.bench_console [--quick]`.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

SITE = "floor1"
SEATS = 1_000
EVENTS_PER_S = 200.0
ALERTS = ("overtalk", "dead_air", "speech_rate_high", "agent_volume_low", "forbidden_phrase",
          "hold_checkin_missed", "greeting_missing", "closing_missing", "earpiece_exposure")


# --- producer (a child process: its CPU is not the console's) --------------------------------
def produce(port: int, seconds: float, seats: int, rate: float) -> dict[str, Any]:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from seatwatch.contracts import payloads, topics
    from seatwatch.contracts.events import Event

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-floor",
                         protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)                 # unbounded: paho never refuses
    client.connect("127.0.0.1", port)
    client.loop_start()
    names = [f"S{i:04d}" for i in range(seats)]
    for seat in names:
        body = payloads.status("online", site=SITE, seat=seat, device=f"dev-{seat}",
                               firmware="1.4.2", agent=f"agent-{seat}", edge=f"pi-{seat}")
        client.publish(topics.status_topic(SITE, seat), payloads.encode(body), qos=1, retain=True)
    calls: dict[str, tuple[str, float]] = {}
    rng = random.Random(7)
    sent: list[mqtt.MQTTMessageInfo] = []        # QoS 1 events: is_published() once PUBACKed
    metrics_sent, behind_max = 0, 0.0
    began = time.monotonic()
    next_event, next_metrics, tick = began, began, 0
    while True:
        now = time.monotonic()
        if now - began >= seconds:
            break
        if now >= next_metrics:                       # 1/10 of the floor every 100 ms
            part = names[tick % 10::10]
            tick += 1
            next_metrics += 0.1
            for seat in part:
                call = calls.get(seat)
                body = payloads.check_metrics({
                    "schema": 1, "ts": payloads.utc_now_iso(), "seat": seat,
                    "call_state": "in_call" if call else "idle", "call": call[0] if call else None,
                    "t_call": round(now - call[1], 1) if call else None, "rings": 0,
                    "rate_cpm": round(rng.gauss(125, 15), 1) if call else None,
                    "mic_dbfs": round(rng.gauss(-28, 5), 1), "ear_dba": round(rng.gauss(68, 4), 1),
                    "dose_pct": round(20 + (now - began) / 60, 1), "led": None, "link": "ok",
                    "model_ms": 4.2, "queue_depth": 0, "events_dropped": 0})
                client.publish(topics.metrics_topic(SITE, seat), payloads.encode(body), qos=0)
                metrics_sent += 1
        while next_event <= now:
            behind_max = max(behind_max, now - next_event)
            next_event += 1.0 / rate
            seat = rng.choice(names)
            call = calls.get(seat)
            if call is None:
                call = calls[seat] = (f"c{len(sent)}", now)
                kind, data = "call_started", {}
            elif rng.random() < 0.1:
                kind = "call_ended"
                data = {"scorecard": {"score": round(rng.uniform(60, 100), 1), "duration_s":
                                      round(now - call[1], 1), "violations": {"overtalk": 1}}}
                del calls[seat]
            else:
                kind = rng.choice(ALERTS)
                data = {"detail": round(rng.uniform(0, 10), 2)}
            event = Event.new(kind, site=SITE, seat=seat, device=f"dev-{seat}", call=call[0],
                              t_call=now - call[1], data=data)
            sent.append(client.publish(topics.events_topic(SITE, seat), event.to_json().encode(), qos=1))
        time.sleep(max(0.0, min(next_event, next_metrics) - time.monotonic()))
    deadline = time.monotonic() + 30
    while not all(info.is_published() for info in sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return {"events": len(sent), "events_acked": sum(info.is_published() for info in sent),
            "metrics": metrics_sent, "seconds": round(time.monotonic() - began, 1),
            "producer_behind_max_ms": round(behind_max * 1000, 1)}


# --- the console -----------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


async def watch(port: int, folder: Path, seconds: float) -> dict[str, Any]:
    import psutil

    from seatwatch.console.app import ConsoleApp
    from seatwatch.console.ingest import Ingest
    from seatwatch.console.store import HistoryStore
    from seatwatch.contracts.session import BrokerUrl

    ticks: list[float] = []
    t0 = time.perf_counter()
    gc_pauses: list[float] = []
    gc_began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_began[0] = time.perf_counter()
        else:
            gc_pauses.append(time.perf_counter() - gc_began[0])
            if os.environ.get("BENCH_DEBUG") and gc_pauses[-1] > 0.05:
                print(f"gc gen {info['generation']} {gc_pauses[-1] * 1000:.0f} ms "
                      f"collected {info['collected']}", file=sys.stderr)

    gc.callbacks.append(on_gc)
    handled: list[tuple[int, float]] = []          # (messages, seconds in FloorState.handle)
    lags: list[tuple[float, float]] = []           # (seconds since start, lag)

    redraws: list[float] = []
    batches: list[tuple[int, float]] = []          # (messages, seconds) per ingest batch

    class TimedConsole(ConsoleApp):
        def tick(self) -> None:
            began = time.perf_counter()
            super().tick()
            ticks.append(time.perf_counter() - began)

        def redraw(self) -> None:
            began = time.perf_counter()
            super().redraw()
            redraws.append(time.perf_counter() - began)
            if os.environ.get("BENCH_DEBUG"):
                print(f"redraw at {began - t0:.1f} s: {redraws[-1] * 1000:.0f} ms", file=sys.stderr)

        def apply_batch(self, batch: list[tuple[str, bytes, float]]) -> None:
            began = time.perf_counter()
            super().apply_batch(batch)
            batches.append((len(batch), time.perf_counter() - began))

    ingest = Ingest(BrokerUrl("127.0.0.1", port), "bench-console").start()
    store = HistoryStore(folder / "console.db")
    # As `seatwatch console` runs it (cli.run): tune_gc on.
    app = TimedConsole(ingest=ingest, store=store, header_clock=False, refresh_s=0.5,
                       tune_gc=os.environ.get("BENCH_GC", "tuned") == "tuned")
    handle = app.state.handle

    def timed_handle(topic: str, payload: bytes, now: float) -> bool:
        began = time.perf_counter()
        changed = handle(topic, payload, now)
        handled.append((1, time.perf_counter() - began))
        return changed

    app.state.handle = timed_handle  # type: ignore[method-assign]   # includes the history write
    process = psutil.Process()
    producer = subprocess.Popen(
        [sys.executable, "-m", "bench.bench_console", "--produce", str(port), str(seconds)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    rss: list[tuple[float, float]] = []
    async with app.run_test(size=(160, 50)) as pilot:
        expected = 0.05
        began = last = time.perf_counter()

        def heartbeat() -> None:
            nonlocal last
            now = time.perf_counter()
            lags.append((now - began, max(0.0, now - last - expected)))
            last = now

        app.set_interval(expected, heartbeat)
        while producer.poll() is None:
            await pilot.pause(1.0)
            rss.append((time.perf_counter() - began, process.memory_info().rss / 2**20))
        summary = json.loads(producer.stdout.read() if producer.stdout else "{}")
        deadline = time.perf_counter() + 30
        while (app.state.counters["events"] < summary["events"] and time.perf_counter() < deadline):
            await pilot.pause(0.5)
        await pilot.pause(1.0)
        if os.environ.get("BENCH_DEBUG"):
            from collections import Counter
            kinds = Counter(type(o).__name__ for o in gc.get_objects())
            print("tracked objects", sum(kinds.values()), kinds.most_common(12), gc.get_stats(),
                  file=sys.stderr)
    store.close()
    gc.callbacks.remove(on_gc)
    shown = app.state.counters["events"]
    warm = min(5.0, seconds / 2)       # the first seconds take the retained status of every seat
    steady = [m for t, m in rss if t >= warm]
    steady_lags = [lag for t, lag in lags if t >= warm]
    all_lags = [lag for _, lag in lags]
    per_message = [s for _, s in handled]
    return {
        **{f"producer_{k}" if not k.startswith("producer") else k: v for k, v in summary.items()},
        "seats_shown": len(app.state.seats),
        "events_shown": shown,
        "events_dropped": summary["events"] - shown,
        "duplicates": app.state.counters["duplicate"],
        "metrics_shown": app.state.counters["metrics"],
        "malformed": sum(v for k, v in app.state.counters.items() if k.startswith("malformed")),
        "history_rows_written": store.written,
        "ui_tick_ms_p50": round(percentile(ticks, 50) * 1000, 1),
        "ui_tick_ms_p99": round(percentile(ticks, 99) * 1000, 1),
        "ui_tick_ms_max": round(max(ticks) * 1000, 1),
        "ui_redraw_ms_p50": round(percentile(redraws, 50) * 1000, 1),
        "ui_redraw_ms_p99": round(percentile(redraws, 99) * 1000, 1),
        "ingest_batch_messages_p50": percentile([n for n, _ in batches], 50),
        "ingest_batch_ms_p50": round(percentile([t for _, t in batches], 50) * 1000, 1),
        "ingest_batch_ms_p99": round(percentile([t for _, t in batches], 99) * 1000, 1),
        "ingest_us_per_message": round(sum(t for _, t in batches) / max(1, sum(n for n, _ in batches))
                                       * 1e6, 1),
        "ui_loop_lag_ms_p50": round(percentile(all_lags, 50) * 1000, 1),
        "ui_loop_lag_ms_p99": round(percentile(all_lags, 99) * 1000, 1),
        "ui_loop_lag_ms_max": round(max(all_lags) * 1000, 1),
        "ui_loop_lag_steady_ms_p50": round(percentile(steady_lags, 50) * 1000, 1),
        "ui_loop_lag_steady_ms_p99": round(percentile(steady_lags, 99) * 1000, 1),
        "ui_loop_lag_steady_ms_max": round(max(steady_lags) * 1000, 1),
        "ui_worst_lags_at_s": [round(t, 1) for t, _ in sorted(lags, key=lambda x: -x[1])[:5]],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "gc_pause_ms_max": round(max(gc_pauses, default=0.0) * 1000, 1),
        "gc_pause_ms_total": round(sum(gc_pauses) * 1000, 1),
        "handle_us_mean": round(sum(per_message) / max(1, len(per_message)) * 1e6, 1),
        "handle_us_p99": round(percentile(per_message, 99) * 1e6, 1),
        "rss_steady_start_mib": round(steady[0], 1) if steady else None,
        "rss_end_mib": round(rss[-1][1], 1) if rss else None,
        "rss_growth_mib": round(steady[-1] - steady[0], 1) if steady else None,
        # The model's caps (history points, feed, remembered ids) fill over minutes: the
        # second half growing less than the first is the sign of a bound being reached.
        "rss_growth_first_half_mib": round(steady[len(steady) // 2] - steady[0], 1) if steady else None,
        "rss_growth_second_half_mib": round(steady[-1] - steady[len(steady) // 2], 1) if steady else None,
        "history_db_mib": round((folder / "console.db").stat().st_size / 2**20, 1),
    }


def run(quick: bool) -> dict[str, Any]:
    from tests.fixtures.broker import Mosquitto, free_port, write_conf

    seconds = 10.0 if quick else 60.0
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        folder = Path(tmp)
        port = free_port()
        broker = Mosquitto("127.0.0.1", port, write_conf(folder / "mosquitto.conf", port))
        broker.start()
        try:
            result = asyncio.run(watch(port, folder, seconds))
        finally:
            broker.stop()
    return {"seats": SEATS, "events_per_s_target": EVENTS_PER_S, "duration_s": seconds,
            "metrics_per_s_target": SEATS, **result}


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--produce":
        print(json.dumps(produce(int(sys.argv[2]), float(sys.argv[3]), SEATS, EVENTS_PER_S)))
    else:
        print(json.dumps(run("--quick" in sys.argv), indent=2))
