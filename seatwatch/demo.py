"""`seatwatch demo`: a simulated call-center floor on this machine, nothing to install.

    embedded MQTT broker (amqtt) <- edge daemon process (N seats replaying scripted calls
    in real time) -> the supervisors' console in this terminal

Each seat is a simulated inline device: the firmware's own main loop (firmware/app.py)
over the simulated HAL, playing that seat's day of calls (the shipped scenario renders,
scenarios/rendered/, in its own rotation) and writing framed packets to a pseudo-
terminal; the edge reads every pty with the real serial link, exactly as it reads USB
devices, and LED feedback travels back to the device. `--replay` skips the devices and
replays the day from a file instead. `--headless` runs without the console for a while
and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from seatwatch.edge.daemon import LAST_RUN
from seatwatch.edge.embedded_broker import EmbeddedBroker
from seatwatch.edge.publish.mqtt import BrokerUrl
from seatwatch.edge.sim.device import PtyDevice, device_script
from seatwatch.edge.sim.playlist import build_playlist, load_rendered
from seatwatch.edge.sim.scenario import RATE

SITE = "demo"
QUIT_EDGE_S = 1.0      # after q: the edge's grace to stop before it is killed
FINAL_DRAIN_S = 5.0    # headless: longest wait for events the edge sent before it stopped
AGENTS = ["王芳", "李强", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "周杰", "吴霞", "徐涛", "孙丽"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seats", type=int, default=8, help="simulated seats (default 8)")
    parser.add_argument("--headless", action="store_true", help="no console: run, then summarise")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="headless run time in seconds (default 60)")
    parser.add_argument("--broker", help="use this broker instead of the embedded one")
    parser.add_argument("--speed", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--replay", action="store_true",
                        help="replay recordings in the edge instead of simulated serial devices")


def build_day(workdir: Path) -> tuple[Path, Path, list[tuple[str, float]]]:
    """One recording of every scenario back to back, its control file, and call starts."""
    calls = load_rendered()
    day = build_playlist(calls, 0, idle_s=4.0, stagger_s=0.0)
    audio, control = workdir / "day.flac", workdir / "day.json"
    sf.write(str(audio), day.pcm, RATE, subtype="PCM_16")
    control.write_text(json.dumps({"events": [{"t": c.sample / RATE, "type": c.kind}
                                              for c in day.controls]}))
    return audio, control, [(name, start / RATE) for name, start in day.calls]


def write_edge_config(workdir: Path, broker: str, seats: int, audio: Path, control: Path,
                      starts: list[tuple[str, float]]) -> Path:
    lines = [f'site = "{SITE}"', 'edge = "demo-edge"', f'broker = "{broker}"',
             f'state_dir = "{workdir / "state"}"', "metrics_interval_s = 1.0", ""]
    for index in range(seats):
        # Seat i starts just before call i (mod the library), offset by whole idle gaps.
        _, start = starts[index % len(starts)]
        offset = max(0.0, start - 1.0 - 2.5 * (index // len(starts)))
        lines += ["[[seat]]", f'id = "A{index + 1:02d}"', f'source = "wav:{audio}"',
                  f'control = "{control}"', f'agent = "{AGENTS[index % len(AGENTS)]}"',
                  "loop = true", f"offset_s = {offset:.2f}", ""]
    config = workdir / "edge.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def start_devices(workdir: Path, seats: int, speed: float) -> list[PtyDevice]:
    """One simulated device per seat on its own pty, each with its own rotation of calls."""
    calls = load_rendered()
    devices = []
    for index in range(seats):
        day = build_playlist(calls, index, idle_s=4.0, stagger_s=2.5)
        script = device_script((c.sample / RATE, c.kind) for c in day.controls)
        seat = f"A{index + 1:02d}"
        devices.append(PtyDevice(workdir, np.ascontiguousarray(day.pcm, dtype="<i2"), script,
                                 speed=speed, seat=seat, boot=index + 1, name=f"tty{seat}").start())
    return devices


def write_device_config(workdir: Path, broker: str, devices: list[PtyDevice]) -> Path:
    lines = [f'site = "{SITE}"', 'edge = "demo-edge"', f'broker = "{broker}"',
             f'state_dir = "{workdir / "state"}"', "metrics_interval_s = 1.0", ""]
    for index, device in enumerate(devices):
        lines += ["[[seat]]", f'id = "{device.seat}"', f'source = "serial:{device.port}"',
                  f'agent = "{AGENTS[index % len(AGENTS)]}"', ""]
    config = workdir / "edge.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def start_edge(config: Path, workdir: Path) -> subprocess.Popen[bytes]:
    log = open(os.environ.get("SEATWATCH_DEMO_LOG", workdir / "edge.log"), "wb")  # noqa: SIM115
    # from this package's root, so the daemon runs this same code (a work tree, not the
    # editable install another checkout may have put on the interpreter's path)
    return subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config",
                             str(config)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=Path(__file__).resolve().parents[1])


def stop_devices(devices: list[PtyDevice]) -> None:
    """All at once: each device's thread ends within one frame of being asked."""
    for device in devices:
        device.request_stop()
    for device in devices:
        device.stop()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)   # the daemon flushes its outboxes on SIGTERM
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Summary:
    """`--headless`: the console's data model fed from the broker, subscribed before the
    edge starts so it sees every event; at the end it counts what never arrived."""

    def __init__(self, url: BrokerUrl) -> None:
        from seatwatch.console.ingest import Ingest
        from seatwatch.console.state import FloorState

        self.state = FloorState()
        self.ingest = Ingest(url, f"demo-summary-{os.getpid()}", site=SITE).start()
        if not self.ingest.is_connected.wait(10):
            raise RuntimeError(f"the demo's summary could not connect to {url}")

    def watch(self, seconds: float, until: Callable[[], bool] | None = None) -> None:
        """Feed the model for `seconds`, or until `until()` holds."""
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            for topic, payload, received in self.ingest.drain():
                self.state.handle(topic, payload, received)
            if until is not None and until():
                return
            time.sleep(0.05 if until is not None else 0.2)

    def received(self) -> int:
        return int(self.state.counters["events"])

    def online(self) -> int:
        return sum(view.online for view in self.state.seats.values())

    def report(self, duration: float, seats: int, online: int,
               accounts: dict[str, dict[str, int]]) -> int:
        """`online`: seats online when the run ended (before the edge was stopped)."""
        self.ingest.stop()
        state = self.state
        kinds: Counter[str] = Counter()
        for group in state.feed.values():
            kinds[group.key[3]] += group.count
        cards = [card for view in state.seats.values() for card in view.scorecards]
        received = state.counters["events"]
        accepted = sum(a["accepted"] for a in accounts.values())
        held = sum(a["unsent"] + a["dropped"] for a in accounts.values())
        lost = accepted - held - received
        print(f"seatwatch demo: {duration:.0f} s, {seats} seats ({online} online at the end)")
        print(f"  events received {received}, duplicates {state.counters['duplicate']}, "
              f"malformed {sum(v for k, v in state.counters.items() if k.startswith('malformed'))}")
        print(f"  edge accepted {accepted}, left unsent or dropped by policy {held}, "
              f"lost {lost if accounts else 'unknown (no edge account)'}")
        print(f"  calls ended {len(cards)}, mean score "
              f"{(sum(c.get('score', 0) for c in cards) / len(cards)) if cards else 0:.1f}")
        for kind, count in kinds.most_common():
            print(f"  {kind:22} {count}")
        return 0 if received > 0 and accounts and lost == 0 else 1


def read_accounts(path: Path) -> dict[str, dict[str, int]]:
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def run(args: argparse.Namespace) -> int:
    if args.seats < 1:
        print("seatwatch demo: --seats must be at least 1", file=sys.stderr)
        return 2
    broker = None if args.broker else EmbeddedBroker().start()
    url = BrokerUrl.parse(args.broker) if args.broker else BrokerUrl(broker.host, broker.port)  # type: ignore[union-attr]
    with tempfile.TemporaryDirectory(prefix="seatwatch-demo-") as tmp:
        workdir = Path(tmp)
        devices: list[PtyDevice] = []
        try:
            if args.replay:
                audio, control, starts = build_day(workdir)
                config = write_edge_config(workdir, str(url), args.seats, audio, control, starts)
            else:
                devices = start_devices(workdir, args.seats, args.speed)
                config = write_device_config(workdir, str(url), devices)
        except FileNotFoundError as exc:
            print(f"seatwatch demo: {exc}", file=sys.stderr)
            return 2
        summary = Summary(url) if args.headless else None
        edge = start_edge(config, workdir)
        try:
            if summary is not None:
                print(f"seatwatch demo: {args.seats} seats running for {args.duration:g} s",
                      file=sys.stderr, flush=True)
                summary.watch(args.duration)
                online = summary.online()
                stop_process(edge)                   # SIGTERM: calls closed, outboxes flushed
                stop_devices(devices)
                accounts = read_accounts(workdir / "state" / LAST_RUN)
                # the edge's account says how many events reached the broker: wait for
                # those (not for a quiet spell), a little longer only if some are missing
                sent = sum(a["accepted"] - a["unsent"] - a["dropped"] for a in accounts.values())
                summary.watch(FINAL_DRAIN_S, until=lambda: summary.received() >= sent)
                return summary.report(args.duration, args.seats, online, accounts)
            from seatwatch.console.app import ConsoleApp
            from seatwatch.console.ingest import Ingest

            ingest = Ingest(url, f"demo-console-{os.getpid()}", site=SITE).start()
            ConsoleApp(ingest=ingest, site=SITE, user="demo").run()
            # q: nobody is left to read what the edge would still flush (the console is
            # gone, the broker and the state folder go next), so it gets a short grace
            stop_process(edge, timeout=QUIT_EDGE_S)
            return 0
        finally:
            stop_process(edge)
            stop_devices(devices)
            if broker is not None:
                broker.stop()
