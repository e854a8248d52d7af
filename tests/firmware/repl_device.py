"""A software device on a pty that answers MicroPython's REPL protocol.

It starts like a board running the seatwatch monitor (ignores Ctrl-C, answers protocol
frames; a maintenance reboot command drops it into the REPL), then speaks the friendly
and raw REPL as MicroPython does: Ctrl-A raw mode, code ended by Ctrl-D answered with
"OK", output, 0x04, error output, 0x04, ">"; raw-paste requests are declined ("R\\x00").
Code runs in a persistent namespace whose `open` and `os` see a directory standing in
for the board's flash, so mpremote's file transfer and hashing run unmodified.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import threading
import traceback
import tty
import types
from pathlib import Path

from edge.link.framing import protocol as P

BANNER = b"raw REPL; CTRL-B to exit\r\n>"


class Reset(Exception):
    pass


class RawReplDevice:
    def __init__(self, flash: Path, *, monitor: bool = True, corrupt: str | None = None) -> None:
        self.flash = flash
        self.mode = "monitor" if monitor else "friendly"
        self.corrupt = corrupt              # file name whose writes get one byte flipped
        self.resets = 0
        self.executed: list[str] = []
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self._slave = slave
        # a symlink, as udev gives (/dev/serial/by-id/...): mpremote blocks forever reading
        # a /dev/pts path (it expects QEMU there), but polls any other port
        link = flash.parent / "ttyREPL"
        if link.is_symlink():
            link.unlink()
        link.symlink_to(os.ttyname(slave))
        self.port = str(link)
        self._buf = bytearray()
        self._deframer = P.Deframer()
        self._ns: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> RawReplDevice:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self._slave)

    # --- wire ------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if self.mode == "monitor":
                self._monitor(data)
            elif self.mode != "dead":
                for byte in data:
                    self._repl_byte(byte)

    def _monitor(self, data: bytes) -> None:
        for raw in self._deframer.feed(data):
            try:
                _, ptype, seq, _, payload = P.decode_frame(raw)
            except P.FrameError:
                continue
            if ptype == P.T_INFO:
                self._send(P.encode_frame(P.T_HELLO, 0, 0, P.pack_hello(
                    16000, 160, 1, 640, "0.1.0", "sim", "REPL-DEV", "?")))
            elif ptype == P.T_REBOOT and P.unpack_reboot(payload) == P.REBOOT_MAINTENANCE:
                self._send(P.encode_frame(P.T_ACK, 1, 0, P.pack_ack(ptype, seq, P.ACK_OK)))
                self.mode = "friendly"
                self._send(b"seatwatch: maintenance mode, REPL left open\r\n>>> ")

    def _repl_byte(self, byte: int) -> None:
        if self.mode == "friendly":
            if byte == 0x01:
                self.mode = "raw"
                self._buf.clear()
                self._send(b"\r\n" + BANNER)
            elif byte == 0x03:
                self._send(b"\r\n>>> ")
            return
        # raw mode
        if byte == 0x02:
            self.mode = "friendly"
            self._send(b"\r\nMicroPython (software device)\r\n>>> ")
        elif byte == 0x03:
            self._buf.clear()
        elif byte == 0x01:
            self._buf.clear()
            self._send(b"\r\n" + BANNER)
        elif byte == 0x04:
            code = bytes(self._buf).decode()
            self._buf.clear()
            if code == "":
                self._send(b"OK\x04\x04>")
                return
            self._send(b"OK")
            self._execute(code)
        else:
            self._buf.append(byte)
            if self._buf.endswith(b"\x05A\x01"):           # raw-paste request
                del self._buf[-3:]
                self._send(b"R\x00")

    def _execute(self, code: str) -> None:
        self.executed.append(code)
        out = io.StringIO()
        err = ""
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(code, "<stdin>", "exec"), self._namespace())
        except Reset:
            self.resets += 1
            self.mode = "monitor"
            return
        except Exception as exc:                     # reported to the host like MicroPython does
            err = "Traceback (most recent call last):\r\n" + "".join(
                traceback.format_exception_only(type(exc), exc)).replace("\n", "\r\n")
        self._send(out.getvalue().replace("\n", "\r\n").encode() + b"\x04" + err.encode() + b"\x04>")

    # --- sandbox ---------------------------------------------------------------------
    def _path(self, path: str) -> Path:
        rel = Path(str(path).lstrip("/"))
        if ".." in rel.parts:
            raise OSError(1, "EPERM")
        return self.flash / rel

    def _namespace(self) -> dict[str, object]:
        if self._ns:
            return self._ns
        device = self

        class Flash(io.FileIO):
            def write(self, data):                    # type: ignore[override]
                if device.corrupt and Path(self.name).name == device.corrupt and len(data) > 10:
                    data = bytes([data[0] ^ 0xFF]) + bytes(data[1:])
                return super().write(data)

        def fopen(path, mode="r"):
            target = device._path(path)
            if "b" in mode:
                return Flash(target, mode.replace("b", "")) if "w" in mode else open(target, mode)
            return open(target, mode)

        fake_os = types.SimpleNamespace(
            stat=lambda p: tuple(os.stat(device._path(p)))[:10],
            remove=lambda p: os.remove(device._path(p)),
            rename=lambda a, b: os.rename(device._path(a), device._path(b)),
            mkdir=lambda p: os.mkdir(device._path(p)),
            listdir=lambda p="": sorted(os.listdir(device._path(p))),
            ilistdir=lambda p="": [(n, 0x8000, 0, os.path.getsize(device._path(p) / n))
                                   for n in sorted(os.listdir(device._path(p)))],
            getcwd=lambda: "/",
        )

        def reset():
            raise Reset

        fake_machine = types.SimpleNamespace(reset=reset, unique_id=lambda: b"\x01\x02\x03\x04")
        real_import = __import__

        def guarded_import(name, *args, **kwargs):
            if name == "os":
                return fake_os
            if name == "machine":
                return fake_machine
            return real_import(name, *args, **kwargs)

        builtins = dict(__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__))
        builtins["open"] = fopen
        builtins["__import__"] = guarded_import
        self._ns = {"__builtins__": builtins}
        return self._ns
