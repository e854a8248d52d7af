"""The benchmark's renders on a small espeak slice: files analyze reads, reproducible audio,
timings that match the truth, and the whole `seatwatch eval` path end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from seatwatch.edge.callbench.generator import CallPlan, generate
from seatwatch.edge.callbench.render import RATE, check_render, render_plan, render_to
from seatwatch.edge.sources.control import parse_control

SLICE = 4


@pytest.fixture(scope="module")
def slice_plans() -> list[CallPlan]:
    return generate(13, SLICE, "espeak")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, slice_plans: list[CallPlan]) -> Path:
    out = tmp_path_factory.mktemp("callbench")
    for plan in slice_plans:
        render_to(plan, out)
    return out


def test_renders_are_what_analyze_reads(root: Path, slice_plans: list[CallPlan]) -> None:
    for plan in slice_plans:
        stem = next(root.rglob(f"{plan.id}-{plan.key()}.wav"))
        info = sf.info(str(stem))
        assert (info.channels, info.samplerate, info.subtype) == (2, RATE, "PCM_16")
        control = json.loads(stem.with_suffix(".control.json").read_text())
        kinds = [e["type"] for e in control["events"]]
        assert kinds.count("off_hook") == 1 and kinds[-1] == "on_hook"
        parse_control(control, info.duration, RATE)             # the analyze contract accepts it
        truth = json.loads(stem.with_suffix(".truth.json").read_text())
        assert truth["expect"] == plan.expect and truth["family"] == "espeak"
        assert check_render(truth) == []
        agent = [u for u in truth["measured"]["utterances"] if u["who"] == "agent"]
        assert agent and all(0 <= u["start"] < u["end"] <= info.duration for u in agent)


def test_render_is_deterministic(slice_plans: list[CallPlan]) -> None:
    plan = min(slice_plans, key=lambda p: p.estimate["duration_s"])
    pcm1, control1, facts1 = render_plan(plan)
    pcm2, control2, facts2 = render_plan(CallPlan.from_json(plan.to_json()))
    assert np.array_equal(pcm1, pcm2)
    assert control1 == control2 and facts1 == facts2


def test_a_clean_compliant_call_raises_no_alert(tmp_path: Path, slice_plans: list[CallPlan]) -> None:
    """Sanity only (the benchmark reports accuracy): a compliant espeak call, no noise, a
    clean channel, a normal level, raises nothing but call_started / call_ended."""
    from seatwatch.edge.analyze import analyze

    plan = next(p for p in slice_plans if not p.expect)
    plan = replace(plan, noise="none", channel="clean", ear_mulaw=False, level_dbfs=-26.0,
                   noise_dbfs=-80.0)
    paths = render_to(plan, tmp_path)
    events = analyze(paths.audio, paths.control, None, "T1")
    assert [e.type for e in events] == ["call_started", "call_ended"], [(e.type, e.data) for e in events]


def test_seatwatch_eval_end_to_end(root: Path, tmp_path: Path) -> None:
    from seatwatch.cli import main

    out = tmp_path / "report.json"
    assert main(["eval", "--calls", str(SLICE), "--family", "espeak", "--jobs", "1",
                 "--cache", str(root), "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    assert rep["run"]["rendered_now"] == 0                       # the slice was in the cache
    assert rep["overall"]["calls"] == SLICE and rep["overall"]["errors"] == 0
    assert set(rep["by_family"]) == {"espeak"}
    assert len(rep["calls"]) == SLICE and rep["truth_warnings"] == []
    assert set(rep["per_type"]) >= {"answer_late", "overtalk", "agent_hung_up_first"}


def test_seatwatch_eval_keywords_scores_every_agent_utterance(root: Path, tmp_path: Path,
                                                               slice_plans: list[CallPlan]) -> None:
    from seatwatch.cli import main

    out = tmp_path / "keywords.json"
    assert main(["eval", "--keywords", "--calls", str(SLICE), "--family", "espeak", "--jobs", "1",
                 "--cache", str(root), "--out", str(out)]) == 0
    rep = json.loads(out.read_text())
    agent_turns = sum(1 for plan in slice_plans for step in plan.steps if step.get("do") == "agent")
    assert rep["agent_utterances"] == agent_turns
    greeting = rep["keywords"]["您好"]
    # every espeak call of the slice opens with a 您好, which the spotter scores near 1
    assert greeting["utterances"] >= SLICE - 1 and greeting["recall_at_floor"] >= 0.75


def test_keyword_table_counts_recall_and_false_utterances() -> None:
    from seatwatch.edge.callbench.keywords import keyword_table

    rows = [{"present": ["再见"], "peak": {"再见": 0.99}}, {"present": ["再见"], "peak": {"再见": 0.4}}]
    rows += [{"present": [], "peak": {"再见": score}} for score in (0.95, 0.6, *[0.01] * 98)]
    table = keyword_table(rows, {"再见": 0.9})["再见"]
    assert table["utterances"] == 2 and table["without"] == 100
    assert table["recall_at_threshold"] == 0.5 and table["false_per_100_at_threshold"] == 1.0
    assert table["recall_at_floor"] == 0.5 and table["false_per_100_at_floor"] == 2.0
    # 1 false utterance per 100 allowed: the bar is the second-highest negative (0.6)
    assert table["recall_at_1_false_per_100"] == 0.5 and table["recall_at_5_false_per_100"] == 1.0


@pytest.mark.parametrize(("planned", "duration", "expected"), [
    (False, 217.6, True),      # a slow voice carried the call past the limit: the alert is right
    (True, 150.0, False),      # planned long, rendered short: no alert is due
    (True, 182.0, True),       # within the margin of the limit the plan decides
    (False, 178.5, False),
    (False, 120.0, False),
])
def test_call_too_long_follows_the_rendered_length(planned: bool, duration: float, expected: bool) -> None:
    from seatwatch.edge.callbench.render import expected_alerts

    truth = {"expect": ["closing_missing", *(["call_too_long"] if planned else [])],
             "measured": {"duration_s": duration}}
    got = expected_alerts(truth)
    assert ("call_too_long" in got) == expected and "closing_missing" in got


def test_mellotron_clause_retried_at_nudged_stretches(monkeypatch: pytest.MonkeyPatch) -> None:
    """No audio: the voices' own environment is not in CI."""
    from seatwatch.edge.callbench.render import MELLOTRON_RETRY_STRETCHES, synthesize
    from seatwatch.models.synth import mellotron
    from seatwatch.models.synth.speech import SynthError

    agent = generate(15, 1, "mellotron")[0].agent
    asked: list[str] = []

    def speak(text: str, name: str) -> np.ndarray:
        asked.append(name)
        if len(asked) <= 2 or fail_again:
            raise SynthError(f"{name} failed")
        return np.ones(160, np.float32)

    monkeypatch.setattr(mellotron, "speak_mellotron", speak)
    fail_again = False
    assert len(synthesize(agent, "您好。")) == 160
    voice = mellotron.parse(agent.name)
    nudged = [mellotron.MellotronVoice(voice.speaker, round(voice.stretch + nudge, 2)).name()
              for nudge in MELLOTRON_RETRY_STRETCHES[:2]]
    assert asked == [agent.name, *nudged]
    asked.clear()
    fail_again = True
    with pytest.raises(SynthError):
        synthesize(agent, "您好。")
    assert len(asked) == 1 + len(MELLOTRON_RETRY_STRETCHES)
