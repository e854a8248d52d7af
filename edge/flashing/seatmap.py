"""A floor's devices: which serial ports are attached, and the seat map (seat -> device).

The seat map is one small TOML file shared by `seatwatch firmware flash/info --map` and
the edge config (`seat_map = "seats.toml"`; a [[seat]] without `source` is found by its
device's USB serial number):

    # seat = USB serial number of its inline device (`seatwatch firmware list`)
    [seat]
    A01 = "E6614103E7452D2F"
    A02 = "E6614103E74A1B22"

Devices are found under /dev/serial/by-id (udev's stable names, which carry the USB
serial number: usb-MicroPython_Board_in_FS_mode_E6614103E7452D2F-if00); the folder can
be moved with SEATWATCH_BY_ID_DIR (tests, other distributions).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from seatwatch.contracts.events import ident_error

BY_ID_DIR = "/dev/serial/by-id"
# usb-{vendor}_{product}_{serial}-if{NN}: the serial is the last '_' field
_BY_ID = re.compile(r"^usb-(?P<name>.*)_(?P<serial>[^_]+)-if(?P<iface>[0-9A-Fa-f]{2})(-port\d+)?$")
_SERIAL = re.compile(r"^[A-Za-z0-9.-]{1,64}$")


class SeatMapError(ValueError):
    pass


@dataclass(frozen=True)
class Attached:
    port: str              # the stable path to open (/dev/serial/by-id/...)
    serial: str            # USB serial number
    name: str              # vendor_product as udev wrote it
    target: str            # the tty it points to (/dev/ttyACM0)


def by_id_dir() -> Path:
    return Path(os.environ.get("SEATWATCH_BY_ID_DIR") or BY_ID_DIR)


def attached() -> list[Attached]:
    """Serial devices plugged in now, by their stable by-id names (sorted by serial)."""
    folder = by_id_dir()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    found = []
    for name in names:
        match = _BY_ID.match(name)
        if not match or match["iface"] != "00":        # a CDC device's data interface
            continue
        path = folder / name
        try:
            target = os.path.realpath(path)
        except OSError:
            continue
        if not os.path.exists(target):
            continue                                    # a link left by an unplugged device
        found.append(Attached(str(path), match["serial"], match["name"], target))
    return sorted(found, key=lambda a: a.serial)


def port_of(serial: str) -> str | None:
    """The by-id port of the device with this USB serial number, if it is attached."""
    return next((a.port for a in attached() if a.serial == serial), None)


@dataclass(frozen=True)
class SeatMap:
    seats: dict[str, str]           # seat id -> device serial, in file order
    path: Path | None = None

    def seat_of(self, serial: str) -> str | None:
        return next((seat for seat, s in self.seats.items() if s == serial), None)


def parse(text: str, where: str = "<seat map>") -> SeatMap:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SeatMapError(f"{where}: not TOML ({exc})") from None
    if set(doc) - {"seat"}:
        raise SeatMapError(f"{where}: {sorted(set(doc) - {'seat'})[0]}: unknown key "
                           "(a seat map is one [seat] table: A01 = \"SERIAL\")")
    table = doc.get("seat")
    if not isinstance(table, dict) or not table:
        raise SeatMapError(f"{where}: no [seat] table (write [seat] then A01 = \"SERIAL\" lines)")
    seats: dict[str, str] = {}
    owners: dict[str, str] = {}
    for seat, serial in table.items():
        problem = ident_error(seat)
        if problem:
            raise SeatMapError(f"{where}: seat.{seat}: {problem}")
        if not isinstance(serial, str) or not _SERIAL.match(serial):
            raise SeatMapError(f"{where}: seat.{seat}: {serial!r} is not a device serial number "
                               "(letters, digits, '.', '-'; see `seatwatch firmware list`)")
        if serial in owners:
            raise SeatMapError(f"{where}: seat.{seat}: device {serial} is already seat "
                               f"{owners[serial]}")
        seats[seat], owners[serial] = serial, seat
    return SeatMap(seats)


def load(path: str | Path) -> SeatMap:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SeatMapError(f"{file}: no such seat map") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SeatMapError(f"{file}: cannot read ({exc})") from None
    seat_map = parse(text, str(file))
    return SeatMap(seat_map.seats, file)


def render(seats: dict[str, str]) -> str:
    lines = ["# seat = USB serial number of its inline device (`seatwatch firmware list`)",
             "[seat]"]
    lines += [f'{seat} = "{serial}"' for seat, serial in seats.items()]
    return "\n".join(lines) + "\n"
