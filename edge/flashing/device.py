"""A device on a serial port, for technicians: raw REPL (through mpremote's transport)
for flashing, the seatwatch protocol for asking a running monitor who it is.

The running firmware ignores Ctrl-C (audio frames may contain 0x03), so flashing first
asks it, in protocol, for a maintenance reboot: the next boot leaves the REPL open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import serial
from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from seatwatch.edge.flashing.build import CONFIG_NAME, Artifact
from seatwatch.edge.link.decoder import LinkDecoder
from seatwatch.edge.link.framing import protocol as P

Progress = Callable[[str, int, int], None]      # file name, bytes done, bytes total


class DeviceError(RuntimeError):
    pass


def ask_hello(port: str, timeout: float = 2.0) -> dict[str, Any]:
    """The hello of a running seatwatch monitor (and its latest heartbeat, if one came)."""
    decoder = LinkDecoder(port)
    try:
        link = serial.Serial(port, 115_200, timeout=0.05)
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"{port}: cannot open ({exc})") from None
    try:
        link.write(b"\x00" + P.encode_frame(P.T_INFO, 0, 0, b""))
        deadline = time.monotonic() + timeout
        beat_deadline = None
        while time.monotonic() < deadline:
            data = link.read(max(1, link.in_waiting))
            if data:
                decoder.feed(data, time.monotonic())
                decoder.ready.clear()
            if decoder.hello and beat_deadline is None:
                beat_deadline = time.monotonic() + 1.2      # one heartbeat period, and a bit
            if decoder.hello and (decoder.stats.heartbeat or time.monotonic() > (beat_deadline or 0)):
                break
    finally:
        link.close()
    if not decoder.hello:
        raise DeviceError(f"{port}: no hello within {timeout:.1f} s (not running seatwatch firmware?)")
    return {**decoder.hello, "heartbeat": dict(decoder.stats.heartbeat)}


def request_maintenance(port: str) -> None:
    """Ask a running monitor to reboot into maintenance (REPL) mode."""
    try:
        with serial.Serial(port, 115_200, timeout=0.2) as link:
            # a leading delimiter ends whatever the REPL attempts left in the device's
            # frame buffer, so this frame is not glued to that garbage
            link.write(b"\x00" + P.encode_frame(P.T_REBOOT, 0, 0, bytes((P.REBOOT_MAINTENANCE,))))
            link.flush()
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"{port}: cannot open ({exc})") from None


class RawRepl:
    """mpremote's serial transport in raw-REPL mode."""

    def __init__(self, port: str, attempts: int = 3, wait_s: float = 2.0) -> None:
        last: Exception | None = None
        for attempt in range(attempts):
            try:
                self.transport = SerialTransport(port, exclusive=False)
            except TransportError as exc:
                raise DeviceError(f"{port}: cannot open ({exc})") from None
            try:
                self.transport.enter_raw_repl(soft_reset=False, timeout_overall=wait_s)
                return
            except TransportError as exc:
                last = exc
                self.transport.close()
            if attempt == 0:
                request_maintenance(port)          # a running monitor ignores Ctrl-C
            time.sleep(wait_s)
        raise DeviceError(f"{port}: no raw REPL after {attempts} attempts ({last})")

    def write_file(self, artifact: Artifact, progress: Progress | None = None,
                   dest: str | None = None) -> None:
        """Copy one file to `dest` (default: its name, at the root)."""
        def report(done: int, total: int) -> None:
            if progress:
                progress(artifact.name, done, total)
        try:
            self.transport.fs_writefile(dest or artifact.name, artifact.data, chunk_size=512,
                                        progress_callback=report)
        except (TransportError, OSError) as exc:
            raise DeviceError(f"writing {dest or artifact.name}: {exc}") from None

    def sha256(self, name: str) -> bytes:
        try:
            return bytes(self.transport.fs_hashfile(name, "sha256"))
        except (TransportError, OSError) as exc:
            raise DeviceError(f"hashing {name}: {exc}") from None

    def exec(self, code: str) -> str:
        try:
            return self.transport.exec(code).decode(errors="replace")
        except TransportExecError as exc:
            raise DeviceError(f"device error: {exc.error_output.strip()}") from None
        except (TransportError, OSError) as exc:       # the line went away
            raise DeviceError(f"device lost: {exc}") from None

    def eval_json(self, expression: str) -> Any:
        """The value of a device-side expression, carried as one line of JSON."""
        out = self.exec(f"import json\nprint(json.dumps({expression}))").strip()
        try:
            return json.loads(out.splitlines()[-1])
        except (ValueError, IndexError):
            raise DeviceError(f"unexpected answer from the device: {out[:200]!r}") from None

    def reset(self) -> None:
        """Hard reset into the monitor; the device drops the line, so nothing to read."""
        try:
            self.transport.exec_raw_no_follow("import machine\nmachine.reset()")
        except TransportError:
            pass

    def close(self) -> None:
        try:
            self.transport.exit_raw_repl()
        except (TransportError, OSError, serial.SerialException):
            pass
        try:
            self.transport.close()
        except (OSError, serial.SerialException):      # unplugged: nothing left to close
            pass


__all__ = ["CONFIG_NAME", "DeviceError", "RawRepl", "ask_hello", "request_maintenance"]
