"""End-to-end alert latency: from the triggering audio sample to the console holding the
event, for a level rule (agent_volume_high) and a keyword rule (forbidden_phrase).

The whole product path at real-time pace, as on the demo floor: each seat is a
simulated device (the firmware's main loop over the simulated HAL, on a pty, paced like
I2S capture) -> `seatwatch edge run` (real serial link, pipeline, outbox, MqttLink) in
its own process -> a real mosquitto -> the console's Ingest in this process.

Every seat plays calls rendered from a script (edge/sim/scenario.py): off hook, a 4 s
loud speech-like tone (bench_pipeline.tone), then one sentence ending in each taboo
word, on hook. Triggers, on the device's sample clock:

- agent_volume_high: tone onset + the policy's `min_speech_s` (the rule's own
  definition), so the figure is latency beyond what the rule requires;
- forbidden_phrase: the end of the word, which ends its sentence: the utterance's
  end in the render's ground truth, less the synthesizer's trailing silence
  (bench_pipeline.speech_end).

A sample maps to wall time through the device's clock (it streams from clock 0, stamped
on every frame: sample n is captured at `clock_zero_wall + n / 16000`); the console's
Ingest stamps receipt. Split: audio -> event created at the edge (the event's `ts`, 1 ms
resolution), of which `algorithmic` is the event's own sample-clock position past the
trigger (t_call from the off-hook), and the rest is the serial link (its 30 ms
control hold included) and the pipeline's compute; edge -> console is `ts` to receipt
(outbox, MQTT, broker, Ingest). Seats are
staggered so triggers do not coincide. The device, edge, broker and console share this
machine's cores (and the sim device's pacing jitter is reported).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_pipeline import speech_end, tone
from seatwatch.console.ingest import Ingest
from seatwatch.demo import SITE, start_edge, stop_process, write_device_config
from seatwatch.edge.policy import load_policy
from seatwatch.edge.publish.mqtt import BrokerUrl
from seatwatch.edge.sim.device import FRAME, RATE, PtyDevice, device_script
from seatwatch.edge.sim.scenario import parse_scenario, render
from seatwatch.edge.sources.base import MIC, to_int16
from tests.fixtures.broker import Mosquitto, free_port, write_conf

LEVEL, KEYWORD = "agent_volume_high", "forbidden_phrase"
# each taboo word ends its sentence, so the word's end is the utterance's end
SENTENCES = {"不知道": "这个我不知道", "没办法": "这个我们也没办法", "没关系": "这件事与我没关系"}
VOICES = ("m6", "f4", "m7", "f5")       # held out from keyword training, as in bench_pipeline
SPARE_VOICES = ("m3", "f2", "m1", "f1", "m2", "f3")   # training voices, if no held-out one is heard
LOUD_AT_S, LOUD_AMP = 1.0, 0.7  # after off hook; ~-8 dBFS against a -12 dBFS limit
LOUD_S = load_policy().volume.min_speech_s + 2.0  # the volume rule judges min_speech_s of speech
IDLE_S, AFTER_LOUD_S, AFTER_WORD_S = 1.5, 1.5, 2.0


@dataclass(frozen=True)
class Trigger:
    seat: str
    call: int                           # index of the seat's call
    type: str
    label: str                          # the keyword ("" for the level rule)
    sample: int                         # on the device's sample clock


@dataclass
class Hit:
    trigger: Trigger
    received: float                     # console Ingest's receipt (wall)
    created: float                      # the event's ts at the edge (wall, 1 ms)
    event_sample: int                   # the event's own position on the sample clock


@dataclass
class Seat:
    id: str
    voice: str
    pcm: np.ndarray                     # int16 (n, 2), what the device streams
    script: list[tuple[int, str, int]]  # device input changes
    off_hooks: list[int]                # each call's off-hook as the edge sees it (sample)
    triggers: list[Trigger]
    rendered: Any = None                # the scenario render (seatwatch.edge.sim.scenario.Rendered)
    late: list[float] = field(default_factory=list)   # device writes past their capture time (s)
    passed_over: list[str] = field(default_factory=list)  # voices whose words were not heard offline


def build_seat(index: int, seats: int, calls: int, words: int) -> Seat:
    """Seat `index`'s calls, staggered by a fraction of a call against the other seats.

    This bench measures how fast a heard word reaches the console, not whether it is
    heard (the model card and `seatwatch eval` measure that): the seat speaks in the
    first voice, held-out ones first, whose taboo words the same pipeline, run offline
    on the same audio, reports. Voices passed over are listed in the report."""
    candidates = VOICES[index % len(VOICES):] + VOICES[:index % len(VOICES)] + SPARE_VOICES
    passed: list[str] = []
    for voice in candidates:
        seat = _render_seat(index, seats, calls, words, voice)
        if _heard_offline(seat):
            seat.passed_over = passed
            return seat
        passed.append(voice)
    raise RuntimeError(f"no voice in {candidates} has its taboo words heard offline")


def _render_seat(index: int, seats: int, calls: int, words: int, voice: str) -> Seat:
    from seatwatch.models.synth.speech import speak

    labels = list(SENTENCES)[:words]
    call_s = LOUD_AT_S + LOUD_S + AFTER_LOUD_S + 3.5 * words
    steps = [f"pause = {call_s * index / seats:.2f}"]
    for _ in range(calls):
        steps += [f"pause = {IDLE_S}", "off_hook = true", f"pause = {LOUD_AT_S + LOUD_S + AFTER_LOUD_S}"]
        for label in labels:
            steps += [f'agent = "{SENTENCES[label]}"', f"pause = {AFTER_WORD_S}"]
        steps.append("on_hook = true")
    text = (f'title = "latency bench"\nagent_voice = "{voice}"\n'
            f"agent_speed = 110\nseed = {index}\n" + "".join(f"[[step]]\n{s}\n" for s in steps))
    rendered = render(parse_scenario(text, f"latency{index}"), speak)
    min_speech = round(load_policy().volume.min_speech_s * RATE)
    offs = [round(c["t"] * RATE) for c in rendered.controls if c["type"] == "off_hook"]
    triggers = []
    for call, off in enumerate(offs):
        onset = off + round(LOUD_AT_S * RATE)
        rendered.pcm[onset:onset + round(LOUD_S * RATE), MIC] = tone(LOUD_S, LOUD_AMP) / 32767.0
        triggers.append(Trigger(f"L{index + 1:02d}", call, LEVEL, "", onset + min_speech))
    said = [u for u in rendered.utterances if u["who"] == "agent"]
    for n, utterance in enumerate(said):
        start, end = round(utterance["start"] * RATE), round(utterance["end"] * RATE)
        triggers.append(Trigger(f"L{index + 1:02d}", n // len(labels), KEYWORD, labels[n % len(labels)],
                                speech_end(rendered.pcm[:, MIC], start, end)))
    script = device_script((c["t"], c["type"]) for c in rendered.controls)
    # the device's debouncer stamps a change with the end of the frame that first saw it
    seen = [-(-at // FRAME) * FRAME for at, name, level in script if name == "hook" and level]
    return Seat(f"L{index + 1:02d}", voice, np.ascontiguousarray(to_int16(rendered.pcm), dtype="<i2"),
                script, seen, triggers, rendered=rendered)


def _heard_offline(seat: Seat) -> bool:
    """Every taboo word of the seat's calls is reported by `seatwatch analyze`'s path."""
    from seatwatch.edge.analyze import analyze
    from seatwatch.edge.sim.scenario import write_rendered

    with tempfile.TemporaryDirectory(prefix="seatwatch-latency-voice-") as tmp:
        audio, meta = write_rendered(seat.rendered, Path(tmp), lossless=True)
        events = analyze(audio, meta, None, seat.id)
    heard = Counter(e.data.get("keyword", "") for e in events if e.type == KEYWORD)
    wanted = Counter(t.label for t in seat.triggers if t.type == KEYWORD)
    return all(heard[label] >= n for label, n in wanted.items())


def stats(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50_ms": None, "p99_ms": None, "max_ms": None}
    return {"p50_ms": round(float(np.percentile(values, 50)), 1),
            "p99_ms": round(float(np.percentile(values, 99)), 1),
            "max_ms": round(float(max(values)), 1)}


def wall(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def measure(seats: int, calls: int, words: int = len(SENTENCES)) -> dict[str, Any]:
    plan = [build_seat(i, seats, calls, words) for i in range(seats)]
    received: list[tuple[dict[str, Any], float]] = []
    with tempfile.TemporaryDirectory(prefix="seatwatch-latency-") as tmp:
        workdir = Path(tmp)
        port = free_port()
        broker = Mosquitto("127.0.0.1", port, write_conf(workdir / "mosquitto.conf", port))
        broker.start()
        url = BrokerUrl.parse(broker.url)
        ingest = Ingest(url, f"bench-latency-{os.getpid()}", site=SITE).start()
        devices: list[PtyDevice] = []
        edge = None
        try:
            assert ingest.is_connected.wait(10), "console did not connect"
            for index, seat in enumerate(plan):
                holder: list[PtyDevice] = []

                def late(data: bytes, seat: Seat = seat, holder: list[PtyDevice] = holder) -> bytes:
                    dev = holder[0] if holder else None
                    if dev is not None and dev.clock_zero_wall is not None:
                        seat.late.append(time.time() - dev.clock_zero_wall - dev.hal.clock / RATE)
                    return data

                dev = PtyDevice(workdir, seat.pcm, seat.script, speed=1.0, seat=seat.id,
                                boot=index + 1, name=f"tty{seat.id}", mangle=late)
                holder.append(dev)
                devices.append(dev.start())
            edge = start_edge(write_device_config(workdir, str(url), devices), workdir)
            wanted = sum(len(s.triggers) for s in plan)
            deadline = time.monotonic() + max(len(s.pcm) for s in plan) / RATE + 90
            done_at = None
            while time.monotonic() < deadline:
                for topic, payload, at in ingest.wait(0.5):
                    if topic.endswith("/events"):
                        received.append((json.loads(payload), at))
                if edge.poll() is not None:
                    raise RuntimeError(f"edge exited {edge.returncode}: "
                                       + (workdir / "edge.log").read_text()[-2000:])
                got = sum(e["type"] in (LEVEL, KEYWORD) for e, _ in received)
                if all(d.finished() for d in devices):
                    done_at = done_at or time.monotonic()
                    if got >= wanted or time.monotonic() - done_at > 5:
                        break
            zero = {seat.id: dev.clock_zero_wall for seat, dev in zip(plan, devices, strict=True)}
        finally:
            if edge is not None:
                stop_process(edge)
            for dev in devices:
                dev.stop()
            ingest.stop()
            broker.stop()
    return summarise(plan, zero, received)


def summarise(plan: list[Seat], zero: dict[str, float | None],
              received: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
    by_seat = {seat.id: seat for seat in plan}
    call_index: dict[str, dict[str, int]] = {seat.id: {} for seat in plan}
    for event, _ in received:
        if event["type"] == "call_started" and event["seat"] in by_seat:
            calls = call_index[event["seat"]]
            calls.setdefault(event["call"], len(calls))
    triggers = {(t.seat, t.call, t.type, t.label): t for s in plan for t in s.triggers}
    hits: dict[Trigger, Hit] = {}
    extra = 0
    for event, at in received:
        if event["type"] not in (LEVEL, KEYWORD) or event["seat"] not in by_seat:
            continue
        seat = by_seat[event["seat"]]
        call = call_index[seat.id].get(event["call"])
        label = event["data"].get("keyword", "") if event["type"] == KEYWORD else ""
        trigger = triggers.get((seat.id, call, event["type"], label)) if call is not None else None
        if trigger is None or trigger in hits:
            extra += 1
            continue
        sample = seat.off_hooks[trigger.call] + round(event["t_call"] * RATE)
        hits[trigger] = Hit(trigger, at, wall(event["ts"]), sample)
    out: dict[str, Any] = {}
    for kind in (LEVEL, KEYWORD):
        want = [t for s in plan for t in s.triggers if t.type == kind]
        got = [h for t in want if (h := hits.get(t)) is not None]
        heard = [(h, zero[h.trigger.seat] + h.trigger.sample / RATE) for h in got  # type: ignore[operator]
                 if zero[h.trigger.seat] is not None]
        missed = Counter(f"{by_seat[t.seat].voice} {t.label}".strip() for t in want if t not in hits)
        out[kind] = {"triggers": len(want), "received": len(got), "missed_by_voice": dict(missed),
                     "end_to_end": stats([(h.received - t0) * 1000 for h, t0 in heard]),
                     "audio_to_edge_event": stats([(h.created - t0) * 1000 for h, t0 in heard]),
                     "of_which_algorithmic": stats([(h.event_sample - h.trigger.sample) / RATE * 1000
                                                    for h, _ in heard]),
                     "of_which_link_and_pipeline": stats([
                         (h.created - t0 - (h.event_sample - h.trigger.sample) / RATE) * 1000
                         for h, t0 in heard]),
                     "edge_to_console": stats([(h.received - h.created) * 1000 for h, _ in heard])}
    late = [x * 1000 for s in plan for x in s.late]
    out["unmatched_events"] = extra
    out["voices"] = {seat.id: seat.voice for seat in plan}
    out["voices_passed_over"] = {seat.id: seat.passed_over for seat in plan if seat.passed_over}
    out["device_write_late_p99_ms"] = round(float(np.percentile(late, 99)), 2) if late else None
    out["triggers_at"] = {LEVEL: "tone onset + policy volume.min_speech_s",
                          KEYWORD: "end of the taboo word (utterance end, trailing silence trimmed)"}
    return out


def finite(result: dict[str, Any]) -> bool:
    """Every trigger reached the console with a finite end-to-end latency."""
    return all(r["received"] == r["triggers"] and r["end_to_end"]["max_ms"] is not None
               and math.isfinite(r["end_to_end"]["max_ms"]) for r in (result[LEVEL], result[KEYWORD]))


def run(quick: bool) -> dict[str, Any]:
    seats, calls = (2, 2) if quick else (4, 6)
    result = measure(seats, calls)
    result.update(seats=seats, calls_per_seat=calls)
    for kind in (LEVEL, KEYWORD):
        r = result[kind]
        print(f"{kind}: {r['received']}/{r['triggers']}  end-to-end p50 {r['end_to_end']['p50_ms']} ms, "
              f"p99 {r['end_to_end']['p99_ms']} ms (audio->edge p50 {r['audio_to_edge_event']['p50_ms']}, "
              f"edge->console p50 {r['edge_to_console']['p50_ms']})", flush=True)
    return result
