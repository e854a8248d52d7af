"""The synthesis corpus: keyword-free text is keyword-free, text is Han only, keyword
segments are exact, the held-out split holds out whole templates, and the reserved hotline
scripts are not copied."""

from __future__ import annotations

import random
import re

import pytest

from seatwatch.models.synth import corpus

FORMS = [form for forms in corpus.KEYWORDS.values() for form in forms]
TEXT = re.compile(r"^[\u4e00-\u9fff，。？！]+$")


def test_validator_finds_no_problems() -> None:
    assert corpus.validate() == []


def test_public_api_and_labels_unchanged() -> None:
    assert corpus.LABELS == (*corpus.KEYWORDS, corpus.FILLER, corpus.SILENCE)
    assert corpus.KEYWORDS["请问"] == ("请问", "帮您")
    assert len(corpus.KEYWORDS) == 11
    assert set(corpus.CARRIERS) == set(corpus.KEYWORDS)


def test_negatives_contain_no_keyword_or_look_alike() -> None:
    negatives = [*corpus.CONFUSABLES, *corpus.NEGATIVE_SENTENCES, *corpus.service_sentences()]
    for held_out in (False, True):
        negatives += ["".join(u.segments) for u in
                      corpus.negative_utterances(random.Random(3), 300, held_out=held_out)]
    assert [t for t in negatives if any(form in t for form in FORMS)] == []
    assert [t for t in negatives if any(w in t for w in ("你好", "稍等", "帮你"))] == []


def test_text_is_han_and_chinese_punctuation_of_realistic_length() -> None:
    sentences = corpus.all_sentences()
    assert len(sentences) >= 5000 and len(corpus.service_sentences()) >= 3000
    assert [t for t in [*sentences, *corpus.CONFUSABLES] if not TEXT.match(t)] == []
    assert [t for t in sentences if not 6 <= corpus.han_chars(t) <= 30] == []


@pytest.mark.parametrize("held_out", [False, True])
def test_keyword_segment_is_a_spoken_form_and_the_only_keyword(held_out: bool) -> None:
    utts = corpus.keyword_utterances(random.Random(5), 200, held_out=held_out)
    assert len(utts) == 200 * len(corpus.KEYWORDS)
    positions = set()
    for u in utts:
        assert u.segments[u.keyword_segment] in corpus.KEYWORDS[u.label]
        assert all(u.segments) and all(TEXT.match(s) for s in u.segments)
        assert sum("".join(u.segments).count(f) for f in FORMS) == 1
        positions.add((u.keyword_segment > 0, u.keyword_segment < len(u.segments) - 1))
    assert positions == {(False, False), (False, True), (True, False), (True, True)}  # alone/start/end/middle


def test_carriers_are_many_per_keyword() -> None:
    for label, carriers in corpus.CARRIERS.items():
        assert len(set(carriers)) >= 150, label


def test_held_out_split_is_by_template_and_disjoint() -> None:
    negatives = corpus._negative_sources()
    train = {s.id for s in negatives if not s.held_out}
    held = {s.id for s in negatives if s.held_out}
    assert train and held and not train & held
    assert held == corpus.held_out_ids([s.id for s in negatives])
    for sources in corpus._carrier_sources().values():
        assert {s.held_out for s in sources if s.items} == {False, True}
    train_text, held_text = set(corpus.rate_sentences()), set(corpus.rate_sentences(held_out=True))
    assert len(held_text) >= 500 and not train_text & held_text
    # every held-out sentence comes from a held-out template
    held_items = {t for s in negatives if s.held_out for (t,) in s.items}
    drawn = corpus.negative_utterances(random.Random(8), 400, held_out=True)
    assert {u.segments[0] for u in drawn} <= held_items | set(corpus.CONFUSABLES)


def test_split_hash_is_stable() -> None:
    # sha1-based: the same ids always give the same split (unlike hash(), salted per process)
    ids = [f"t{i}" for i in range(20)]
    assert corpus.held_out_ids(ids) == corpus.held_out_ids(list(reversed(ids)))
    assert corpus.held_out_ids(ids) == frozenset({"t9", "t11", "t12", "t13"})


def test_generation_is_deterministic_and_fingerprint_tracks_text(monkeypatch: pytest.MonkeyPatch) -> None:
    assert corpus.fingerprint() == corpus.fingerprint()
    a = corpus.keyword_utterances(random.Random(1), 20)
    assert a == corpus.keyword_utterances(random.Random(1), 20)
    before = corpus.fingerprint()
    monkeypatch.setattr(corpus, "CONFUSABLES", (*corpus.CONFUSABLES, "好多好多"))
    assert corpus.fingerprint() != before


def test_han_numbers() -> None:
    numbers = (0, 7, 10, 12, 20, 105, 110, 1000, 3020, 10010, 45000)
    said = ["零", "七", "十", "十二", "二十", "一百零五", "一百一十", "一千",
            "三千零二十", "一万零一十", "四万五千"]
    assert [corpus.han_number(n) for n in numbers] == said


def test_reserved_seed_scripts_are_not_copied() -> None:
    if not corpus.SEED_SCRIPTS.exists():
        pytest.skip("seed scripts not present")
    seed = corpus.SEED_SCRIPTS.read_text(encoding="utf-8")
    assert corpus.seed_copies(seed) == []
    # the check does catch a copy
    assert corpus.seed_copies(seed, ["对不起，麻烦您稍等片刻，好吗"]) != []
