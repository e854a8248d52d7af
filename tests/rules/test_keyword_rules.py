"""Keyword-driven rules fed with scripted frames and keyword hits (no audio, no model)."""

from __future__ import annotations

from typing import Any

from seatwatch.edge.policy import Closing, Forbidden, Greeting, Hold
from seatwatch.edge.rules.base import Frame, Heard, Rule
from seatwatch.edge.rules.hold import HoldRule
from seatwatch.edge.rules.keywords import DETECTION_GRACE_S, ClosingRule, ForbiddenRule, GreetingRule
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

Events = list[tuple[str, float, dict[str, Any]]]


def recorder() -> tuple[Events, Any]:
    events: Events = []
    return events, lambda kind, sample, data: events.append((kind, sample / PIPELINE_RATE, data))


def play(rule: Rule, seconds: float, script: dict[float, str] | None = None,
         agent: list[tuple[float, float]] = (), caller: list[tuple[float, float]] = ()) -> None:  # type: ignore[assignment]
    """Run `seconds` of frames; `script` maps a time to a keyword hit; turns are (start, end)."""
    rule.call_started(0)
    pending = dict(sorted((script or {}).items()))
    for index in range(int(seconds * 100)):
        t = (index + 1) * FRAME_SAMPLES / PIPELINE_RATE
        for at in [at for at in pending if at <= t]:
            rule.keyword(Heard(pending.pop(at), 0.97, int(at * PIPELINE_RATE)))
        talking = any(a <= t < b for a, b in agent)
        listening = any(a <= t < b for a, b in caller)
        rule.frame(Frame(int(t * PIPELINE_RATE), -25.0, -25.0, talking, listening, True))


def test_greeting_in_time_or_missing_once() -> None:
    events, report = recorder()
    play(GreetingRule(report, Greeting()), 12.0, {2.4: "您好"})
    assert events == []
    events, report = recorder()
    rule = GreetingRule(report, Greeting())
    play(rule, 12.0, {8.0: "您好"}, agent=[(6.8, 9.0)])
    # the agent had not spoken by the deadline: missing then, whatever comes later
    assert [(kind, round(t, 1)) for kind, t, _ in events] == [("greeting_missing", 5.0)]
    card: dict[str, Any] = {}
    rule.call_ended(12 * PIPELINE_RATE, card)
    assert card["greeting"] is True and card["greeting_t"] == 8.0   # late, but said


def test_greeting_in_the_turn_going_on_at_the_deadline_counts() -> None:
    events, report = recorder()
    # the turn began before the deadline; the spotter reports 您好 after it (its delay)
    play(GreetingRule(report, Greeting()), 12.0, {6.6: "您好"}, agent=[(4.6, 8.0)])
    assert events == []
    events, report = recorder()
    play(GreetingRule(report, Greeting()), 12.0, {}, agent=[(4.6, 8.0)])
    due = round(8.0 + 1.5, 1)          # that turn is over: a FIRST_TURN_GAP_S pause after it
    assert [(kind, round(t, 1)) for kind, t, _ in events] == [("greeting_missing", due)]
    assert due >= 5.0 + DETECTION_GRACE_S


def test_greeting_counts_an_unconfirmed_hit_only_while_it_is_expected() -> None:
    def run(at: float) -> tuple[Events, dict[str, Any]]:
        events, report = recorder()
        rule = GreetingRule(report, Greeting())
        rule.call_started(0)
        for index in range(1200):
            sample = (index + 1) * FRAME_SAMPLES
            if sample == int(at * PIPELINE_RATE):
                rule.keyword(Heard("您好", 0.7, sample, confirmed=False))
            rule.frame(Frame(sample, -25.0, -25.0, False, False, True))
        card: dict[str, Any] = {}
        rule.call_ended(1200 * FRAME_SAMPLES, card)
        return events, card

    events, card = run(2.0)                     # said in time, scored under the threshold
    assert events == [] and card["greeting"] is True and card["greeting_t"] == 2.0
    events, card = run(9.0)                     # after the deadline a low score proves nothing
    assert [kind for kind, _, _ in events] == ["greeting_missing"] and card["greeting"] is False


def test_forbidden_phrase_carries_the_keyword_not_the_words_around_it() -> None:
    events, report = recorder()
    play(ForbiddenRule(report, Forbidden()), 5.0, {1.0: "不知道", 2.0: "谢谢", 3.0: "没办法"})
    assert [(kind, data) for kind, _, data in events] == [
        ("forbidden_phrase", {"keyword": "不知道", "score": 0.97}),
        ("forbidden_phrase", {"keyword": "没办法", "score": 0.97})]


def test_closing_must_be_in_the_last_window() -> None:
    events, report = recorder()
    rule = ClosingRule(report, Closing(window_s=20.0))
    play(rule, 60.0, {10.0: "再见"})           # said 50 s before the end: too early
    card: dict[str, Any] = {}
    rule.call_ended(60 * PIPELINE_RATE, card)
    assert [kind for kind, _, _ in events] == ["closing_missing"] and card["closing"] is False
    events, report = recorder()
    rule = ClosingRule(report, Closing(window_s=20.0))
    play(rule, 60.0, {50.0: "还有什么", 55.0: "再见"})
    rule.call_ended(60 * PIPELINE_RATE, card)
    assert events == [] and card["closing"] is True


def test_hold_reminds_then_reports_a_missed_checkin_once_per_wait() -> None:
    events, report = recorder()
    reminders: list[float] = []
    rule = HoldRule(report, Hold(), lambda sample: reminders.append(sample / PIPELINE_RATE))
    # 请稍等 at 5 s, the agent silent until 40 s, then back with the answer
    play(rule, 45.0, {5.0: "请稍等"}, agent=[(3.0, 5.0), (40.0, 44.0)])
    missed = [(round(t, 1), data["reason"]) for kind, t, data in events if kind == "hold_checkin_missed"]
    assert missed == [(22.0, "no_checkin")]      # interval 15 s + tolerance 2 s after the last word
    assert events[0][2]["announced"] is True and abs(events[0][2]["wait_from_s"] - 5.0) < 0.05
    assert [round(t, 1) for t in reminders] == [17.0]             # 3 s before it fell due
    card: dict[str, Any] = {}
    rule.call_ended(45 * PIPELINE_RATE, card)
    assert card["holds"] == 1 and card["hold_checkins_missed"] == 1
    assert 39.0 <= card["longest_hold_s"] <= 41.5 and 34.5 <= card["longest_wait_s"] <= 35.5


def test_hold_with_checkins_and_a_returning_caller_is_compliant() -> None:
    events, report = recorder()
    rule = HoldRule(report, Hold(), lambda sample: None)
    # check-ins at 17 s and 31 s (对不起，请再稍等一下), the caller asks at 40 s, answered
    play(rule, 50.0, {5.0: "请稍等", 18.0: "对不起", 32.0: "请稍等"},
         agent=[(3.0, 5.0), (16.0, 18.0), (30.5, 32.0), (43.5, 46.0)], caller=[(40.0, 43.0)])
    assert events == []
    assert not rule.active and rule.holds == 1
