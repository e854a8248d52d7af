"""The phrase card's pure parts: the phrase table, the threshold rule on a score track,
and the card section between its markers (no synthesis, no model run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from seatwatch.edge.models import phrases
from seatwatch.models.eval import phrase_card as pc


def test_phrase_table_is_plain_ids_to_spellable_text() -> None:
    table = pc.phrase_table()
    assert list(table) == list(pc.PHRASES)
    assert all(re.fullmatch(r"[a-z0-9_]+", label) for label in table)
    assert table["taboo_yu_wo_mei_guanxi"] == ["与我没关系"]
    assert len(phrases.tokens(table["hold_qing_zai_shaodeng"][0])) == 12
    assert phrases.review(table) == []
    # every phrase has carriers, and a carrier never holds the phrase itself
    for label, (text, _) in pc.PHRASES.items():
        assert 2 <= len(pc.CARRIERS[label]) <= 3
        assert all(text not in before + after for before, after in pc.CARRIERS[label])
        assert 4 <= len(text) <= 8


def test_phrase_sources_are_checked_against_the_document() -> None:
    document = "。".join(source for _, source in pc.PHRASES.values())
    assert pc.check_phrases(document) == []
    problems = pc.check_phrases("与我无关")
    assert len({p.split(":")[0] for p in problems}) == len(pc.PHRASES)
    spelled_badly = {"digits_only": ("12333", "12333")}
    assert any("no Mandarin syllables" in p for p in pc.check_phrases("", spelled_badly))


def test_shared_syllables_count_homophones() -> None:
    assert pc.longest_shared_run("请再稍等一下", ["稍微等一下就好", "您好"]) == (3, "稍微等一下就好")
    # toneless: 是 and 事 are both shi
    assert pc.longest_shared_run("这是技术部门的事", ["这事"])[0] == 2
    assert pc.longest_shared_run("长沙中燃客服中心", ["您好"]) == (0, "")


def test_lowest_threshold_follows_the_false_alarm_budget() -> None:
    steps = (0.2, 0.3, 0.4, 0.5, 0.6)
    track = np.zeros(400)
    track[[10, 12]] = 0.45            # one alarm: the second peak is inside the refractory time
    track[200] = 0.35
    track[300] = 0.55
    assert pc.false_alarm_count([track], 0.4, refractory=37) == 2
    assert pc.false_alarm_count([track, track], 0.5, refractory=37) == 2
    # 10 h at 0.1/h allows one false alarm over all tracks, 1 h allows none
    assert pc.lowest_threshold([track], 10.0, 0.1, 37, steps) == (0.5, True)
    assert pc.lowest_threshold([track], 1.0, 0.1, 37, steps) == (0.6, True)
    assert pc.lowest_threshold([track, track], 10.0, 0.1, 37, steps) == (0.6, True)
    track[350] = 0.9
    assert pc.lowest_threshold([track], 1.0, 0.1, 37, steps) == (0.6, False)


def test_peak_counts_only_the_detection_span() -> None:
    at = np.arange(4, 1000, 4)
    column = np.zeros(len(at))
    column[at == 100] = 0.3           # before the phrase
    column[at == 600] = 0.9           # later than 1.2 s after it
    column[at == 400] = 0.6           # 1.2 s after its end
    assert pc.peak_in_span(at, column, (200, 280)) == pytest.approx(0.6)
    assert pc.peak_in_span(at, column, (200, 279)) == pytest.approx(0.0)


def _report() -> dict[str, Any]:
    row = {"text": "与我没关系", "source": "", "tokens": 10, "syllables": 5, "threshold": 0.2,
           "threshold_usable": True, "fa_per_hour": 0.0, "fa_per_hour_at_default": 1.25,
           "default_threshold": 0.3,
           "top_false_score": 0.19,
           "stream_overlap": {"syllables": 5, "longest_shared_run": 2, "example": ""},
           "recall": dict.fromkeys(pc.CONDITIONS, 0.917), "n": dict.fromkeys(pc.CONDITIONS, 12),
           "recall_at_default": dict.fromkeys(pc.CONDITIONS, 0.75)}
    return {"model": "models/subword.tflite", "model_sha1": "abc", "per_phrase": 12, "fa_hours": 0.8,
            "fa_limit_per_hour": 0.1, "first_step": 0.2,
            "phrases": {"taboo_yu_wo_mei_guanxi": row}, "per_keyword": 24,
            "keywords": {
                "您好": {"role": "greeting", "threshold": 0.95, "floor": 0.2, "floor_on": "plain",
                         "recall": dict.fromkeys(pc.CONDITIONS, 0.5),
                         "n": dict.fromkeys(pc.CONDITIONS, 24),
                         "recall_at_floor": dict.fromkeys(pc.CONDITIONS, 1.0), "fa_per_hour": 0.0},
                "没关系": {"role": "taboo", "threshold": 0.93, "floor": None, "floor_on": "strict",
                           "recall": dict.fromkeys(pc.CONDITIONS, 0.75),
                           "n": dict.fromkeys(pc.CONDITIONS, 24),
                           "recall_at_floor": {}, "fa_per_hour": 0.0}}}


def test_card_section_between_markers_is_idempotent_and_keeps_the_card() -> None:
    body = pc.markdown(_report())
    n = len(pc.CONDITIONS)

    def cells(value: str) -> str:
        return " | ".join([value] * n)

    row = f"| taboo_yu_wo_mei_guanxi | 与我没关系 | 10 | 0.2 (floor) | {cells('0.92')} | 0.0 | 0.19 |"
    assert row in body
    assert f"| taboo_yu_wo_mei_guanxi | 0.3 | {cells('0.75')} | 1.25 |" in body
    assert "12/12 only says recall > 0.757" in body
    assert f"| 您好 | greeting | 0.95 | {cells('0.50')} | 0.0 | 0.2 (plain) | {cells('1.00')} |" in body
    assert f"| 没关系 | taboo | 0.93 | {cells('0.75')} | 0.0 | - | {cells('-')} |" in body
    card = "# card\n\n## Limits\n- synthetic\n"
    once = pc.replace_section(card, body)
    assert once.startswith(card.rstrip("\n"))
    assert once.count(pc.BEGIN) == once.count(pc.END) == 1
    assert pc.replace_section(once, body) == once
    # text after the markers survives a rewrite, and only the inside changes
    edited = once + "\n## Later section\nkept\n"
    rewritten = pc.replace_section(edited, "new body")
    assert rewritten.endswith(f"{pc.BEGIN}\nnew body\n{pc.END}\n\n## Later section\nkept\n")
    assert rewritten.startswith(card.rstrip("\n"))
    assert "与我没关系" not in rewritten


def test_regenerating_the_model_card_keeps_the_phrase_section(tmp_path: Path) -> None:
    import json

    from seatwatch.models.eval.card import write_card

    models = Path(__file__).resolve().parents[2] / "models"
    card = tmp_path / "MODEL_CARD.md"
    card.write_text((models / "MODEL_CARD.md").read_text(encoding="utf-8"), encoding="utf-8")
    write_card(json.loads((models / "eval_report.json").read_text(encoding="utf-8")), card)
    assert card.read_text(encoding="utf-8") == (models / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert pc.BEGIN in card.read_text(encoding="utf-8")
