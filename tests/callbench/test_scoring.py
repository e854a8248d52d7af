"""Scoring of the call benchmark: pure functions on hand-made event lists."""

from __future__ import annotations

import pytest

from seatwatch.edge.callbench.scoring import (
    CallResult,
    alert_events,
    alert_types,
    breakdown,
    per_type,
    report,
    summary,
    table,
    worst,
)


def result(id_: str, expect: list[str], events: list[dict[str, object]], **kw: object) -> CallResult:
    return CallResult(id=id_, expect=expect, got=alert_types(events), events=alert_events(events), **kw)  # type: ignore[arg-type]


def ev(kind: str, t: float = 1.0) -> dict[str, object]:
    return {"type": kind, "t_call": t, "data": {}}


@pytest.fixture
def results() -> list[CallResult]:
    return [
        # compliant, clean
        result("a", [], [ev("call_started"), ev("call_ended")], family="espeak", noise="none"),
        # compliant, one false alert raised twice
        result("b", [], [ev("call_started"), ev("forbidden_phrase"), ev("forbidden_phrase", 9.0),
                         ev("call_ended")], family="neural", noise="babble"),
        # violation found
        result("c", ["dead_air"], [ev("call_started"), ev("dead_air"), ev("call_ended")],
               family="espeak", noise="babble"),
        # violation missed, another raised instead
        result("d", ["overtalk"], [ev("call_started"), ev("dead_air"), ev("call_ended")],
               family="neural", noise="none", held_out=True),
        # two violations, one found
        result("e", ["answer_late", "overtalk"], [ev("answer_late", 0.0), ev("call_ended")],
               family="neural", noise="steady", held_out=True),
    ]


def test_lifecycle_events_are_not_alerts() -> None:
    events = [ev("call_started"), ev("greeting_missing"), ev("greeting_missing"), ev("call_ended")]
    assert alert_types(events) == ["greeting_missing"]
    assert [e["type"] for e in alert_events(events)] == ["greeting_missing", "greeting_missing"]


def test_per_type_counts_and_ratios(results: list[CallResult]) -> None:
    figures = per_type(results, ["call_too_long"])
    assert figures["dead_air"] == {"expected": 1, "raised": 2, "tp": 1, "fp": 1, "fn": 0,
                                   "precision": 0.5, "recall": 1.0}
    assert figures["overtalk"] == {"expected": 2, "raised": 0, "tp": 0, "fp": 0, "fn": 2,
                                   "precision": None, "recall": 0.0}
    assert figures["forbidden_phrase"]["precision"] == 0.0       # raised once per call: one FP
    assert figures["forbidden_phrase"]["fp"] == 1
    assert figures["forbidden_phrase"]["recall"] is None           # never expected
    assert figures["answer_late"]["precision"] == figures["answer_late"]["recall"] == 1.0
    assert figures["call_too_long"]["expected"] == figures["call_too_long"]["raised"] == 0


def test_summary_exact_false_alerts_and_recall(results: list[CallResult]) -> None:
    s = summary(results)
    assert s["calls"] == 5
    assert s["exact"] == 2 and s["exact_share"] == 0.4                 # a and c
    assert s["false_alerts"] == 2                                       # b: forbidden, d: dead_air
    assert s["false_alerts_per_100_calls"] == 40.0
    assert s["unexpected_events_per_100_calls"] == 60.0                 # b raised it twice
    assert s["missed"] == 2                                             # d and e: overtalk
    assert s["precision"] == 0.5 and s["recall"] == 0.5    # TP: c dead_air, e answer_late
    assert s["compliant_calls"] == 2 and s["compliant_without_alert"] == 1


def test_breakdowns_and_worst(results: list[CallResult]) -> None:
    fam = breakdown(results, lambda r: r.family)
    assert fam["espeak"]["calls"] == 2 and fam["espeak"]["exact"] == 2
    assert fam["neural"]["calls"] == 3 and fam["neural"]["exact"] == 0
    assert fam["neural"]["false_alerts_per_100_calls"] == round(200 / 3, 1)
    listed = worst(results, 10)
    assert [w["id"] for w in listed] == ["d", "b", "e"]                 # two mismatches first
    assert listed[0]["false"] == ["dead_air"] and listed[0]["missed"] == ["overtalk"]
    rep = report(results, ["call_too_long"])
    assert set(rep) >= {"overall", "per_type", "by_family", "by_noise", "by_speaker",
                        "recall_by_family", "worst"}
    assert rep["recall_by_family"]["overtalk"]["neural"] == {"expected": 2, "recall": 0.0, "fp": 0}
    assert rep["by_speaker"]["held_out"]["calls"] == 2
    assert rep["by_style"] == {}                                        # no styles given
    text = table(rep)
    assert "overtalk" in text and "family=neural" in text


def test_an_error_is_never_exact() -> None:
    broken = CallResult("x", [], [], error="AudioFileError: gone")
    assert not broken.exact
    assert summary([broken])["errors"] == 1
    assert worst([broken])[0]["error"].startswith("AudioFileError")
