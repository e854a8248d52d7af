"""A simulated device on a real pseudo-terminal (tests, the demo floor): the firmware's own main loop (app.py)
with the simulated HAL writes frames to the pty's master side; the edge opens the slave
side (through a symlink that survives an unplug/replug) with pyserial like a USB port."""

from __future__ import annotations

import io
import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from seatwatch.edge.link.framing import load

app_module = load("app")
config_module = load("config")
hal_sim = load("hal_sim")

RATE = 16_000
FRAME = app_module.FRAME           # samples per channel per audio frame


def stereo_signal(seconds: float, seed: int = 1) -> np.ndarray:
    """Stereo int16: a chirp-ish tone on the mic, noise on the earpiece (zeros included)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    rng = np.random.default_rng(seed)
    mic = 9000 * np.sin(2 * np.pi * (200 + 300 * t) * t)
    ear = rng.normal(0, 3000, n)
    ear[RATE // 2:RATE // 2 + 800] = 0          # a run of digital silence (zero bytes)
    pcm = np.stack([mic, ear], axis=1)
    return np.clip(np.round(pcm), -32768, 32767).astype("<i2")


def device_script(controls: Iterable[tuple[float, str]]) -> list[tuple[int, str, int]]:
    """Call-control signals (seconds, kind) as levels on the device's inputs: a ring burst
    is 1 s of ring voltage, a button press lasts 200 ms; far-end hang-ups are only heard."""
    script = []
    for t, kind in controls:
        at = round(t * RATE)
        if kind == "ring":
            script += [(at, "ring", 1), (at + RATE, "ring", 0)]
        elif kind in ("off_hook", "on_hook"):
            script.append((at, "hook", 1 if kind == "off_hook" else 0))
        elif kind == "button":
            script += [(at, "button", 1), (at + RATE // 5, "button", 0)]
    return script


class PtyDevice:
    def __init__(self, directory: Path, pcm: np.ndarray, script: Iterable[tuple[int, str, int]] = (),
                 *, drops: Iterable[int] = (), boot: int = 1, speed: float | None = None,
                 mangle: Callable[[bytes], bytes] | None = None, seat: str = "S1",
                 name: str = "ttySEAT") -> None:
        self.port = str(directory / name)
        self.pcm, self.script, self.drops = pcm, list(script), set(drops)
        self.speed, self.mangle, self.seat = speed, mangle, seat
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._rx = b""
        self.master: int | None = None
        self.slave: int | None = None
        self.discarded = 0
        self.written = 0
        self.plugged_at = 0.0
        # wall time (time.time()) at which the sample clock read 0 while streaming at
        # `speed`: sample n is captured at clock_zero_wall + n / RATE / speed
        self.clock_zero_wall: float | None = None
        self._plug()
        self.hal, self.app = self._boot(boot)
        self.thread = threading.Thread(target=self._run, name="pty-device", daemon=True)

    def _boot(self, boot: int, pcm: np.ndarray | None = None):
        hal = hal_sim.SimHal(io.BytesIO((self.pcm if pcm is None else pcm).tobytes()), self._write,
                             self.script, read=self._read, drops=self.drops, boot=boot,
                             serial=f"SIM-{boot:04d}")
        return hal, app_module.App(hal, config_module.Config({"seat": self.seat}))

    # --- the cable -------------------------------------------------------------------
    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)      # writes wait in select(), see _write
        link = Path(self.port)
        tmp = link.with_suffix(".new")
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, link)
        with self._lock:
            self.master, self.slave = master, slave
        self.plugged_at = time.monotonic()

    def unplug(self) -> None:
        with self._lock:
            for fd in (self.master, self.slave):
                if fd is not None:
                    os.close(fd)
            self.master = self.slave = None

    def replug(self, reboot_with: np.ndarray | None = None, boot: int = 2) -> None:
        """Plug back in; with `reboot_with` the device restarted (new boot, clock at 0)."""
        if reboot_with is not None:
            with self._lock:
                self.hal, self.app = self._boot(boot, reboot_with)
                self._started = False
        self._plug()

    # --- the device's side -----------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self.mangle is not None:
            data = self.mangle(data)
        with self._lock:
            fd = self.master
        if fd is None:
            self.discarded += len(data)
            return
        view = memoryview(data)
        while len(view):
            # A pty whose reader went away fills up: wait for room like a USB device does,
            # but never past stop() (a blocking write here once held stop() for 5 s).
            try:
                _, ready, _ = select.select([], [fd], [], 0.05)
                n = os.write(fd, view) if ready else 0
            except BlockingIOError:
                n = 0
            except (OSError, ValueError):
                self.discarded += len(view)
                return
            if not n and self._stop.is_set():
                self.discarded += len(view)
                return
            self.written += n
            view = view[n:]

    def _read(self) -> bytes:
        if self._rx:
            data, self._rx = self._rx, b""
            return data
        fd = self.master
        if fd is None:
            return b""
        try:
            ready, _, _ = select.select([fd], [], [], 0)
            return os.read(fd, 4096) if ready else b""
        except OSError:
            return b""

    def start(self) -> PtyDevice:
        self._started = False
        self.thread.start()
        return self

    def _run(self) -> None:
        began = 0.0
        while not self._stop.is_set():
            if not self._started:
                # like a device that only streams once the edge has asked for a hello
                data = self._read()
                if not data:
                    time.sleep(0.005)
                    continue
                self._rx = data
                with self._lock:
                    hal, device = self.hal, self.app
                device.start()
                self._started = True
                began = time.monotonic() - hal.clock / RATE / (self.speed or 1)
                self.clock_zero_wall = time.time() - hal.clock / RATE / (self.speed or 1)
            hal, device = self.hal, self.app
            if self.speed:
                # like I2S capture: a frame goes out once its last sample has been captured
                delay = began + (hal.clock + FRAME) / RATE / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if self.hal is not hal:
                    continue        # rebooted while we waited: the new boot starts over
            if not device.step():
                device.poll_commands()
                time.sleep(0.01)
                continue

    def finished(self) -> bool:
        """The device has sent all its audio."""
        return bool(self.hal.finished)

    def request_stop(self) -> None:
        """Ask the device's thread to end (stop() waits for it)."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.unplug()
