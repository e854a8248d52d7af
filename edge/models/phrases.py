"""Phrases as text: pinyin tokens, and a phrase's score against sub-word posteriors.

The acoustic model (design E, models/experiments/syllable_ctc.py) outputs, every 40 ms,
posteriors over toneless pinyin initials and finals and the CTC blank. A phrase is its
token sequence (pypinyin, non-strict: y and w count as initials, so 与 is y+u and 无 w+u);
its score at a frame is the geometric mean of its tokens' posteriors along the best
chain of peaks that ends there, each token after the previous one by at most
`max_gap` frames. CTC posteriors are spikes (one frame per token, blank between), so a
phrase that was said shows every token in order, and one that was not misses at least
one: its log posterior drags the mean down. With a gap weight, the frames between two
of the chain's peaks must be blank or those two tokens: a phrase's syllables spread over
other words (没[什么]关系, 您[的银行卡为]好) pay for every foreign frame, so short phrases
stop firing on running speech that merely contains their syllables in order.

Tones are left out on purpose: synthesizers and people apply tone sandhi differently
(不 before a fourth tone, 3-3), and the phrases of the norms differ in their segments.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from scipy.ndimage import maximum_filter1d

INITIALS = ("b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "zh", "ch", "sh",
            "r", "z", "c", "s", "y", "w")
FINALS = ("a", "o", "e", "i", "u", "v", "ai", "ei", "ui", "ao", "ou", "iu", "ie", "ve", "er", "an",
          "en", "in", "un", "ang", "eng", "ing", "ong", "ia", "iao", "ian", "iang", "iong", "ua", "uo",
          "uai", "uan", "uang", "ue", "m", "n", "ng", "ê")
TOKENS = tuple(f"@{t}" for t in INITIALS) + FINALS    # initials marked: "n" is also a final
BLANK = len(TOKENS)                                     # the last output is the CTC blank
_INDEX = {token: i for i, token in enumerate(TOKENS)}
_HAN = re.compile(r"[\u4e00-\u9fff]")


class PhraseError(ValueError):
    pass


def _syllables(text: str) -> list[str]:
    from pypinyin import Style, lazy_pinyin

    han = "".join(_HAN.findall(text))
    return lazy_pinyin(han, style=Style.NORMAL, errors="ignore")


@functools.lru_cache(maxsize=4096)
def syllable_tokens(syllable: str) -> tuple[str, ...]:
    """One toneless pinyin syllable ("xie", "yu", "er") -> its tokens."""
    from pypinyin.contrib.tone_convert import to_finals, to_initials

    initial = to_initials(syllable, strict=False)
    final = to_finals(syllable, strict=False, v_to_u=False)
    out = ((f"@{initial}",) if initial else ()) + ((final,) if final else ())
    for token in out:
        if token not in _INDEX:
            raise PhraseError(f"pinyin {syllable!r} gives token {token!r}, not in the model's set")
    return out


def tokens(text: str, pinyin: str | None = None) -> tuple[str, ...]:
    """Han text (punctuation and anything else ignored) or an explicit space-separated
    toneless pinyin override (for polyphones) -> the phrase's tokens."""
    syllables = pinyin.split() if pinyin else _syllables(text)
    syllables = [re.sub(r"[0-9]", "", s.lower()) for s in syllables]
    out = tuple(t for s in syllables for t in syllable_tokens(s))
    if not out:
        raise PhraseError(f"no Mandarin syllables in {text!r}")
    return out


def token_ids(text: str, pinyin: str | None = None) -> list[int]:
    return [_INDEX[t] for t in tokens(text, pinyin)]


def peak_mass(logp: np.ndarray, spread: int) -> np.ndarray:
    """Log of each token's posterior summed over `spread` frames each side (at most 1):
    CTC may split a token's spike over two frames, which is still one token."""
    if spread <= 0:
        return logp
    p = np.exp(logp)
    padded = np.pad(p, ((spread, spread), (0, 0)))
    total = sum(padded[d:d + len(p)] for d in range(2 * spread + 1))
    return np.log(np.minimum(total, 1.0) + 1e-12)


def chain_scores(logp: np.ndarray, ids: list[int], max_gap: int, posteriors: np.ndarray | None = None,
                 gap_weight: float = 0.0, gap_floor: float = 0.01) -> np.ndarray:
    """(frames, len(TOKENS) + 1) log emission scores (log posteriors, or `peak_mass` of
    them) -> per frame, the phrase's best chain of token peaks ending there: mean log
    score over its tokens (<= 0), the gaps' cost included.

    With `posteriors` (the plain posteriors) and a `gap_weight`, each frame strictly
    between two consecutive tokens' peaks costs gap_weight * log(blank + the two tokens),
    at most -log(gap_floor) (one inserted spike is a penalty, not a veto)."""
    best = logp[:, ids[0]].astype(np.float64)
    for prev, token in zip(ids, ids[1:], strict=False):
        if posteriors is not None and gap_weight:
            stay = posteriors[:, BLANK] + posteriors[:, prev] + posteriors[:, token]
            cost = np.cumsum(gap_weight * np.log(np.clip(stay, gap_floor, 1.0)))
        else:
            cost = np.zeros(len(best))
        # predecessor at s in t - max_gap .. t - 1, paying cost[t - 1] - cost[s] for the
        # frames between: the filter's window is t - max_gap + 1 .. t, shifted by one frame
        window = maximum_filter1d(best - cost, size=max_gap, mode="constant", cval=-np.inf,
                                  origin=(max_gap - 1) // 2)
        before = np.concatenate([[-np.inf], window[:-1] + cost[:-1]])
        best = logp[:, token] + before
    return best / len(ids)


def review(table: dict[str, list[str]]) -> list[str]:
    """Problems of a phrase table (label -> spoken forms) a quality team should fix: a
    form that cannot be spelled, digits or Latin letters (dropped, not spoken), one
    syllable (heard in half of all sentences), two
    labels whose forms sound the same without tones (neither can be told apart)."""
    problems: list[str] = []
    spelled: dict[tuple[str, ...], str] = {}
    for label, forms in table.items():
        for form in forms:
            text, _, pinyin = form.partition("|")
            try:
                spoken = tokens(text, pinyin or None)
            except PhraseError as exc:
                problems.append(f"{label}: {exc}")
                continue
            if not pinyin and re.search(r"[0-9A-Za-z０-９]", text):
                problems.append(f"{label}: {form!r} has digits or Latin letters, which are not heard as "
                                f"written: spell them in Han as said (12333 -> 幺二三三三) or give pinyin")
            if sum(1 for t in spoken if not t.startswith("@")) < 2:
                problems.append(f"{label}: {form!r} is one syllable, too short to tell from running speech")
            other = spelled.setdefault(spoken, label)
            if other != label:
                problems.append(f"{label}: {form!r} sounds like {other} (the same toneless syllables)")
    return problems
