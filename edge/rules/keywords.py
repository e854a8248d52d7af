"""Rules over the agent's keywords: N2 greeting, N3 polite words, N4 taboo phrases, N11 closing.

The spotter fires shortly after a word ends (its 2 s window must contain the whole
word, then a few inferences are averaged), so deadlines get DETECTION_GRACE_S of slack.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from edge.policy import Closing, Forbidden, Greeting, Polite
from edge.rules.base import Frame, Heard, Report, Rule
from edge.sources.base import PIPELINE_RATE

DETECTION_GRACE_S = 1.2


def _seconds(samples: int) -> float:
    return round(samples / PIPELINE_RATE, 2)


class GreetingRule(Rule):
    """N2: a greeting keyword must start within `within_s` of off-hook.

    Right after off-hook a greeting is expected, and the 您好 threshold is set by its
    look-alike 你好 (a greeting too), so keywords over the policy's `min_score` count here
    even when below the threshold calibrated for false alarms per hour."""

    hears_unconfirmed = True

    def __init__(self, report: Report, policy: Greeting) -> None:
        super().__init__(report)
        self.policy = policy
        self._off_hook: int | None = None
        self._greeted_at: int | None = None
        self._decided = True

    def call_started(self, sample: int) -> None:
        self._off_hook, self._greeted_at, self._decided = sample, None, False

    def keyword(self, heard: Heard) -> None:
        if not heard.confirmed and self._decided:   # the low score counts only while expected
            return
        if self._greeted_at is None and heard.label in self.policy.keywords:
            self._greeted_at = heard.sample

    def frame(self, f: Frame) -> None:
        if self._decided or self._off_hook is None:
            return
        deadline = self._off_hook + int((self.policy.within_s + DETECTION_GRACE_S) * PIPELINE_RATE)
        if self._greeted_at is not None or f.sample >= deadline:
            self._decide(f.sample)

    def _decide(self, sample: int) -> None:
        self._decided = True
        if self._greeted_at is None and self.policy.enabled:
            self.report("greeting_missing", sample, {"within_s": self.policy.within_s,
                                                     "keywords": list(self.policy.keywords)})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if not self._decided:       # a call shorter than the greeting deadline
            self._decide(sample)
        scorecard["greeting"] = self._greeted_at is not None
        scorecard["greeting_t"] = (None if self._greeted_at is None or self._off_hook is None
                                   else _seconds(self._greeted_at - self._off_hook))


class PoliteRule(Rule):
    """N3: polite words are counted for the scorecard, never raised."""

    def __init__(self, report: Report, policy: Polite) -> None:
        super().__init__(report)
        self.policy = policy
        self.counts: Counter[str] = Counter()

    def call_started(self, sample: int) -> None:
        self.counts.clear()

    def keyword(self, heard: Heard) -> None:
        if heard.label in self.policy.keywords:
            self.counts[heard.label] += 1

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        scorecard["polite_words"] = dict(sorted(self.counts.items()))
        scorecard["polite_total"] = sum(self.counts.values())


class ForbiddenRule(Rule):
    """N4: every service taboo phrase is an alert."""

    def __init__(self, report: Report, policy: Forbidden) -> None:
        super().__init__(report)
        self.policy = policy

    def keyword(self, heard: Heard) -> None:
        if self.policy.enabled and heard.label in self.policy.keywords:
            self.report("forbidden_phrase", heard.sample,
                        {"keyword": heard.label, "score": round(heard.score, 3)})


class ClosingRule(Rule):
    """N11: a closing keyword must be heard in the last `window_s` before on-hook."""

    def __init__(self, report: Report, policy: Closing) -> None:
        super().__init__(report)
        self.policy = policy
        self._heard: list[tuple[int, str]] = []

    def call_started(self, sample: int) -> None:
        self._heard.clear()

    def keyword(self, heard: Heard) -> None:
        if heard.label in self.policy.keywords:
            self._heard.append((heard.sample, heard.label))
            del self._heard[:-16]           # bounded: only the latest matter

    def closing_heard(self, on_hook: int) -> list[str]:
        since = on_hook - int(self.policy.window_s * PIPELINE_RATE)
        return sorted({label for sample, label in self._heard if sample >= since})

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        heard = self.closing_heard(sample)
        scorecard["closing"] = bool(heard)
        if not heard and self.policy.enabled:
            self.report("closing_missing", sample, {"window_s": self.policy.window_s,
                                                    "keywords": list(self.policy.keywords)})
