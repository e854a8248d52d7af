"""The benchmark's generator: truth well formed, every rule covered, reproducible, and its
text kept apart from the models' training sentences."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from seatwatch.contracts.events import EVENT_TYPES
from seatwatch.edge.callbench.generator import (
    VIOLATIONS,
    CallPlan,
    check_plan,
    espeak_setting,
    generate,
    neural_duration,
    retune,
)
from seatwatch.edge.callbench.sentences import FORBIDDEN_FORMS, SEED_SCRIPTS, pools, seed_lines


@pytest.fixture(scope="module")
def plans() -> list[CallPlan]:
    return generate(13, 200)


def test_truth_is_well_formed(plans: list[CallPlan]) -> None:
    assert [p.id for p in plans] == [f"c{i:04d}" for i in range(200)]
    problems = [problem for p in plans for problem in check_plan(p)]
    assert problems == []
    for p in plans:
        assert all(t in EVENT_TYPES and t not in ("call_started", "call_ended") for t in p.expect)
        assert len(p.expect) <= 2 and p.expect == sorted(p.expect)


def test_half_compliant_every_rule_in_both_families(plans: list[CallPlan]) -> None:
    assert sum(not p.expect for p in plans) == 100
    assert all(1 <= len(p.expect) <= 2 for p in plans if p.expect)
    by_family = Counter((t, p.family) for p in plans for t in p.expect)
    for rule in VIOLATIONS:
        for family in ("espeak", "neural"):
            assert by_family[rule, family] >= 3, (rule, family)
    assert Counter(p.family for p in plans) == {"espeak": 100, "neural": 100}
    assert Counter(p.noise for p in plans).keys() == {"none", "steady", "babble"}
    assert {p.agent.held_out for p in plans} == {True, False}
    styles = Counter(s for p in plans for s in p.styles)
    for style in ("caller_first", "transfer_in", "hold_checkins", "hold_music", "caller_interrupts",
                  "caller_backchannel", "cut_short_closing", "transfer_out", "busy_only"):
        assert styles[style] > 0, style


def test_levels_snr_and_rates_follow_the_truth(plans: list[CallPlan]) -> None:
    for p in plans:
        assert 10.0 <= p.snr_db <= 30.0
        gains = [s.get("gain_db", 0.0) for s in p.steps if s["do"] == "agent"]
        levels = {round(p.level_dbfs + g, 1) for g in gains}
        if "agent_volume_low" in p.expect:
            assert min(levels) <= -44.5
        elif "agent_volume_high" in p.expect:
            assert max(levels) >= -9.5
        else:
            assert all(-37.0 <= level <= -20.0 for level in levels), (p.id, levels)
        if "speech_rate_high" in p.expect:
            assert p.agent.cpm >= 175
        elif "speech_rate_low" in p.expect:
            assert p.agent.cpm <= 85
        else:
            assert 105 <= p.agent.cpm <= 145


def test_reproducible_and_family_filter() -> None:
    first = generate(5, 12, "espeak")
    assert [p.key() for p in first] == [p.key() for p in generate(5, 12, "espeak")]
    assert {p.family for p in first} == {"espeak"}
    assert {p.family for p in generate(5, 6, "neural")} == {"neural"}
    assert first[0].key() != generate(6, 12, "espeak")[0].key()
    assert CallPlan.from_json(first[3].to_json()).key() == first[3].key()


def test_rate_settings() -> None:
    assert espeak_setting(104.0) == (80, 0)
    assert espeak_setting(134.5) == (110, 0)
    speed, gap = espeak_setting(75.0)
    assert speed == 80 and 4 < gap < 12
    assert abs(neural_duration(124.8, 1.0) - 2.6) < 0.01
    assert neural_duration(124.8, 1.1) > 2.6            # a faster warp needs a slower duration


def test_text_comes_from_held_out_templates_and_the_reserved_scripts() -> None:
    from seatwatch.models.synth import corpus

    text = pools()
    training = set(corpus.rate_sentences(held_out=False))
    spoken = {t.rstrip("。？！") for t in (*text.agent, *text.caller, *text.greetings, *text.closing_bye,
                                         *text.hold_start, *text.forbidden, *text.babble)}
    assert not spoken & training
    assert all(not any(f in t for f in FORBIDDEN_FORMS) for t in text.agent)
    assert all("请稍等" in t for t in text.hold_start)
    assert all("您好" in t for t in text.greetings) and not any("您好" in t for t in text.greetings_bare)
    if SEED_SCRIPTS.exists():
        assert text.seed_lines > 20 and "请问还有什么能帮到您？" in text.closing_ask
        assert "对不起，请再稍等一下。" in text.checkin


def test_without_the_seed_scripts_the_held_out_corpus_suffices(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"
    assert seed_lines(missing) == ()
    text = pools(missing)
    assert text.seed_lines == 0 and text.greetings and text.closing_ask and text.transfer
    plans = generate(13, 26, seed_path=missing)
    assert all(p.sources == "corpus" and not check_plan(p) for p in plans)


def test_mellotron_is_a_held_out_family_of_its_own() -> None:
    from seatwatch.models.synth.mellotron import TEST_SPEAKERS, is_mellotron, parse

    plans = generate(15, 26, "mellotron")
    assert {p.family for p in plans} == {"mellotron"}
    assert not [problem for p in plans for problem in check_plan(p)]
    for p in plans:
        assert p.agent.held_out and is_mellotron(p.agent.name)
        voice = parse(p.agent.name)
        assert voice.speaker in TEST_SPEAKERS and voice.name() == p.agent.name
        assert 0.9 <= voice.stretch <= 4.0
        assert p.caller.family in ("espeak", "neural")       # callers are what they were
    assert len({parse(p.agent.name).speaker for p in plans}) > 1
    # the same schedule (truth and noise) as the other families; `all` never plays it
    espeak = generate(15, 26, "espeak")
    assert [(p.expect, p.noise) for p in plans] == [(p.expect, p.noise) for p in espeak]
    assert {p.family for p in generate(15, 26)} == {"espeak", "neural"}
    slow = [p for p in plans if "speech_rate_low" in p.expect]
    assert all(parse(p.agent.name).stretch <= 4.0 and p.agent.cpm <= 85 for p in slow)
    with pytest.raises(ValueError):
        generate(15, 2, "melotron")


def test_mellotron_retune() -> None:
    from seatwatch.models.synth.mellotron import parse

    voice = generate(15, 1, "mellotron")[0].agent
    stretch = parse(voice.name).stretch
    slower = parse(retune(voice, voice.cpm * 1.2).name)      # measured too fast: stretch more
    assert slower.speaker == parse(voice.name).speaker
    assert abs(slower.stretch - round(stretch * 1.2, 2)) < 1e-9
    assert parse(retune(voice, voice.cpm / 1.2).name).stretch < stretch
    # rounding alone would not move it: one 0.02 step at least
    assert parse(retune(voice, voice.cpm * 1.001).name).stretch == round(stretch + 0.02, 2)
    assert parse(retune(voice, voice.cpm * 0.999).name).stretch == round(stretch - 0.02, 2)
    assert parse(retune(voice, voice.cpm * 10).name).stretch == 4.0
    assert parse(retune(voice, voice.cpm / 10).name).stretch == 0.8
