"""Headset calibration profiles (hardware/calibration/NAME.toml): dBFS -> dB SPL.

The device measures digital levels; the hearing-safety and volume rules reason in
sound pressure. A profile holds, per channel, the dB SPL of a full-scale sine.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

CALIBRATION_DIR = Path(__file__).resolve().parents[1] / "hardware" / "calibration"


class CalibrationError(ValueError):
    pass


@dataclass(frozen=True)
class Calibration:
    name: str
    mic_spl_at_0_dbfs: float        # dB SPL at the mouth reference point for a 0 dBFS mic sine
    ear_spl_at_0_dbfs: float        # dB SPL at the ear reference point for a 0 dBFS earpiece sine
    measured: bool                  # False: nominal figures, not a lab measurement

    def mic_db_spl(self, dbfs: float) -> float:
        return dbfs + self.mic_spl_at_0_dbfs

    def ear_db_spl(self, dbfs: float) -> float:
        return dbfs + self.ear_spl_at_0_dbfs


def profiles(directory: Path = CALIBRATION_DIR) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.toml"))


def load_calibration(name: str = "generic", directory: Path = CALIBRATION_DIR) -> Calibration:
    path = directory / f"{name}.toml"
    if not path.exists():
        raise CalibrationError(f"headset profile {name!r} not found in {directory} "
                               f"(known: {', '.join(profiles(directory))})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        mic = float(data["mic"]["spl_at_0_dbfs"])
        ear = float(data["earpiece"]["spl_at_0_dbfs"])
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CalibrationError(f"{path}: needs [mic] and [earpiece] spl_at_0_dbfs numbers ({exc})") from None
    for channel, value in (("mic", mic), ("earpiece", ear)):
        if not 80.0 <= value <= 140.0:
            raise CalibrationError(f"{path}: {channel}.spl_at_0_dbfs = {value} is outside 80..140 dB SPL")
    return Calibration(name, mic, ear, bool(data.get("measured", False)))
