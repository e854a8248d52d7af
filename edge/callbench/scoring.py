"""Alerts raised vs the truth, per call: pure functions, no audio and no models.

A call's outcome is the *set* of alert types it raised (every event type but
call_started / call_ended), compared with the set its truth expects:

- per event type: TP = calls expecting it that raised it, FN = calls expecting it that
  did not, FP = calls raising it without expecting it; precision = TP / (TP + FP),
  recall = TP / (TP + FN) (None when the denominator is 0);
- exact: the call raised exactly the expected types;
- false alerts: (call, type) pairs raised but not expected, per 100 calls; beside it the
  raw count of unexpected alert *events* per 100 calls (a type raised twice counts twice);
- the same figures per group (voice family, noise kind, held-out speaker, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

LIFECYCLE = frozenset({"call_started", "call_ended"})


@dataclass
class CallResult:
    id: str
    expect: list[str]
    got: list[str]                                  # distinct alert types raised, sorted
    events: list[dict[str, Any]] = field(default_factory=list)   # the alert events (type, t_call, data)
    family: str = ""
    noise: str = ""
    held_out: bool = False
    channel: str = ""
    styles: list[str] = field(default_factory=list)
    error: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)   # truth (measured) beside the scorecard's view

    @property
    def exact(self) -> bool:
        return self.error is None and set(self.got) == set(self.expect)

    @property
    def false_alerts(self) -> list[str]:
        return sorted(set(self.got) - set(self.expect))

    @property
    def missed(self) -> list[str]:
        return sorted(set(self.expect) - set(self.got))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def alert_events(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The alert events of a call's event list (dicts with at least `type`), short form."""
    return [{"type": e["type"], "t_call": e.get("t_call"), "data": e.get("data", {})}
            for e in events if e["type"] not in LIFECYCLE]


def alert_types(events: Iterable[Mapping[str, Any]]) -> list[str]:
    return sorted({e["type"] for e in events if e["type"] not in LIFECYCLE})


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def per_type(results: list[CallResult], types: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """type -> expected/raised counts, TP/FP/FN, precision, recall."""
    names = set(types)
    for r in results:
        names |= set(r.expect) | set(r.got)
    out = {}
    for name in sorted(names):
        tp = sum(1 for r in results if name in r.expect and name in r.got)
        fn = sum(1 for r in results if name in r.expect and name not in r.got)
        fp = sum(1 for r in results if name in r.got and name not in r.expect)
        out[name] = {"expected": tp + fn, "raised": tp + fp, "tp": tp, "fp": fp, "fn": fn,
                     "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn)}
    return out


def summary(results: list[CallResult]) -> dict[str, Any]:
    """Call-level figures for a set of calls."""
    n = len(results)
    tp = sum(len(set(r.expect) & set(r.got)) for r in results)
    fp = sum(len(r.false_alerts) for r in results)
    fn = sum(len(r.missed) for r in results)
    extra_events = sum(1 for r in results for e in r.events if e["type"] not in r.expect)
    compliant = [r for r in results if not r.expect]
    return {
        "calls": n,
        "exact": sum(r.exact for r in results),
        "exact_share": _ratio(sum(r.exact for r in results), n),
        "false_alerts": fp,
        "false_alerts_per_100_calls": None if not n else round(100.0 * fp / n, 1),
        "unexpected_events_per_100_calls": None if not n else round(100.0 * extra_events / n, 1),
        "missed": fn,
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "compliant_calls": len(compliant),
        "compliant_without_alert": sum(1 for r in compliant if not r.got and r.error is None),
        "errors": sum(1 for r in results if r.error is not None),
    }


def breakdown(results: list[CallResult], key: Callable[[CallResult], str]) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[CallResult]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r)
    return {name: summary(group) for name, group in sorted(groups.items())}


def recall_by(results: list[CallResult], key: Callable[[CallResult], str]) -> dict[str, dict[str, Any]]:
    """type -> group -> {expected, recall, fp}: each rule's recall per group."""
    groups = sorted({key(r) for r in results})
    out: dict[str, dict[str, Any]] = {}
    for name, figures in per_type(results).items():
        out[name] = {}
        for group in groups:
            sub = per_type([r for r in results if key(r) == group], [name])[name]
            out[name][group] = {"expected": sub["expected"], "recall": sub["recall"], "fp": sub["fp"]}
        out[name]["all"] = {"expected": figures["expected"], "recall": figures["recall"], "fp": figures["fp"]}
    return out


def worst(results: list[CallResult], count: int = 15) -> list[dict[str, Any]]:
    """The calls furthest from their truth (most false + missed types), for debugging."""
    wrong = [r for r in results if not r.exact]
    wrong.sort(key=lambda r: (-(len(r.false_alerts) + len(r.missed) + (r.error is not None)), r.id))
    return [{"id": r.id, "expected": r.expect, "got": r.got, "false": r.false_alerts, "missed": r.missed,
             "family": r.family, "noise": r.noise, "channel": r.channel, "styles": r.styles,
             "events": [{"type": e["type"], "t_call": e["t_call"]} for e in r.events][:12],
             **({"error": r.error} if r.error else {})} for r in wrong[:count]]


def held_out_label(r: CallResult) -> str:
    return "held_out" if r.held_out else "trained"


def rate_errors(results: list[CallResult]) -> dict[str, dict[str, Any]]:
    """Per family: the scorecard's mean rate against the truth's measured rate (cpm)."""
    out: dict[str, dict[str, Any]] = {}
    for family in sorted({r.family for r in results}):
        pairs = [(r.facts["rate_mean_cpm"], r.facts["truth_cpm"]) for r in results if r.family == family
                 and r.facts.get("rate_mean_cpm") is not None and r.facts.get("truth_cpm") is not None]
        if pairs:
            errors = [got - want for got, want in pairs]
            out[family] = {"calls": len(pairs), "mean_error_cpm": round(sum(errors) / len(errors), 1),
                           "mean_abs_error_cpm": round(sum(abs(e) for e in errors) / len(errors), 1)}
    return out


def by_style(results: list[CallResult]) -> dict[str, dict[str, Any]]:
    """Figures per call style (a call has several: opening, hold, ending, interruptions)."""
    styles = sorted({s for r in results for s in r.styles})
    return {style: summary([r for r in results if style in r.styles]) for style in styles}


def report(results: list[CallResult], types: Iterable[str] = (), worst_count: int = 15) -> dict[str, Any]:
    return {
        "overall": summary(results),
        "per_type": per_type(results, types),
        "by_family": breakdown(results, lambda r: r.family),
        "by_noise": breakdown(results, lambda r: r.noise),
        "by_speaker": breakdown(results, held_out_label),
        "by_family_speaker": breakdown(results, lambda r: f"{r.family}/{held_out_label(r)}"),
        "by_channel": breakdown(results, lambda r: r.channel),
        "by_style": by_style(results),
        "rate_error_by_family": rate_errors(results),
        "recall_by_family": recall_by(results, lambda r: r.family),
        "worst": worst(results, worst_count),
    }


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{100 * value:4.0f}"


def table(rep: Mapping[str, Any]) -> str:
    """A compact text table of a report()."""
    lines = [f"{'event type':<22} {'exp':>4} {'raised':>6} {'TP':>4} {'FP':>4} {'FN':>4} "
             f"{'prec%':>5} {'rec%':>5}  recall% by family"]
    families = sorted({g for figures in rep["recall_by_family"].values() for g in figures if g != "all"})
    for name, f in rep["per_type"].items():
        by = rep["recall_by_family"].get(name, {})
        fam = "  ".join(f"{g}:{_pct(by.get(g, {}).get('recall')).strip():>3}"
                        f"({by.get(g, {}).get('expected', 0)})" for g in families)
        lines.append(f"{name:<22} {f['expected']:>4} {f['raised']:>6} {f['tp']:>4} {f['fp']:>4} {f['fn']:>4} "
                     f"{_pct(f['precision']):>5} {_pct(f['recall']):>5}  {fam}")
    lines.append("")
    lines.append(f"{'calls':<26} {'n':>4} {'exact%':>6} {'FA/100':>6} {'prec%':>5} {'rec%':>5} "
                 f"{'clean compliant':>15}")
    rows: list[tuple[str, Mapping[str, Any]]] = [("all", rep["overall"])]
    for section in ("by_family", "by_family_speaker", "by_noise", "by_channel"):
        rows += [(f"{section.removeprefix('by_')}={k}", v) for k, v in rep[section].items()]
    for label, s in rows:
        fa = s["false_alerts_per_100_calls"]
        lines.append(f"{label:<26} {s['calls']:>4} {_pct(s['exact_share']):>6} "
                     f"{'-' if fa is None else fa:>6} "
                     f"{_pct(s['precision']):>5} {_pct(s['recall']):>5} "
                     f"{s['compliant_without_alert']:>7}/{s['compliant_calls']:<7}")
    return "\n".join(lines)


def count_types(results: list[CallResult]) -> Counter[str]:
    return Counter(t for r in results for t in r.expect)
