"""Headset calibration profiles (hardware/calibration/*.toml): dBFS on a tap -> dB SPL."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from seatwatch.edge.resources import data_dir

CALIBRATION_DIR = data_dir("hardware") / "calibration"


class CalibrationError(ValueError):
    pass


@dataclass(frozen=True)
class HeadsetProfile:
    name: str
    description: str
    ear_db_spl_at_0dbfs: float
    mic_db_spl_at_0dbfs: float


def load_profile(name: str, folder: Path = CALIBRATION_DIR) -> HeadsetProfile:
    path = folder / f"{name}.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in folder.glob("*.toml"))) or "none"
        raise CalibrationError(f"headset profile {name!r} not found in {folder} (known: {known})") from None
    except tomllib.TOMLDecodeError as exc:
        raise CalibrationError(f"{path}: {exc}") from None
    try:
        profile = HeadsetProfile(str(doc["name"]), str(doc.get("description", "")),
                                 float(doc["ear_db_spl_at_0dbfs"]), float(doc["mic_db_spl_at_0dbfs"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{path}: missing or invalid key {exc}") from None
    if profile.name != name:
        raise CalibrationError(f"{path}: name {profile.name!r} does not match the file name")
    for key in ("ear_db_spl_at_0dbfs", "mic_db_spl_at_0dbfs"):
        if not 60.0 <= getattr(profile, key) <= 160.0:
            raise CalibrationError(f"{path}: {key} = {getattr(profile, key)} is outside 60..160 dB SPL")
    return profile
