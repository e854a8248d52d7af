"""docs/policy.md is the generated reference; `seatwatch policy check` names bad keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from edge.policy import Policy, PolicyError, check_keywords, load_policy
from edge.policy_cli import render

ROOT = Path(__file__).resolve().parents[2]


def test_policy_reference_is_in_sync_with_the_code() -> None:
    assert (ROOT / "docs" / "policy.md").read_text(encoding="utf-8") == render(), \
        "run: seatwatch policy docs > docs/policy.md"


def test_policy_check_cli(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[speech_rate]\nhigh_cpm = 9000\n")
    out = subprocess.run([sys.executable, "-m", "edge.cli", "policy", "check", str(bad)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "speech_rate.high_cpm" in out.stderr
    good = subprocess.run([sys.executable, "-m", "edge.cli", "policy", "check", "policies/12333.toml"],
                          capture_output=True, text=True, cwd=ROOT)
    assert good.returncode == 0 and "valid" in good.stdout


def test_shipped_policies_only_name_keywords_the_model_knows() -> None:
    labels = ("您好", "请问", "请稍等", "久等", "谢谢", "对不起", "再见", "还有什么", "不知道", "没办法",
              "没关系", "_filler", "_silence")
    for path in (ROOT / "policies").glob("*.toml"):
        check_keywords(load_policy(path), labels)
    with pytest.raises(PolicyError, match="forbidden.keywords.*no label 滚"):
        check_keywords(Policy(forbidden=type(Policy().forbidden)(keywords=["滚"])), labels)
