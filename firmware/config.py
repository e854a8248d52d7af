# Device configuration kept on flash as JSON (written by `seatwatch firmware flash`).
# A missing or corrupt file never stops the device: it runs on defaults and says so
# in `problem`, which the hello packet's seat id ("?") makes visible at the edge.

import json

PATH = "seatwatch.json"
DEFAULTS = {
    "seat": "?",            # seat id the technician assigned
    "gain": [0, 0],         # mic, earpiece gain in 6 dB steps
    "heartbeat_ms": 1000,   # heartbeat period
}
GAIN_STEPS = 4              # largest |gain| accepted (24 dB)
# The seat id rule of the event contract (seatwatch/contracts/events.py valid_ident, docs/events.md):
# an id the edge would refuse is not taken; the device runs as seat "?" and says why.
SEAT_RULE = "1 to 64 characters: letters A-Z/a-z, digits, '.' or '-', starting with a letter or digit"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def valid_seat(seat):
    if not isinstance(seat, str) or not 1 <= len(seat) <= 64 or seat[0] not in _ALNUM:
        return False
    for ch in seat:
        if ch not in _ALNUM and ch != "." and ch != "-":
            return False
    return True


class Config:
    def __init__(self, values=None, problem=None):
        merged = {}
        for key in DEFAULTS:
            merged[key] = DEFAULTS[key]
        if values:
            for key in DEFAULTS:
                if key in values:
                    merged[key] = values[key]
        seat = merged["seat"]
        if not valid_seat(seat):
            if values and "seat" in values:
                problem = problem or ("config: seat id %r is not valid (%s)" % (seat, SEAT_RULE))
            seat = DEFAULTS["seat"]
        self.seat = seat
        self.gain = _gain(merged["gain"])
        self.heartbeat_ms = _positive(merged["heartbeat_ms"], DEFAULTS["heartbeat_ms"])
        self.problem = problem

    def to_dict(self):
        return {"seat": self.seat, "gain": [self.gain[0], self.gain[1]],
                "heartbeat_ms": self.heartbeat_ms}


def _gain(value):
    try:
        mic, ear = int(value[0]), int(value[1])
    except (TypeError, ValueError, IndexError):
        return (0, 0)
    if abs(mic) > GAIN_STEPS or abs(ear) > GAIN_STEPS:
        return (0, 0)
    return (mic, ear)


def _positive(value, default):
    try:
        value = int(value)
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


def parse(text):
    """JSON text -> Config; anything unreadable gives defaults with a problem noted."""
    try:
        values = json.loads(text)
    except ValueError:
        return Config(None, "config: not valid JSON")
    if not isinstance(values, dict):
        return Config(None, "config: not a JSON object")
    return Config(values)


def load(path=PATH):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return Config(None, "config: %s missing" % path)
    return parse(text)


def save(config, path=PATH):
    # write then rename, so a reset mid-write leaves the old file intact
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(config.to_dict()))
    import os
    os.rename(tmp, path)
