"""A 38-minute stereo recording for the cost figures of issue 12.

The shipped scenario calls (scenarios/rendered/*.ogg, every norm) back to back, cycled
until the recording lasts `minutes`, with each call's control signals shifted to where
it sits: one `seatwatch analyze` run then costs what a seat's 38 minutes of calls cost
(the rings and the few seconds between off-hook and on-hook included).

    python -m bench.long_call [--minutes 38] [--out DIR]   # prints the WAV and JSON paths

The files are cached in DIR (default: a folder in the system temp dir) and only
rebuilt when a scenario call changes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
RENDERED = ROOT / "scenarios" / "rendered"
RATE = 16_000
DEFAULT_DIR = Path(tempfile.gettempdir()) / "seatwatch-long-call"


def scenario_calls() -> list[Path]:
    return sorted(p.with_suffix(".ogg") for p in RENDERED.glob("*.json")
                  if p.with_suffix(".ogg").exists())


def build(minutes: float = 38.0, out: Path = DEFAULT_DIR) -> tuple[Path, Path]:
    """(stereo 16 kHz int16 WAV, control JSON) of at least `minutes` of calls."""
    calls = scenario_calls()
    key = hashlib.sha256(repr((minutes, [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                         for p in calls])).encode()).hexdigest()[:12]
    wav, ctrl = out / f"long-{key}.wav", out / f"long-{key}.json"
    if wav.exists() and ctrl.exists():
        return wav, ctrl
    out.mkdir(parents=True, exist_ok=True)
    parts: list[np.ndarray] = []
    events: list[dict[str, object]] = []
    at = 0
    index = 0
    while at < minutes * 60 * RATE:
        path = calls[index % len(calls)]
        index += 1
        data, rate = sf.read(str(path), dtype="int16", always_2d=True)
        if rate != RATE or data.shape[1] != 2:
            raise ValueError(f"{path}: expected 16 kHz stereo")
        doc = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        for event in doc["events"]:
            t = min(float(event["t"]), len(data) / RATE)
            events.append({"t": round(at / RATE + t, 6), "type": event["type"]})
        parts.append(data)
        at += len(data)
    tmp = wav.with_suffix(".tmp.wav")
    sf.write(str(tmp), np.concatenate(parts), RATE, subtype="PCM_16")
    tmp.replace(wav)
    ctrl.write_text(json.dumps({"events": events}, indent=0) + "\n", encoding="utf-8")
    return wav, ctrl


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=38.0)
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    wav, ctrl = build(args.minutes, args.out)
    print(wav)
    print(ctrl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
