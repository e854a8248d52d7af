"""Phrases as text: pinyin tokens and the chain score against sub-word posteriors."""

from __future__ import annotations

import numpy as np
import pytest

from seatwatch.edge.models import phrases
from seatwatch.edge.models.subword import normalise


def test_tokens_of_norm_phrases() -> None:
    assert phrases.tokens("您好") == ("@n", "in", "@h", "ao")
    # y and w count as initials, so 与 and 我 keep their glide; punctuation is ignored
    assert phrases.tokens("与我没关系！") == ("@y", "u", "@w", "o", "@m", "ei", "@g", "uan", "@x", "i")
    # context picks the reading of a polyphone (还 hai, not huan) ...
    assert phrases.tokens("还有什么")[:2] == ("@h", "ai")
    # ... and an explicit pinyin overrides it; tone digits are dropped
    assert phrases.tokens("还", pinyin="huan2") == ("@h", "uan")
    assert phrases.tokens("儿子") == ("er", "@z", "i")


def test_bad_phrases_are_named() -> None:
    with pytest.raises(phrases.PhraseError, match="no Mandarin syllables"):
        phrases.tokens("hello!")
    with pytest.raises(phrases.PhraseError, match="not in the model's set"):
        phrases.tokens("x", pinyin="qwx")


def _posteriors(frames: int, spikes: dict[int, int]) -> np.ndarray:
    """Log posteriors: blank everywhere, a confident token at the given frames."""
    p = np.full((frames, phrases.BLANK + 1), 0.01 / phrases.BLANK)
    p[:, phrases.BLANK] = 0.99
    for frame, token in spikes.items():
        p[frame] = 0.01 / phrases.BLANK
        p[frame, token] = 0.9
        p[frame, phrases.BLANK] = 0.1 - 0.01 / phrases.BLANK * (phrases.BLANK - 1)
    return np.log(p)


def test_chain_scores_find_the_phrase_in_order_within_the_gap() -> None:
    ids = phrases.token_ids("您好")
    said = _posteriors(60, {10: ids[0], 13: ids[1], 17: ids[2], 20: ids[3]})
    scores = np.exp(phrases.chain_scores(said, ids, max_gap=8))
    assert scores.argmax() == 20 and scores.max() == pytest.approx(0.9)
    # the same tokens out of order, or too far apart, do not make the phrase
    shuffled = _posteriors(60, {10: ids[2], 13: ids[3], 17: ids[0], 20: ids[1]})
    assert np.exp(phrases.chain_scores(shuffled, ids, max_gap=8)).max() < 0.05
    apart = _posteriors(60, {10: ids[0], 13: ids[1], 40: ids[2], 43: ids[3]})
    assert np.exp(phrases.chain_scores(apart, ids, max_gap=8)).max() < 0.05
    # one token missing (您请讲 is not 您好) drags the mean down
    missing = _posteriors(60, {10: ids[0], 13: ids[1], 20: ids[3]})
    assert np.exp(phrases.chain_scores(missing, ids, max_gap=8)).max() < 0.2



def test_a_gap_weight_costs_foreign_syllables_between_the_tokens() -> None:
    ids = phrases.token_ids("您好")
    other = phrases.token_ids("银行")
    said = _posteriors(60, {10: ids[0], 13: ids[1], 17: ids[2], 20: ids[3]})
    # 您[银行]好: the phrase's tokens in order within the gap, two foreign syllables between
    spread = _posteriors(60, {10: ids[0], 12: ids[1], 14: other[0], 15: other[1], 16: other[2],
                              17: other[3], 19: ids[2], 20: ids[3]})

    def top(logp: np.ndarray, weight: float) -> float:
        return float(np.exp(phrases.chain_scores(logp, ids, 8, np.exp(logp), weight)).max())

    assert top(said, 1.0) == pytest.approx(top(said, 0.0), rel=0.05)   # blank between: no cost
    assert top(spread, 0.0) == pytest.approx(0.9)                        # blind to what lies between
    assert top(spread, 1.0) < 0.3
def test_normalise_removes_level_whatever_the_silence() -> None:
    rng = np.random.default_rng(0)
    speech = rng.normal(-2.0, 1.0, (300, 40))
    speech[200:] = -12.0                    # a third of the chunk is silence
    quiet = normalise(speech - 6.0)         # the same speech 6 dB-ish lower
    np.testing.assert_allclose(normalise(speech), quiet, atol=1e-5)
    np.testing.assert_allclose(normalise(np.stack([speech, speech - 3.0]))[1], normalise(speech), atol=1e-5)


def test_review_names_phrases_too_short_or_too_alike() -> None:
    problems = phrases.review({"再见": ["再见"], "same": ["在见"], "short": ["好"], "bad": ["hello"],
                               "与我没关系": ["与我没关系", "跟我没关系"]})
    assert problems == ["same: '在见' sounds like 再见 (the same toneless syllables)",
                        "short: '好' is one syllable, too short to tell from running speech",
                        "bad: no Mandarin syllables in 'hello'"]


def test_review_names_digits_that_would_be_dropped() -> None:
    # "这里是12333" would be spotted as 这里是 alone: the number is not spoken in the tokens
    problems = phrases.review({"greeting": ["这里是12333"], "spelled": ["这里是幺二三三三"]})
    assert len(problems) == 1 and problems[0].startswith("greeting: '这里是12333' has digits")
    assert phrases.review({"override": ["这里是12333|zhe li shi yao er san san san"]}) == []
    assert phrases.tokens("这里是12333") == phrases.tokens("这里是")
