"""Every norm on a synthesized call: `analyze` reports exactly the expected event types,
each at its expected time, and nothing else.

The calls are the shipped scenario set (scenarios/*.toml rendered by espeak-ng with
exact timings in scenarios/rendered/*.json). Tolerances per rule are in WINDOWS.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from seatwatch.contracts.events import LIFECYCLE_TYPES, Event
from seatwatch.edge.analyze import analyze
from seatwatch.edge.policy import load_policy
from seatwatch.edge.rules.keywords import FIRST_TURN_GAP_S

ROOT = Path(__file__).resolve().parents[2]
RENDERED = ROOT / "scenarios" / "rendered"
NAMES = sorted(p.stem for p in RENDERED.glob("*.json"))
GRACE_S = 2.6          # a keyword is known this long after it is said (sub-word chunks: <= 2 s)
LEVEL_S = 0.25         # level rules act within a few frames
HOLD = load_policy().hold
DUE_S = HOLD.checkin_interval_s + HOLD.checkin_tolerance_s   # a wait is reported this late

Window = tuple[float, float]


def control_time(meta: dict[str, Any], kind: str) -> float:
    return next(e["t"] for e in meta["events"] if e["type"] == kind)


def turns(meta: dict[str, Any], who: str) -> list[Window]:
    return [(u["start"], u["end"]) for u in meta["utterances"] if u["who"] == who]


def during_agent(meta: dict[str, Any], slack: float) -> list[Window]:
    return [(a, b + slack) for a, b in turns(meta, "agent")]


def at_control(meta: dict[str, Any], kind: str) -> Window:
    return (control_time(meta, kind) - 0.01, control_time(meta, kind) + 0.01)


def first_agent_turn_over(meta: dict[str, Any]) -> Window:
    end = turns(meta, "agent")[0][1]
    # espeak-ng pads an utterance with up to ~0.7 s of silence: the VAD's turn ends earlier
    return (end + FIRST_TURN_GAP_S - 0.7, end + FIRST_TURN_GAP_S + 0.6)


def pauses(meta: dict[str, Any]) -> list[Window]:
    spans = sorted(turns(meta, "agent") + turns(meta, "caller"))
    return [(a[1], b[0]) for a, b in zip(spans, spans[1:], strict=False) if b[0] - a[1] > 5]


# event type -> the windows (in file seconds) in which it must fall
WINDOWS: dict[str, Callable[[dict[str, Any]], list[Window]]] = {
    "answer_late": lambda m: [at_control(m, "off_hook")],
    # at the deadline when the agent has not started, else when the first turn is over
    "greeting_missing": lambda m: [(control_time(m, "off_hook") + 5.0,
                                    control_time(m, "off_hook") + 5.0 + GRACE_S),
                                   first_agent_turn_over(m)],
    "forbidden_phrase": lambda m: during_agent(m, GRACE_S),
    # judged over 60 s of agent speech while it lasts, or once at the end of a shorter call
    "speech_rate_high": lambda m: during_agent(m, GRACE_S) + [at_control(m, "on_hook")],
    "speech_rate_low": lambda m: during_agent(m, GRACE_S) + [at_control(m, "on_hook")],
    "agent_volume_high": lambda m: during_agent(m, LEVEL_S),
    "agent_volume_low": lambda m: during_agent(m, LEVEL_S),
    "overtalk": lambda m: during_agent(m, LEVEL_S),
    # from the last speech: espeak-ng pads each utterance with up to ~0.7 s of silence
    "dead_air": lambda m: [(a + 8.0 - 1.0, a + 8.0 + 0.4) for a, _ in pauses(m)],
    "hold_checkin_missed": lambda m: [(a + DUE_S - 0.5, a + DUE_S + GRACE_S + 0.5) for a, _ in pauses(m)]
    + [(a + HOLD.notice_by_s - 0.5, a + HOLD.notice_by_s + GRACE_S + 0.5) for a, _ in pauses(m)],
    "call_too_long": lambda m: [(control_time(m, "off_hook") + 179.95,
                                 control_time(m, "off_hook") + 180.05)],
    "closing_missing": lambda m: [at_control(m, "on_hook")],
    "agent_hung_up_first": lambda m: [at_control(m, "on_hook")],
    "assist_requested": lambda m: [at_control(m, "button")],
    "acoustic_shock": lambda m: [(control_time(m, "off_hook"), control_time(m, "on_hook"))],
}


@cache
def events_of(name: str) -> tuple[Event, ...]:
    audio = RENDERED / f"{name}.ogg"
    return tuple(analyze(audio, RENDERED / f"{name}.json", None, "T1"))


@pytest.mark.parametrize("name", NAMES)
def test_scenario_raises_exactly_its_expected_events(name: str) -> None:
    meta = json.loads((RENDERED / f"{name}.json").read_text(encoding="utf-8"))
    events = events_of(name)
    raised = sorted({e.type for e in events} - LIFECYCLE_TYPES)
    assert raised == sorted(meta["expect"]), [(e.type, e.t, e.data) for e in events]
    for event in events:
        if event.type in LIFECYCLE_TYPES:
            continue
        windows = WINDOWS[event.type](meta)
        assert event.t is not None
        assert any(lo <= event.t <= hi for lo, hi in windows), (event.type, event.t, windows)


@pytest.mark.parametrize("name", NAMES)
def test_scenario_scorecard_matches_the_call(name: str) -> None:
    meta = json.loads((RENDERED / f"{name}.json").read_text(encoding="utf-8"))
    events = events_of(name)
    ended = [e for e in events if e.type == "call_ended"]
    assert len(ended) == 1
    card = ended[0].data["scorecard"]
    violations = {k for k, v in card["violations"].items() if v}
    assert violations == set(meta["expect"]) - {"assist_requested", "acoustic_shock", "earpiece_exposure"}
    assert card["greeting"] == ("greeting_missing" not in meta["expect"])
    assert card["closing"] is ("closing_missing" not in meta["expect"])
    assert card["hung_up_first"] == ("agent" if "agent_hung_up_first" in meta["expect"] else "caller")
    assert card["duration_s"] == pytest.approx(control_time(meta, "on_hook") - control_time(meta, "off_hook"),
                                               abs=0.02)
    assert 0 <= card["score"] <= 100 and (card["score"] == 100) == (not violations)
