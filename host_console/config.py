"""The console's configuration file (TOML); command-line flags override it.

    broker = "mqtts://supervisor-lin@broker.example:8883"
    tls_ca = "/etc/seatwatch/ca.crt"
    site = "hq"
    user = "lin"
    read_only = false
    db = "/var/lib/seatwatch/console.db"
    stale_after_s = 30

    [roster.A01]            # who sits where: names and teams for the floor and reports
    agent = "王芳"
    team = "pension"

Errors name the file, the key and the reason.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seatwatch.contracts.events import ident_error, valid_ident


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ConsoleConfig:
    broker: str | None = None
    """Broker URL, mqtt[s]://[user@]host[:port]."""
    tls_ca: str | None = None
    """CA bundle that signed the broker's certificate (mqtts://)."""
    site: str | None = None
    """Site to watch; None: every site."""
    user: str | None = None
    """Name shown on acknowledgements."""
    read_only: bool = False
    """Wall display: no acknowledgements."""
    db: str | None = None
    """SQLite history file."""
    stale_after_s: float | None = None
    """Seconds without a heartbeat before a seat is shown offline."""
    roster: dict[str, dict[str, str]] = field(default_factory=dict)
    """Seat id -> {"agent": name, "team": team}."""


_TYPES: dict[str, tuple[type, ...]] = {
    "broker": (str,), "tls_ca": (str,), "site": (str,), "user": (str,), "read_only": (bool,),
    "db": (str,), "stale_after_s": (int, float), "roster": (dict,)}


def load(path: str | Path) -> ConsoleConfig:
    where = Path(path)
    try:
        raw: dict[str, Any] = tomllib.loads(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: not TOML ({exc})") from None
    for key, value in raw.items():
        if key not in _TYPES:
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(_TYPES)})")
        if not isinstance(value, _TYPES[key]) or (isinstance(value, bool) and bool not in _TYPES[key]):
            raise ConfigError(f"{where}: {key}: expected {' or '.join(t.__name__ for t in _TYPES[key])}")
    if "stale_after_s" in raw and raw["stale_after_s"] <= 0:
        raise ConfigError(f"{where}: stale_after_s: must be positive")
    if "site" in raw and not valid_ident(raw["site"]):
        raise ConfigError(f"{where}: site: {ident_error(raw['site'], 'site id')}")
    roster: dict[str, dict[str, str]] = {}
    for seat, info in raw.get("roster", {}).items():
        if not valid_ident(seat):
            raise ConfigError(f"{where}: roster: {ident_error(seat)}")
        if not isinstance(info, dict) or set(info) - {"agent", "team"} or not all(
                isinstance(v, str) for v in info.values()):
            raise ConfigError(f"{where}: roster.{seat}: expected agent = \"...\" and team = \"...\"")
        roster[seat] = dict(info)
    return ConsoleConfig(**{**raw, "roster": roster})
