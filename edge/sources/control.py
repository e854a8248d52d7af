"""The control file of `seatwatch analyze`: call-control signals beside a recording.

    {"events": [{"t": 0.0, "type": "ring"}, {"t": 4.2, "type": "off_hook"}, ...]}

`t` is seconds from the start of the file. Without a control file the whole file is
one call: off-hook at 0, on-hook at the end.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from seatwatch.edge.sources.base import CONTROL_KINDS, ControlEvent


class ControlFileError(ValueError):
    pass


def parse_control(obj: object, duration_s: float, rate: int, source: str = "control") -> list[ControlEvent]:
    if not isinstance(obj, dict) or not isinstance(obj.get("events"), list):
        raise ControlFileError(f"{source}: expected an object with an \"events\" list")
    out: list[ControlEvent] = []
    for index, item in enumerate(obj["events"]):
        where = f"{source}: events[{index}]"
        if not isinstance(item, dict):
            raise ControlFileError(f"{where}: not an object")
        kind, t = item.get("type"), item.get("t")
        if kind not in CONTROL_KINDS:
            raise ControlFileError(f"{where}: type {kind!r} is not one of {', '.join(CONTROL_KINDS)}")
        # a JSON integer of hundreds of digits overflows float(): refuse it like inf
        if (isinstance(t, bool) or not isinstance(t, (int, float)) or abs(t) > 1e300
                or not math.isfinite(t) or t < 0):
            raise ControlFileError(f"{where}: t must be a non-negative number of seconds")
        if t > duration_s + 1.0:
            raise ControlFileError(f"{where}: t={t} is after the end of the audio ({duration_s:.1f} s)")
        out.append(ControlEvent(sample=min(round(t * rate), round(duration_s * rate)), kind=kind))
    out.sort(key=lambda e: e.sample)  # stable: same-time events keep file order
    return out


def load_control(path: str | Path, duration_s: float, rate: int) -> list[ControlEvent]:
    file = Path(path)
    try:
        obj = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ControlFileError(f"{file}: no such file") from None
    except (OSError, ValueError, RecursionError) as exc:   # ValueError: bad UTF-8 or JSON,
        # and integers over Python's 4300-digit limit; RecursionError: deep nesting
        raise ControlFileError(f"{file}: not a readable JSON file ({exc})") from None
    return parse_control(obj, duration_s, rate, str(file))


def whole_file_call(duration_s: float, rate: int) -> list[ControlEvent]:
    return [ControlEvent(0, "off_hook"), ControlEvent(round(duration_s * rate), "on_hook")]
