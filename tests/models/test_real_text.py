"""The real-text false-alarm study's pure parts: the text it reads, what it calls innocent,
its halves, the Poisson bound and the card section (no synthesis, no model run)."""

from __future__ import annotations

import math
from itertools import islice

from seatwatch.edge.models import phrases
from seatwatch.models.eval import real_text as rt


def test_the_package_text_is_there_and_split_into_speakable_clauses() -> None:
    reviews = list(islice(rt._lines("reviews"), 200))
    news = list(islice(rt._lines("news"), 50))
    assert len(reviews) == 200 and len(news) == 50
    assert "/" not in "".join(news)             # the word-position tags are gone
    found = [c for line in reviews + news for c in rt.clauses(line)]
    assert len(found) > 300
    assert all(rt.MIN_CHARS <= len(c) <= rt.MAX_CHARS for c in found)
    line = "质量还不错，内容只适合边上厕所便消遣了。好"
    assert rt.clauses(line) == ["质量还不错", "内容只适合边上厕所便消遣了"]
    assert rt.clauses("ABC123 很好") == []


def test_a_clause_that_says_a_label_in_any_spelling_is_not_innocent() -> None:
    forms = [phrases.tokens("不知道"), phrases.tokens("没办法"), phrases.tokens("没办法", "mei ban da")]
    assert rt.says_any("这个我也不知道啊", forms)
    assert rt.says_any("我们真的没有办法了", [phrases.tokens("没有办法")])
    assert rt.says_any("没半打啤酒", forms)              # mei ban da, whatever the characters
    assert not rt.says_any("不知当代有几人", forms)       # near, but not the phrase
    assert not rt.says_any("质量还不错", forms)


def test_halves_are_disjoint_and_stable() -> None:
    texts = [f"第{n}句话说得很好" for n in range(200)]
    halves = [rt.half(t) for t in texts]
    assert set(halves) == {"fit", "eval"}
    assert 60 < halves.count("fit") < 140
    assert halves == [rt.half(t) for t in texts]


def test_poisson_upper_bound() -> None:
    assert math.isclose(rt.poisson_upper(0), -math.log(0.05), rel_tol=1e-6)     # 2.996
    assert math.isclose(rt.poisson_upper(1), 4.744, rel_tol=1e-3)
    assert rt.poisson_upper(5) > rt.poisson_upper(4)


def test_card_section_is_replaced_in_place() -> None:
    report = {"clauses": {"reviews": 10, "news": 5}, "hours": 0.5,
              "streams": {"espeak_clean": {"hours": 0.25}, "espeak_babble10": {"hours": 0.25}},
              "labels": {"不知道": {"role": "taboo", "false_alarms": {"espeak_clean": 1},
                                    "per_hour": 2.0, "upper95_per_hour": 9.5,
                                    "examples": [{"stream": "espeak_clean", "score": 0.5,
                                                  "heard_in": "甲 / 不知当代"}]}}}
    body = rt.markdown(report)
    assert "| 不知道 | taboo | 1 | 0 | 2.0 | 9.5 |" in body
    card = "# card\n\nintro\n"
    once = rt.replace_section(card, body)
    assert once.startswith(card.rstrip("\n")) and rt.BEGIN in once
    assert rt.replace_section(once, body) == once
    assert rt.replace_section(once, "new\n").count(rt.BEGIN) == 1
