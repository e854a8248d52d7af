"""`serial:PORT`: the inline device over USB CDC as an AudioSource.

Open the port, ask for a hello (handshake), then hand the bytes to LinkDecoder
(edge/link/decoder.py), which turns frames into AudioBlock / ControlEvent / SourceGap
items on one stream clock:

- resync: garbage or a corrupt frame costs that frame only (COBS delimiters, CRC);
  every bad frame is counted by reason in `stats`;
- gaps: a jump in the audio's sample clock is audio lost (on the wire, or dropped by
  the device); it becomes a SourceGap the pipeline reports as `device_fault`;
- order: audio is held back by the device's declared `control_hold`, so a debounced
  hook change lands before the first block that ends after it;
- unplug: the port is reopened, every 0.1 s at first and backing off to every
  `retry_max` s; on return the device is asked for a hello again and the outage becomes
  a SourceGap (measured on the device's clock when it kept running, on the wall clock
  when it rebooted). `on_state("down", reason)` / `on_state("up", "")` tell the owner
  (the edge daemon reports the seat offline meanwhile).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import serial

from seatwatch.edge.link.decoder import LinkDecoder, LinkRefused, LinkStats
from seatwatch.edge.link.framing import protocol
from seatwatch.edge.sources.base import DeviceInfo, SourceItem

log = logging.getLogger("seatwatch.link")

P = protocol
IDLE_RELEASE_S = 0.25       # no bytes this long: release held audio (no control can follow)


class SerialLinkError(OSError):
    """The device could not be reached or did not answer like seatwatch firmware."""


class SerialSource:
    """The device on `port`; `reconnect_timeout` None keeps retrying until close()."""

    def __init__(self, port: str, *, baudrate: int = 115_200, hello_timeout: float = 2.0,
                 reconnect_timeout: float | None = None, retry_interval: float = 0.1,
                 retry_max: float = 2.0, device: str | None = None) -> None:
        self.port, self.baudrate = port, baudrate
        self.hello_timeout, self.reconnect_timeout = hello_timeout, reconnect_timeout
        self.retry_interval, self.retry_max = retry_interval, max(retry_interval, retry_max)
        # called with ("down", reason) when the port is lost, ("up", "") when it is back
        self.on_state: Callable[[str, str], None] | None = None
        self.decoder = LinkDecoder(port, device)
        self._serial: serial.Serial | None = None
        self._write_lock = threading.Lock()
        self._closed = threading.Event()
        self._seq_out = 0
        self._led: str | None = None
        self._open()
        self._handshake()

    @property
    def info(self) -> DeviceInfo:
        """From the device's latest hello (serial number, firmware, board, seat)."""
        return self.decoder.info

    @info.setter
    def info(self, value: DeviceInfo) -> None:
        self.decoder.info = value

    @property
    def stats(self) -> LinkStats:
        return self.decoder.stats

    @property
    def hello(self) -> dict[str, Any]:
        return self.decoder.hello

    # --- connection ------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self._serial = serial.Serial(self.port, self.baudrate, timeout=0.05, write_timeout=1.0)
        except (serial.SerialException, OSError) as exc:
            raise SerialLinkError(f"serial:{self.port}: cannot open the port ({exc})") from None

    def _handshake(self) -> None:
        deadline = time.monotonic() + self.hello_timeout
        next_ask = 0.0
        while self.decoder.awaiting_hello:
            now = time.monotonic()
            if now >= deadline or self._serial is None:
                self._drop_port()
                raise SerialLinkError(f"serial:{self.port}: no hello from the device within "
                                      f"{self.hello_timeout:.1f} s (is the seatwatch firmware running?)")
            if now >= next_ask:
                self._send(P.T_INFO, b"")
                next_ask = now + 0.5
            try:
                self._pump()
            except LinkRefused as exc:
                self._drop_port()
                raise SerialLinkError(str(exc)) from None

    def _drop_port(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except (serial.SerialException, OSError):
                pass
        self._serial = None

    def _reconnect(self) -> bool:
        """Reopen after the port vanished; False when reconnect_timeout passed or closed."""
        started = time.monotonic()
        interval = self.retry_interval
        while not self._closed.is_set():
            try:
                self._open()
                self.decoder.link_back()
                self._handshake()
                self.stats.reconnects += 1
                log.info("serial:%s: device back after %.2f s", self.port, time.monotonic() - started)
                if self._led is not None:
                    self.send_led(self._led)
                self._tell("up", "")
                return True
            except SerialLinkError:
                pass
            if self.reconnect_timeout is not None and time.monotonic() - started > self.reconnect_timeout:
                return False
            self._closed.wait(interval)
            interval = min(self.retry_max, interval * 1.5)     # backoff: 0.1 s ... retry_max
        return False

    def _tell(self, state: str, reason: str) -> None:
        if self.on_state is not None:
            try:
                self.on_state(state, reason)
            except Exception:       # the owner's bug must not stop the link
                log.exception("serial:%s: on_state(%s) failed", self.port, state)

    # --- reading ---------------------------------------------------------------------
    def items(self) -> Iterator[SourceItem]:
        ready = self.decoder.ready
        while not self._closed.is_set():
            if self._serial is None:
                if not self._reconnect():
                    break
            self._pump()
            while ready:
                yield ready.popleft()
        yield from self.decoder.flush()

    def _pump(self) -> None:
        """Read what the port has (up to 50 ms wait) and decode it."""
        port = self._serial
        if port is None:
            return
        try:
            data = port.read(max(1, port.in_waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            # TypeError: pyserial on a closed fd (close() from another thread)
            lost = not self._closed.is_set()
            if lost:
                log.warning("serial:%s: port lost (%s)", self.port, exc)
                self.decoder.link_lost(time.monotonic())
            self._drop_port()
            if lost:
                self._tell("down", f"serial:{self.port}: port lost ({exc})")
            return
        if data:
            self.decoder.feed(data, time.monotonic())
        else:
            self.decoder.idle(time.monotonic(), IDLE_RELEASE_S)

    # --- writing ---------------------------------------------------------------------
    def _send(self, ptype: int, payload: bytes) -> bool:
        frame = P.encode_frame(ptype, self._seq_out, 0, payload)
        with self._write_lock:
            self._seq_out = (self._seq_out + 1) % P.SEQ_MOD
            port = self._serial
            if port is None:
                return False
            try:
                port.write(frame)
                return True
            except (serial.SerialException, OSError) as exc:
                log.warning("serial:%s: write failed (%s)", self.port, exc)
                return False

    def send_led(self, pattern: str) -> None:
        try:
            payload = P.pack_led(pattern)
        except ValueError as exc:
            self.stats.bad_leds += 1
            log.warning("serial:%s: %s", self.port, exc)
            return
        self._led = pattern
        self._send(P.T_LED, payload)

    def send_gain(self, mic_steps: int, ear_steps: int) -> bool:
        """Digital gain on the device in 6 dB steps, -4..4 per channel."""
        if not (-4 <= mic_steps <= 4 and -4 <= ear_steps <= 4):
            raise ValueError(f"gain steps must be within -4..4, got {mic_steps}, {ear_steps}")
        return self._send(P.T_GAIN, P.pack_gain(mic_steps, ear_steps))

    def request_info(self) -> bool:
        return self._send(P.T_INFO, b"")

    def timesync(self) -> bool:
        return self._send(P.T_TIMESYNC, P.pack_timesync(int(time.time() * 1000)))

    def reboot(self, maintenance: bool = False) -> bool:
        return self._send(P.T_REBOOT, bytes((P.REBOOT_MAINTENANCE if maintenance else P.REBOOT_NORMAL,)))

    def close(self) -> None:
        self._closed.set()
        with self._write_lock:
            self._drop_port()
