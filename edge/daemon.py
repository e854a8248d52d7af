"""`seatwatch edge run`: serve seats (sources -> pipelines -> outbox -> MQTT) until stopped.

One thread per seat; SIGTERM/SIGINT stop the sources, close open calls, flush every
outbox to the broker (with a timeout) and publish each seat's offline status.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import psutil

from edge.config import ConfigError, EdgeConfig, SeatConfig, load_config
from edge.hearing.calibration import CalibrationError
from edge.hearing.dose import FileLedger
from edge.models.loader import ModelError
from edge.pipeline import SeatContext, SeatPipeline
from edge.policy import Policy, PolicyError, load_policy
from edge.publish.mqtt import BrokerUrl, BrokerUrlError, MqttLink, SeatIdentity
from edge.publish.outbox import Outbox, OutboxError
from edge.sources.base import AudioSource
from edge.sources.control import ControlFileError
from edge.sources.factory import SourceError, open_source
from edge.sources.wavfile import AudioFileError

log = logging.getLogger("seatwatch.edge")
LAST_RUN = "last-run.json"     # per seat: events accepted / unsent / dropped by the last run


class SeatRunner:
    """One seat: its source, pipeline, outbox and MQTT link, driven by one thread."""

    def __init__(self, config: EdgeConfig, seat: SeatConfig, policy: Policy) -> None:
        self.config, self.seat = config, seat
        self.source: AudioSource = open_source(seat.source, control=seat.control,
                                               loop=seat.loop, realtime=seat.realtime,
                                               seat=seat.id, offset_s=seat.offset_s)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self.outbox = Outbox(config.state_dir / f"outbox-{seat.id}.db", config.outbox_max_events)
        info = self.source.info
        self.link = MqttLink(config.broker,
                             SeatIdentity(config.site, seat.id, info.device, info.firmware,
                                          seat.agent, config.edge),
                             self.outbox, tls=config.tls, on_command=self._command)
        # A recording without a control file has no real hook signals to judge.
        hook_known = not (seat.source.startswith("wav:") and seat.control is None)
        ctx = SeatContext(config.site, seat.id, info.device, seat.agent, seat.headset,
                          hook_known=hook_known)
        self.pipeline = SeatPipeline(ctx, policy, self._emit, led=self.source.send_led,
                                     ledger=FileLedger(config.state_dir),
                                     day_of=lambda sample: date.today().isoformat())
        self.errors = 0
        self.accepted = 0                       # events committed to the outbox this run
        self._thread = threading.Thread(target=self._run, name=f"seat-{seat.id}", daemon=True)
        self._process = psutil.Process()

    def _emit(self, event: Any) -> None:
        try:
            self.link.publish(event)
            self.accepted += 1
        except OutboxError as exc:  # disk full / unwritable: say so, keep monitoring
            self.errors += 1
            log.error("seat %s: event %s not stored: %s", self.seat.id, event.type, exc)

    def _command(self, command: dict[str, Any]) -> None:
        if command["cmd"] == "led" and isinstance(command["args"].get("pattern"), str):
            self.pipeline.led(command["args"]["pattern"])
        log.info("seat %s: command %s from %s", self.seat.id, command["cmd"], command.get("by"))

    def start(self) -> None:
        self.link.start()
        self._thread.start()

    def _run(self) -> None:
        next_metrics = time.monotonic()
        try:
            for item in self.source.items():
                self.pipeline.feed(item)
                now = time.monotonic()
                if now >= next_metrics:
                    next_metrics = now + self.config.metrics_interval_s
                    self.link.publish_metrics({**self.pipeline.snapshot(),
                                               "queue_depth": self.outbox.depth(),
                                               "events_dropped": sum(self.outbox.dropped.values()),
                                               "cpu_pct": self._process.cpu_percent()})
        except OSError as exc:
            log.error("seat %s: source failed: %s", self.seat.id, exc)
        finally:
            self.pipeline.finish()

    def stop(self) -> None:
        self.source.close()

    def join(self, flush_timeout: float) -> dict[str, Any]:
        """Stop after flushing; what this run accepted and where it went."""
        self._thread.join(flush_timeout)
        self.link.close(flush_timeout)
        account = {"accepted": self.accepted, "unsent": self.outbox.depth(),
                   "dropped": sum(self.outbox.dropped.values()), "not_stored": self.errors}
        self.outbox.close()
        return account


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    run = sub.add_parser("run", help="serve seats until stopped (SIGTERM flushes the outbox)")
    run.add_argument("--config", type=Path, help="edge config TOML (see deploy/edge.example.toml)")
    run.add_argument("--source", help="one seat without a config: wav:FILE (serial:PORT, alsa:DEV)")
    run.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt[s]://[user[:pass]@]host[:port]")
    run.add_argument("--site", default="local")
    run.add_argument("--seat", default="S1")
    run.add_argument("--control", help="control JSON for a wav source")
    run.add_argument("--policy", type=Path)
    run.add_argument("--state-dir", type=Path, default=Path("var"))
    run.add_argument("--loop", action="store_true", help="replay a wav source forever")
    run.add_argument("--fast", action="store_true", help="replay as fast as possible")


def config_from_args(args: argparse.Namespace) -> EdgeConfig:
    if args.config:
        return load_config(args.config)
    if not args.source:
        raise ConfigError("edge run: give --config FILE or --source SPEC")
    try:
        broker = BrokerUrl.parse(args.broker)
    except BrokerUrlError as exc:
        raise ConfigError(str(exc)) from None
    seat = SeatConfig(args.seat, args.source, control=args.control, loop=args.loop,
                      realtime=not args.fast)
    return EdgeConfig(site=args.site, broker=broker, seats=(seat,), state_dir=args.state_dir,
                      policy=args.policy)


def serve(config: EdgeConfig, stop: threading.Event, flush_timeout: float = 10.0) -> int:
    policy = load_policy(config.policy)
    runners = [SeatRunner(config, seat, policy) for seat in config.seats]
    for runner in runners:
        runner.start()
    log.info("serving %d seat(s) for site %s via %s", len(runners), config.site, config.broker)
    while not stop.is_set() and any(r._thread.is_alive() for r in runners):
        stop.wait(0.2)
    for runner in runners:
        runner.stop()
    accounts = {runner.seat.id: runner.join(flush_timeout) for runner in runners}
    for seat, account in accounts.items():
        log.info("seat %s: %d events accepted, %d left in the outbox, %d dropped by policy, "
                 "%d not stored", seat, account["accepted"], account["unsent"], account["dropped"],
                 account["not_stored"])
    # read by `seatwatch demo --headless` to count what the console never received
    (config.state_dir / LAST_RUN).write_text(json.dumps(accounts, indent=1) + "\n")
    return 0


def run(args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        return serve(config_from_args(args), stop)
    except (ConfigError, PolicyError, SourceError, AudioFileError, ControlFileError,
            OutboxError, ModelError, CalibrationError) as exc:
        print(f"seatwatch edge: {exc}", file=sys.stderr)
        return 2
