"""Daily noise dose per agent (NIOSH REL or EU 2003/10/EC), persisted across restarts.

Dose is the sum over time of dt / T(L), with T(L) = reference_h / 2^((L - criterion) / exchange)
the time allowed at level L dB(A): 100 % = the criterion level for the whole reference
duration. LEX,8h = criterion + exchange * log2(dose) (with the EU's 3 dB exchange this
is the standard 10 log10 form). NIOSH marks 50 % and 100 % of the dose; the EU marks
its lower and upper exposure action values (80 and 85 dB(A) LEX,8h).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from seatwatch.edge.policy import Hearing

log = logging.getLogger("seatwatch.hearing")

EU_ACTION_VALUES_DBA = (("lower_action_value", 80.0), ("upper_action_value", 85.0))
NIOSH_MARKS = (("dose_50pct", 0.5), ("dose_100pct", 1.0))


@dataclass(frozen=True)
class DoseMark:
    name: str
    dose: float          # fraction of the daily allowance at which the mark is crossed


def marks(policy: Hearing) -> tuple[DoseMark, ...]:
    if policy.standard == "eu":
        return tuple(DoseMark(name, 2 ** ((lex - policy.criterion_dba) / policy.exchange_db))
                     for name, lex in EU_ACTION_VALUES_DBA)
    return tuple(DoseMark(name, dose) for name, dose in NIOSH_MARKS)


def dose_rate_per_s(level_dba: np.ndarray, policy: Hearing) -> np.ndarray:
    """Fraction of the daily dose one second at each level uses."""
    return 2.0 ** ((level_dba - policy.criterion_dba) / policy.exchange_db) / (policy.reference_h * 3600)


def lex_dba(dose: float, policy: Hearing) -> float | None:
    return None if dose <= 0 else policy.criterion_dba + policy.exchange_db * math.log2(dose)


class DoseLedger(Protocol):
    """Where an agent's running daily dose lives between restarts."""

    def load(self, agent: str, day: str) -> tuple[float, list[str]]: ...

    def save(self, agent: str, day: str, dose: float, crossed: list[str]) -> None: ...


class MemoryLedger:
    def __init__(self) -> None:
        self._days: dict[tuple[str, str], tuple[float, list[str]]] = {}

    def load(self, agent: str, day: str) -> tuple[float, list[str]]:
        dose, crossed = self._days.get((agent, day), (0.0, []))
        return dose, list(crossed)

    def save(self, agent: str, day: str, dose: float, crossed: list[str]) -> None:
        self._days[(agent, day)] = (dose, list(crossed))


class FileLedger:
    """One small JSON file per agent and day, replaced atomically (rename after fsync)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, agent: str, day: str) -> Path:
        return self.folder / "dose" / day / f"{agent}.json"

    def load(self, agent: str, day: str) -> tuple[float, list[str]]:
        path = self._path(agent, day)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            dose = float(doc["dose"])
            if not 0.0 <= dose < math.inf:   # NaN would never cross a mark again today
                raise ValueError(f"dose {dose!r} is not a finite non-negative fraction")
            return dose, [str(m) for m in doc.get("crossed", [])]
        except FileNotFoundError:
            return 0.0, []
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError,
                RecursionError) as exc:
            # A torn or hand-edited file must not stop monitoring; start the day over, loudly.
            log.warning("dose file %s is unreadable (%s); starting the day from 0", path, exc)
            return 0.0, []

    def save(self, agent: str, day: str, dose: float, crossed: list[str]) -> None:
        path = self._path(agent, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"agent": agent, "day": day, "dose": dose, "crossed": crossed}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

