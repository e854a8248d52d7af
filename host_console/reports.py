"""Shift and period reports: per agent and per norm (calls, mean score, violations).

Pure: `build()` takes the rows the history holds and returns a `Report`; `load()` is the
one function that reads the store. Violations are counted from the events supervisors
saw (also those of calls still running); calls and scores from the scorecards of calls
that ended in the period.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from seatwatch.console.labels import KINDS, label
from seatwatch.contracts.events import NORM_TYPES

# Event type -> the NORMS.md row it enforces (from the console's one table, labels.KINDS).
NORM_OF: dict[str, str] = {kind: KINDS[kind].norm or "" for kind in sorted(NORM_TYPES)}
NORM_TITLE: dict[str, str] = {
    "N1": "answer within the rings", "N2": "greeting", "N4": "forbidden phrases",
    "N5": "speaking rate", "N6": "speech volume", "N7": "hold check-ins", "N8": "no interrupting",
    "N9": "dead air", "N10": "call length", "N11": "closing", "N12": "caller hangs up first",
    "N13": "tone",
}
assert all(norm.startswith("N") for norm in NORM_OF.values()), "every norm event type has a norm"
TYPES = sorted(NORM_TYPES, key=lambda t: (int(NORM_OF[t][1:]), t))
UNKNOWN_AGENT = "(unknown)"


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class CardRow:
    """One ended call's scorecard."""
    t: float
    seat: str
    agent: str | None
    call: str | None
    score: float | None


@dataclass(frozen=True)
class ViolationRow:
    """One norm event."""
    t: float
    seat: str
    agent: str | None
    call: str | None
    type: str


@dataclass
class Line:
    """One row of the report: an agent, or a norm."""
    name: str
    calls: int = 0
    scores: list[float] = field(default_factory=list)
    violations: Counter[str] = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)

    @property
    def mean_score(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 1) if self.scores else None

    @property
    def total(self) -> int:
        return sum(self.violations.values())


@dataclass
class Report:
    since: float
    until: float
    agents: list[Line]
    norms: list[Line]
    calls: int
    mean_score: float | None


def agent_name(agent: str | None, seat: str) -> str:
    return agent or f"{UNKNOWN_AGENT} seat {seat}"


def build(cards: Iterable[CardRow], violations: Iterable[ViolationRow], since: float,
          until: float) -> Report:
    agents: dict[str, Line] = {}
    norms: dict[str, Line] = {}
    score_of: dict[tuple[str, str | None], float] = {}
    all_scores: list[float] = []
    calls = 0
    for card in cards:
        if not since <= card.t < until:
            continue
        line = agents.setdefault(agent_name(card.agent, card.seat), Line(agent_name(card.agent, card.seat)))
        line.calls += 1
        calls += 1
        if card.score is not None:
            line.scores.append(card.score)
            all_scores.append(card.score)
            score_of[(card.seat, card.call)] = card.score
    affected: dict[str, set[tuple[str, str | None]]] = {}
    for row in violations:
        if not since <= row.t < until or row.type not in NORM_OF:
            continue
        name = agent_name(row.agent, row.seat)
        agents.setdefault(name, Line(name)).violations[row.type] += 1
        norm = NORM_OF[row.type]
        line = norms.setdefault(norm, Line(norm))
        line.violations[row.type] += 1
        line.agents.add(name)
        affected.setdefault(norm, set()).add((row.seat, row.call))
    for norm, keys in affected.items():
        norms[norm].calls = len(keys)
        norms[norm].scores = [score_of[k] for k in keys if k in score_of]
    return Report(since, until,
                  sorted(agents.values(), key=lambda a: (-a.total, a.name)),
                  sorted(norms.values(), key=lambda n: int(n.name[1:])),
                  calls, round(sum(all_scores) / len(all_scores), 1) if all_scores else None)


# --- periods -------------------------------------------------------------------------------
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_when(text: str, now: float) -> float:
    """`8h`, `30m`, `2d` (that long before now) or an ISO date/time (UTC unless it says)."""
    text = text.strip()
    match = _RELATIVE.match(text)
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is neither a duration like 8h/30m/2d nor an ISO date/time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- output --------------------------------------------------------------------------------
def bar(value: float, top: float, width: int = 30) -> str:
    """A horizontal bar in eighths of a cell, so small differences still show."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(1.0, value / top) * width * 8)
    return "█" * (eighths // 8) + ("", "▏", "▎", "▍", "▌", "▋", "▊", "▉")[eighths % 8]


def chart(pairs: list[tuple[str, float]], width: int = 30) -> list[str]:
    top = max((v for _, v in pairs), default=0.0)
    label = max((len(name) for name, _ in pairs), default=0)
    return [f"{name:<{label}} {bar(value, top, width):<{width}} {value:g}" for name, value in pairs]


def frequent(violations: Counter[str], shown: int = 3) -> str:
    """The most frequent violations in words: "Interrupted the caller (N8) ×2, ..."."""
    return ", ".join(f"{label(kind)} ×{count}" for kind, count in violations.most_common(shown))


def text(report: Report, width: int = 30) -> str:
    lines = [f"seatwatch report {iso(report.since)} .. {iso(report.until)}",
             f"calls {report.calls}, mean score "
             f"{'-' if report.mean_score is None else report.mean_score}", "", "Per agent"]
    lines.append(f"  {'agent':<22} {'calls':>5} {'score':>6} {'viol.':>5}  most frequent")
    for a in report.agents:
        top = frequent(a.violations)
        lines.append(f"  {a.name:<22} {a.calls:>5} {'-' if a.mean_score is None else a.mean_score:>6} "
                     f"{a.total:>5}  {top}")
    lines += ["", "Violations per norm"]
    lines += ["  " + row for row in chart(
        [(f"{n.name} {NORM_TITLE.get(n.name, '')}", float(n.total)) for n in report.norms], width)]
    return "\n".join(lines)


CSV_COLUMNS = ["section", "name", "calls", "mean_score", "violations", "agents", *TYPES]


def write_csv(report: Report, out: IO[str]) -> int:
    """One wide table: agent rows, then norm rows (calls = calls with that violation)."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for section, lines in (("agent", report.agents), ("norm", report.norms)):
        for line in lines:
            writer.writerow([section, line.name, line.calls,
                             "" if line.mean_score is None else line.mean_score, line.total,
                             len(line.agents) if section == "norm" else "",
                             *[line.violations.get(t, 0) for t in TYPES]])
            rows += 1
    return rows
