"""The edge daemon's configuration (TOML): where to publish, and which seats to serve.

    site = "hq"
    edge = "pi-floor2"
    broker = "mqtts://edge-pi-floor2@broker.example:8883"   # password: password_file
    password_file = "/etc/seatwatch/broker.pass"
    tls_ca = "/etc/seatwatch/ca.crt"
    state_dir = "/var/lib/seatwatch"
    policy = "/etc/seatwatch/12333.toml"

    [[seat]]
    id = "A01"
    source = "serial:/dev/serial/by-id/usb-seatwatch_E6614103E7-if00"
    agent = "agent-0042"
    headset = "generic"

With `seat_map = "seats.toml"` (edge/flashing/seatmap.py, shared with `seatwatch firmware
flash/info --map`), a [[seat]] without `source` is its mapped device, found by USB serial
number under /dev/serial/by-id (source `usb:SERIAL`); with no [[seat]] at all, every
mapped seat is served.

Errors name the file, the key and the reason.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seatwatch.contracts.events import ident_error, valid_ident
from seatwatch.edge.publish.mqtt import BrokerUrl, BrokerUrlError, TlsFiles


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class SeatConfig:
    id: str                          # seat id (topic level)
    source: str                      # serial:PORT | usb:SERIAL | wav:FILE | alsa:DEVICE
    agent: str | None = None         # agent id for reports and the hearing dose
    headset: str = "generic"         # calibration profile (hardware/calibration/NAME.toml)
    control: str | None = None       # control JSON for wav sources
    loop: bool = False               # replay a wav source forever
    realtime: bool = True            # pace a wav source like a live device
    offset_s: float = 0.0            # start a wav source this far in, wrapping around (s)


@dataclass(frozen=True)
class EdgeConfig:
    site: str
    broker: BrokerUrl
    seats: tuple[SeatConfig, ...]
    edge: str = "edge"
    tls: TlsFiles = field(default_factory=TlsFiles)
    state_dir: Path = Path("var")
    policy: Path | None = None
    metrics_interval_s: float = 1.0  # how often each seat publishes metrics (s)
    outbox_max_events: int = 100_000  # per seat; see docs/mqtt.md for the drop policy


_TOP = {"site", "edge", "broker", "password_file", "tls_ca", "tls_cert", "tls_key",
        "state_dir", "policy", "metrics_interval_s", "outbox_max_events", "seat", "seat_map"}
_SEAT = {"id", "source", "agent", "headset", "control", "loop", "realtime", "offset_s"}


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}: expected {what}")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    return value


def _seconds(value: Any, where: str) -> float:
    """A finite number of seconds (TOML has nan and inf; huge integers overflow float)."""
    number = _expect(value, (int, float), where, "seconds")
    try:
        number = float(number)
    except OverflowError:
        raise ConfigError(f"{where}: {value!r} is too large") from None
    if not math.isfinite(number):
        raise ConfigError(f"{where}: expected a finite number of seconds, got {number!r}")
    return number


def parse_config(text: str, source: str = "<config>", base: Path | None = None) -> EdgeConfig:
    base = base or Path.cwd()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except RecursionError:   # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{source}: arrays or tables nested too deeply") from None
    unknown = set(doc) - _TOP
    if unknown:
        key = sorted(unknown)[0]
        near = difflib.get_close_matches(key, sorted(_TOP), n=1)
        raise ConfigError(f"{source}: {key}: unknown key"
                          + (f" (did you mean {near[0]}?)" if near else
                             f" (known: {', '.join(sorted(_TOP))})"))
    for key in ("site", "broker"):
        if key not in doc:
            raise ConfigError(f"{source}: {key}: missing (" + (
                'the site id, e.g. site = "hq")' if key == "site"
                else 'e.g. broker = "mqtt://broker.example:1883")'))

    def path(key: str) -> Path | None:
        if key not in doc:
            return None
        text = _expect(doc[key], str, f"{source}: {key}", "a path")
        if "\0" in text:
            raise ConfigError(f"{source}: {key}: a path cannot contain a NUL character")
        value = Path(text)
        return value if value.is_absolute() else base / value

    site = _expect(doc.get("site"), str, f"{source}: site", "a site id")
    if not valid_ident(site):
        raise ConfigError(f"{source}: site: {ident_error(site, 'site id')}")
    try:
        broker = BrokerUrl.parse(_expect(doc.get("broker"), str, f"{source}: broker",
                                         "a broker URL"))
    except BrokerUrlError as exc:
        raise ConfigError(f"{source}: broker: {exc}") from None
    password_file = path("password_file")
    if password_file is not None:
        try:
            password = password_file.read_text().strip()
        except OSError as exc:
            raise ConfigError(f"{source}: password_file: cannot read ({exc})") from None
        broker = BrokerUrl(broker.host, broker.port, broker.tls, broker.username, password)
    seats = []
    raw_seats = doc.get("seat", [])
    seat_map: dict[str, str] = {}
    map_path = path("seat_map")
    if map_path is not None:
        from seatwatch.edge.flashing.seatmap import SeatMapError
        from seatwatch.edge.flashing.seatmap import load as load_seat_map
        try:
            seat_map = load_seat_map(map_path).seats
        except SeatMapError as exc:
            raise ConfigError(f"{source}: seat_map: {exc}") from None
        if "seat" not in doc:        # every mapped seat, served by its device
            raw_seats = [{"id": seat} for seat in seat_map]
    if isinstance(raw_seats, dict):
        raise ConfigError(f"{source}: seat: write [[seat]] (one table per seat), not [seat]")
    if not isinstance(raw_seats, list) or not raw_seats:
        raise ConfigError(f"{source}: seat: at least one [[seat]] table is needed")
    for index, raw in enumerate(raw_seats):
        where = f"{source}: seat[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: expected a table")
        extra = set(raw) - _SEAT
        if extra:
            key = sorted(extra)[0]
            near = difflib.get_close_matches(key, sorted(_SEAT), n=1)
            raise ConfigError(f"{where}.{key}: unknown key"
                              + (f" (did you mean {near[0]}?)" if near else
                                 f" (known: {', '.join(sorted(_SEAT))})"))
        seat_id = _expect(raw.get("id"), str, f"{where}.id", "a seat id")
        if not valid_ident(seat_id):
            raise ConfigError(f"{where}.id: {ident_error(seat_id)}")
        if "source" not in raw and seat_id in seat_map:
            raw = {**raw, "source": f"usb:{seat_map[seat_id]}"}   # found by its USB serial
        elif "source" not in raw and map_path is not None:
            raise ConfigError(f"{where}.source: missing, and seat {seat_id} is not in "
                              f"the seat map {map_path}")
        src = _expect(raw.get("source"), str, f"{where}.source",
                      "serial:PORT, usb:SERIAL, wav:FILE or alsa:DEV")
        if src.split(":", 1)[0] not in ("serial", "usb", "wav", "alsa") or ":" not in src:
            raise ConfigError(f"{where}.source: {src!r} is not serial:PORT, usb:SERIAL, wav:FILE "
                              "or alsa:DEV")
        if not src.split(":", 1)[1].strip():
            raise ConfigError(f"{where}.source: {src!r} names no port, file or device after "
                              f"'{src.split(':', 1)[0]}:'")
        seats.append(SeatConfig(
            id=seat_id, source=src,
            agent=_expect(raw["agent"], str, f"{where}.agent", "a string") if "agent" in raw else None,
            headset=_expect(raw.get("headset", "generic"), str, f"{where}.headset", "a name"),
            control=_expect(raw["control"], str, f"{where}.control", "a path") if "control" in raw else None,
            loop=_expect(raw.get("loop", False), bool, f"{where}.loop", "true or false"),
            realtime=_expect(raw.get("realtime", True), bool, f"{where}.realtime", "true or false"),
            offset_s=_seconds(raw.get("offset_s", 0.0), f"{where}.offset_s")))
    ids = [s.id for s in seats]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: seat: duplicate seat id")
    interval = _expect(doc.get("metrics_interval_s", 1.0), (int, float),
                       f"{source}: metrics_interval_s", "seconds")
    max_events = _expect(doc.get("outbox_max_events", 100_000), int,
                         f"{source}: outbox_max_events", "a whole number")
    interval = _seconds(interval, f"{source}: metrics_interval_s")
    if interval <= 0 or max_events < 100:
        raise ConfigError(f"{source}: metrics_interval_s must be > 0 and outbox_max_events >= 100")
    edge = _expect(doc.get("edge", "edge"), str, f"{source}: edge", "an edge id")
    tls_paths = {k: path(k) for k in ("tls_ca", "tls_cert", "tls_key")}
    return EdgeConfig(site=site, broker=broker, seats=tuple(seats), edge=edge,
                      tls=TlsFiles(*(str(p) if p else None for p in tls_paths.values())),
                      state_dir=path("state_dir") or base / "var", policy=path("policy"),
                      metrics_interval_s=float(interval), outbox_max_events=max_events)


def load_config(path: str | Path) -> EdgeConfig:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read ({exc})") from None
    return parse_config(text, str(file), file.resolve().parent)
