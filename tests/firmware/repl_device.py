"""A software device on a pty that answers MicroPython's REPL protocol.

It starts like a board running the seatwatch monitor (ignores Ctrl-C, answers protocol
frames; a maintenance reboot command drops it into the REPL), then speaks the friendly
and raw REPL as MicroPython does: Ctrl-A raw mode, code ended by Ctrl-D answered with
"OK", output, 0x04, error output, 0x04, ">"; raw-paste mode with its flow control, as
MicroPython boards have it (`paste=False` declines it, "R\\x00", as older firmware does;
mpremote then sends 256 bytes per 10 ms).
Code runs in a persistent namespace whose `open` and `os` see a directory standing in
for the board's flash, so mpremote's file transfer and hashing run unmodified.
`hangup_after=N` pulls the cable once N bytes of file data have reached the flash: the
write in progress is cut there and the pty closes, as a USB unplug mid-copy does.
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

from seatwatch.edge.link.framing import load
from seatwatch.edge.link.framing import protocol as P

BANNER = b"raw REPL; CTRL-B to exit\r\n>"
PASTE_WINDOW = 128                      # raw-paste flow-control window (MicroPython's size)


class Reset(Exception):
    pass


class Hangup(Exception):
    pass


class RawReplDevice:
    def __init__(self, flash: Path, *, monitor: bool = True, corrupt: str | None = None,
                 hangup_after: int | None = None, paste: bool = True) -> None:
        self.flash = flash
        self.paste = paste
        self._pasted = 0                    # raw-paste bytes since the last window grant
        self.pastes = 0                     # commands that came in raw-paste mode
        self.mode = "monitor" if monitor else "friendly"
        self.corrupt = corrupt              # file name whose writes get one byte flipped
        self.hangup_after = hangup_after    # bytes of file data before the cable is pulled
        self.file_bytes = 0                 # file data written so far
        self.cut_file: str | None = None    # the file being written when the cable went
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
        for fd in (self.master, self._slave):
            try:
                os.close(fd)
            except OSError:                          # already closed by a hangup
                pass

    # --- wire ------------------------------------------------------------------------
    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.master, view)
            view = view[n:]

    def _run(self) -> None:
        while not self._stop.is_set() and self.mode != "unplugged":
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
                self._send(P.encode_frame(P.T_HELLO, 0, 0, self._hello()))
            elif ptype == P.T_REBOOT and P.unpack_reboot(payload) == P.REBOOT_MAINTENANCE:
                self._send(P.encode_frame(P.T_ACK, 1, 0, P.pack_ack(ptype, seq, P.ACK_OK)))
                self.mode = "friendly"
                self._send(b"seatwatch: maintenance mode, REPL left open\r\n>>> ")

    def _hello(self) -> bytes:
        """The hello main.py would send from this flash: the slot the loader chooses,
        the version in its manifest, what is kept for rollback. A flash without
        slots says what firmware 0.1.x said."""
        choice = load("slots").select(str(self.flash))
        if choice.pointer is None:
            return P.pack_hello(16000, 160, 1, 640, "0.1.0", "sim", "REPL-DEV", "?")
        update = (choice.slot or "", choice.previous or "", choice.problem or "")
        return P.pack_hello(16000, 160, 1, 640, choice.version or "?", "sim", "REPL-DEV", "?",
                            update=update)

    def _repl_byte(self, byte: int) -> None:
        if self.mode == "unplugged":
            return
        if self.mode == "friendly":
            if byte == 0x01:
                self.mode = "raw"
                self._buf.clear()
                self._send(b"\r\n" + BANNER)
            elif byte == 0x03:
                self._send(b"\r\n>>> ")
            return
        if self.mode == "paste":
            if byte == 0x04:                                 # end of the pasted code
                self.mode = "raw"
                code = bytes(self._buf).decode()
                self._buf.clear()
                self._send(b"\x04")
                self._execute(code)
                return
            self._buf.append(byte)
            self._pasted += 1
            if self._pasted == PASTE_WINDOW:                  # room for one more window
                self._pasted = 0
                self._send(b"\x01")
            return
        # raw mode
        if byte == 0x02:
            self.mode = "friendly"
            self._send(b"\r\nMicroPython (software device)\r\n>>> ")
        elif byte == 0x03:
            self._buf.clear()
        elif byte == 0x01 and self._buf.endswith(b"\x05A"):    # raw-paste request
            del self._buf[-2:]
            if not self.paste:
                self._send(b"R\x00")
                return
            self.mode = "paste"
            self.pastes += 1
            self._pasted = 0
            self._send(b"R\x01" + PASTE_WINDOW.to_bytes(2, "little"))
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
        except Hangup:
            # closing the master hangs up the host's side: its next read or write fails
            self.mode = "unplugged"
            os.close(self.master)
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
                if device.hangup_after is not None:
                    room = device.hangup_after - device.file_bytes
                    if len(data) > room:
                        super().write(bytes(data[:room]))
                        device.file_bytes += room
                        device.cut_file = str(Path(self.name).relative_to(device.flash))
                        raise Hangup
                device.file_bytes += len(data)
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
