"""`seatwatch edge run`: serve seats (sources -> pipelines -> outbox -> MQTT) until stopped.

One thread per seat, and each seat fails alone: a device that is missing, unplugged or
silent is retried with backoff and reported (`device_fault`, status offline) for that
seat only. Whether the broker is reachable is logged (while it is not, every 30 s) and
sent in each seat's metrics. SIGTERM/SIGINT stop the sources, close open calls, flush
every outbox to the broker (with a timeout, all seats at once) and publish each seat's
offline status.
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

from seatwatch.contracts.events import Event, ident_error, valid_ident
from seatwatch.edge.config import ConfigError, EdgeConfig, SeatConfig, load_config
from seatwatch.edge.hearing.calibration import CalibrationError
from seatwatch.edge.hearing.dose import FileLedger
from seatwatch.edge.models.loader import ModelError
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import Policy, PolicyError, load_policy
from seatwatch.edge.publish.mqtt import BrokerUrl, BrokerUrlError, MqttLink, SeatIdentity
from seatwatch.edge.publish.outbox import Outbox, OutboxError
from seatwatch.edge.sources.base import AudioSource, DeviceInfo
from seatwatch.edge.sources.control import ControlFileError
from seatwatch.edge.sources.factory import SourceError, open_source
from seatwatch.edge.sources.wavfile import AudioFileError

log = logging.getLogger("seatwatch.edge")
LAST_RUN = "last-run.json"     # per seat: events accepted / unsent / dropped by the last run


NO_DEVICE = "none"          # device id while a seat's device has never answered
RETRY_FIRST_S = 0.5        # a seat whose device cannot be opened: first retry after this,
RETRY_MAX_S = 10.0         # doubling up to this
STILL_MISSING_LOG_S = 60.0  # while a device stays missing, say so this often
BROKER_GRACE_S = 5.0       # broker unreachable this long: logged, then every BROKER_LOG_S
BROKER_LOG_S = 30.0


class BrokerWatch:
    """Whether the seats reach the broker: logged while it is unreachable, in metrics."""

    def __init__(self, url: object) -> None:
        self.url = url
        self.down_since: float | None = time.monotonic()   # not connected yet
        self.logged_at: float | None = None
        self.outages = 0
        self.down_total_s = 0.0
        self.ever_connected = False

    def check(self, links: list[MqttLink], waiting: int) -> None:
        """Called about every 0.2 s by serve()."""
        now = time.monotonic()
        up = any(link.is_connected.is_set() for link in links)
        if up:
            if self.down_since is not None:
                down_s = now - self.down_since
                if self.logged_at is not None:
                    log.warning("broker %s reachable again after %.0f s", self.url, down_s)
                if self.ever_connected:
                    self.down_total_s += down_s
                self.down_since, self.logged_at = None, None
            self.ever_connected = True
            return
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
        if now - self.down_since < BROKER_GRACE_S:
            return
        if self.logged_at is None or now - self.logged_at >= BROKER_LOG_S:
            self.logged_at = now
            states = sorted({link.state for link in links})
            log.warning("broker %s unreachable for %.0f s (%s%s); %d event(s) kept in the "
                        "outboxes until it is back", self.url, now - self.down_since,
                        "never connected" if not self.ever_connected else "connection lost",
                        "" if states == ["connecting"] or states == ["reconnecting"]
                        else f", {'/'.join(states)}", waiting)

    def metrics(self) -> dict[str, Any]:
        down = self.down_total_s
        if self.down_since is not None and self.ever_connected:
            down += time.monotonic() - self.down_since
        return {"broker_outages": self.outages, "broker_down_s": round(down, 1)}


class SeatRunner:
    """One seat: its source, pipeline, outbox and MQTT link, driven by one thread.

    A seat fails alone. A device source (serial, alsa) that cannot be opened does not stop
    the daemon: the seat reports `device_fault` (kind `device_missing`) once, holds its
    retained status at "offline", and retries with backoff until the device answers; a
    device unplugged mid-run does the same from the serial link's reconnect loop. An
    unexpected error in one seat ends that seat only (logged, status offline).
    """

    def __init__(self, config: EdgeConfig, seat: SeatConfig, policy: Policy,
                 broker: BrokerWatch | None = None) -> None:
        self.config, self.seat, self.policy = config, seat, policy
        self.broker = broker
        self.device_backed = not seat.source.startswith("wav:")
        self.errors = 0
        self.accepted = 0                       # events committed to the outbox this run
        self.fault: str | None = None           # why the device is missing, while it is
        self._fault_since = 0.0
        self._fault_logged = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._process = psutil.Process()
        self.source: AudioSource | None = None
        self.pipeline: SeatPipeline | None = None
        config.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            source: AudioSource | None = self._open()
        except SourceError as exc:
            if not self.device_backed:
                raise                           # a replayed file: a configuration error
            source = None
            first_fault = str(exc)
        self.outbox = Outbox(config.state_dir / f"outbox-{seat.id}.db", config.outbox_max_events)
        info = source.info if source is not None else DeviceInfo(device=NO_DEVICE)
        self.link = MqttLink(config.broker, self._identity(info), self.outbox, tls=config.tls,
                             on_command=self._command)
        if source is None:
            self._device_missing(first_fault)
        else:
            self._attach(source)
        self._thread = threading.Thread(target=self._run, name=f"seat-{seat.id}", daemon=True)

    # --- the device ------------------------------------------------------------------------
    def _open(self) -> AudioSource:
        seat = self.seat
        spec = seat.source
        if spec.startswith("usb:"):          # the seat map's device, by its USB serial number
            from seatwatch.edge.flashing.seatmap import by_id_dir, port_of
            port = port_of(spec[4:])
            if port is None:
                raise SourceError(f"{spec}: device not attached (nothing with this serial "
                                  f"number under {by_id_dir()})")
            spec = f"serial:{port}"
        return open_source(spec, control=seat.control, loop=seat.loop,
                           realtime=seat.realtime, seat=seat.id, offset_s=seat.offset_s)

    def _identity(self, info: DeviceInfo) -> SeatIdentity:
        device = info.device if valid_ident(info.device) else NO_DEVICE
        return SeatIdentity(self.config.site, self.seat.id, device, info.firmware,
                            self.seat.agent, self.config.edge)

    def _attach(self, source: AudioSource) -> None:
        """A source opened: build the pipeline for it (first time) and say the seat is up."""
        if hasattr(source, "on_state"):
            source.on_state = self._link_state       # unplugged and back, mid-run
        with self._lock:
            self.source = source
        if self.pipeline is None:
            seat, info = self.seat, source.info
            # A recording without a control file has no real hook signals to judge.
            hook_known = not (seat.source.startswith("wav:") and seat.control is None)
            ctx = SeatContext(self.config.site, seat.id, self._identity(info).device, seat.agent,
                              seat.headset, hook_known=hook_known)
            self.pipeline = SeatPipeline(ctx, self.policy, self._emit, led=self._led,
                                         ledger=FileLedger(self.config.state_dir),
                                         day_of=lambda sample: date.today().isoformat())
        self._device_back()

    def _led(self, pattern: str) -> None:
        source = self.source
        if source is not None:
            source.send_led(pattern)

    def _link_state(self, state: str, reason: str) -> None:
        if state == "down":
            self._device_missing(reason)
        else:
            self._device_back()

    def _device_missing(self, reason: str) -> None:
        now = time.monotonic()
        if self.fault is None:
            self.fault, self._fault_since, self._fault_logged = reason, now, now
            log.warning("seat %s: device missing: %s; retrying with backoff, the other seats "
                        "go on", self.seat.id, reason)
            self.link.set_presence(False)
            self._emit(Event.new("device_fault", site=self.config.site, seat=self.seat.id,
                                 device=self.link.who.device, call=None, t_call=None,
                                 data={"kind": "device_missing", "reason": reason[:200]}))
        elif now - self._fault_logged >= STILL_MISSING_LOG_S or reason != self.fault:
            self.fault, self._fault_logged = reason, now
            log.warning("seat %s: device still missing after %.0f s: %s", self.seat.id,
                        now - self._fault_since, reason)

    def _device_back(self) -> None:
        source = self.source
        if source is None:
            return
        who = self._identity(source.info)
        if self.fault is not None:
            log.warning("seat %s: device %s back after %.1f s", self.seat.id, who.device,
                        time.monotonic() - self._fault_since)
            self.fault = None
            self.link.set_presence(True, who)
        elif who != self.link.who:
            self.link.set_presence(True, who)

    def _reopen(self) -> bool:
        """Retry the device with backoff until it answers; False when stopping."""
        delay = RETRY_FIRST_S
        while not self._stopping.wait(delay):
            delay = min(delay * 2, RETRY_MAX_S)
            try:
                source = self._open()
            except SourceError as exc:
                self._device_missing(str(exc))
                self._publish_metrics({"link": "down", "call_state": "idle"})
                continue
            with self._lock:
                if self._stopping.is_set():     # stop() came while the device was opening
                    source.close()
                    return False
            self._attach(source)
            return True
        return False

    # --- events and commands ---------------------------------------------------------------
    def _emit(self, event: Any) -> None:
        try:
            self.link.publish(event)
            self.accepted += 1
        except OutboxError as exc:  # disk full / unwritable: say so, keep monitoring
            self.errors += 1
            log.error("seat %s: event %s not stored: %s", self.seat.id, event.type, exc)

    def _command(self, command: dict[str, Any]) -> None:
        if (command["cmd"] == "led" and isinstance(command["args"].get("pattern"), str)
                and self.pipeline is not None):
            self.pipeline.led(command["args"]["pattern"])
        log.info("seat %s: command %s from %s", self.seat.id, command["cmd"], command.get("by"))

    def _publish_metrics(self, extra: dict[str, Any]) -> None:
        self.link.publish_metrics({**extra, "queue_depth": self.outbox.depth(),
                                   "events_dropped": sum(self.outbox.dropped.values()),
                                   "cpu_pct": self._process.cpu_percent(),
                                   **(self.broker.metrics() if self.broker else {})})

    # --- the seat's thread -----------------------------------------------------------------
    def start(self) -> None:
        self.link.start()
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                if self.source is None and not self._reopen():
                    break
                self._stream()
                if not self.device_backed or self._stopping.is_set():
                    break
                # a device source ended by itself (gave up reconnecting): open it afresh
                with self._lock:
                    source, self.source = self.source, None
                if source is not None:
                    source.close()
                self._device_missing(f"{self.seat.source}: the device's stream ended")
        except Exception as exc:   # a bug in one seat must not take the others down
            log.exception("seat %s: stopped by an unexpected error", self.seat.id)
            self.errors += 1
            self.fault = self.fault or f"seat stopped: {exc!r}"[:200]
            self.link.set_presence(False)
        finally:
            if self.pipeline is not None:
                try:
                    self.pipeline.finish()
                except Exception:
                    log.exception("seat %s: closing the open call failed", self.seat.id)

    def _stream(self) -> None:
        source, pipeline = self.source, self.pipeline
        assert source is not None and pipeline is not None
        next_metrics = time.monotonic()
        try:
            for item in source.items():
                pipeline.feed(item)
                now = time.monotonic()
                if now >= next_metrics:
                    next_metrics = now + self.config.metrics_interval_s
                    link = "down" if self.fault is not None else "ok"
                    self._publish_metrics({**pipeline.snapshot(), "link": link})
        except OSError as exc:
            log.error("seat %s: source failed: %s", self.seat.id, exc)

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            source = self.source
        if source is not None:
            source.close()

    def join(self, flush_timeout: float) -> dict[str, Any]:
        """Stop after flushing; what this run accepted and where it went."""
        self._thread.join(flush_timeout)
        self.link.close(flush_timeout)
        account: dict[str, Any] = {"accepted": self.accepted, "unsent": self.outbox.depth(),
                   "dropped": sum(self.outbox.dropped.values()), "not_stored": self.errors}
        if self.fault is not None:
            account["device_missing"] = self.fault
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
    for name in ("site", "seat"):
        problem = ident_error(getattr(args, name), f"--{name}")
        if problem:
            raise ConfigError(f"edge run: {problem}")
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
    broker = BrokerWatch(config.broker)
    runners = [SeatRunner(config, seat, policy, broker) for seat in config.seats]
    for runner in runners:
        runner.start()
    missing = [r.seat.id for r in runners if r.fault is not None]
    log.info("serving %d seat(s) for site %s via %s%s", len(runners), config.site, config.broker,
             f" ({len(missing)} waiting for their device: {', '.join(missing)})" if missing else "")
    links = [runner.link for runner in runners]
    while not stop.is_set() and any(r.is_alive() for r in runners):
        broker.check(links, sum(r.outbox.depth() for r in runners))
        stop.wait(0.2)
    for runner in runners:
        runner.stop()
    # every seat flushes at once: the stop takes one flush, not one per seat
    accounts: dict[str, dict[str, Any]] = {}
    joiners = [threading.Thread(target=lambda r=runner: accounts.__setitem__(r.seat.id,
                                                                            r.join(flush_timeout)),
                                name=f"join-{runner.seat.id}") for runner in runners]
    for joiner in joiners:
        joiner.start()
    for joiner in joiners:
        joiner.join()
    accounts = {runner.seat.id: accounts[runner.seat.id] for runner in runners
                if runner.seat.id in accounts}
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
