"""docs/policy.md is the generated reference; `seatwatch policy check` names bad keys."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from seatwatch.edge.policy import Policy, PolicyError, check_keywords, describe, load_policy
from seatwatch.edge.policy_cli import ranges, render, run

ROOT = Path(__file__).resolve().parents[2]


def test_policy_reference_is_in_sync_with_the_code() -> None:
    assert (ROOT / "docs" / "policy.md").read_text(encoding="utf-8") == render(), \
        "run: seatwatch policy docs > docs/policy.md"


def test_policy_check_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[speech_rate]\nhigh_cpm = 9000\n")
    out = subprocess.run([sys.executable, "-m", "seatwatch.cli", "policy", "check", str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "speech_rate.high_cpm" in out.stderr
    good = subprocess.run([sys.executable, "-m", "seatwatch.cli", "policy", "check", "policies/12333.toml"],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0 and "valid" in good.stdout


def test_shipped_policies_only_name_keywords_the_model_knows() -> None:
    from seatwatch.edge.models.agent_channel import AgentChannel

    labels = AgentChannel().labels      # the shipped models: fixed-class and sub-word
    assert "不归我管" in labels          # N4's text-only taboo, heard by the sub-word model
    for path in (ROOT / "policies").glob("*.toml"):
        check_keywords(load_policy(path), labels)
    with pytest.raises(PolicyError, match="forbidden.keywords.*no label 滚"):
        check_keywords(Policy(forbidden=type(Policy().forbidden)(keywords=["滚"])), labels)


def test_every_numeric_knob_states_its_unit_and_range() -> None:
    span = ranges()
    for key, default, text in describe():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            assert span[key] and "(" in text, key


@pytest.mark.parametrize("text,key,reason", [
    ("[volume]\nmin_speech_s = 1.0\n", "volume.min_speech_s", "allowed: 2..120"),
    ("[volume]\nhysteresis_db = 15.0\n", "volume.low_dbfs", "normal band would be empty"),
    ("[speech_rate]\nlow_cpm = 50\ntolerance_cpm = 50\n", "speech_rate.tolerance_cpm",
     "below speech_rate.low_cpm"),
    ("[speech_rate]\nmin_call_speech_s = 90\n", "speech_rate.min_call_speech_s",
     "must not exceed speech_rate.judge_speech_s"),
    ("[hold]\ncaller_turn_s = 9.0\n", "hold.caller_turn_s", "must not exceed hold.caller_resumes_s"),
    ("[closing]\nlast_turns = 0\n", "closing.last_turns", "allowed: 1..10"),
])
def test_policy_check_names_the_key_says_why_and_what_it_is(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, reason: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    assert run(argparse.Namespace(action="check", file=bad)) == 2
    err = capsys.readouterr().err
    assert f"{bad}: {key}:" in err and reason in err
    assert f"  {key}: " in err          # the second line: what the key means, its unit
