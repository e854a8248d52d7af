"""Rules over the agent's keywords: N2 greeting, N3 polite words, N4 taboo phrases, N11 closing.

The spotters fire after a word ends: the fixed-class one within ~1.2 s (its 2 s window
must contain the whole word, then a few inferences are averaged), the sub-word one
within 2 s (a chunk keeps its centre second only, so the last second of speech waits for
the next chunk); deadlines get DETECTION_GRACE_S of slack.
"""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

from seatwatch.edge.models.keywords import KeywordSpotter
from seatwatch.edge.models.subword import PhraseSpotter
from seatwatch.edge.policy import Closing, Forbidden, Greeting, Policy, Polite
from seatwatch.edge.rules.base import AgentTurns, Frame, Heard, Report, Rule
from seatwatch.edge.sources.base import FRAME_SAMPLES, PIPELINE_RATE

DETECTION_GRACE_S = 2.2
FIRST_TURN_GAP_S = 1.5      # the agent's first turn is over after a pause this long
FIRST_TURN_MIN_S = 1.0      # ... and holds this much speech (a noise burst on the mic is none)
FALSE_HANGUP_TURNS = 2      # agent turns after a hang-up that show the caller never left
CALLER_TURN_BREAK_S = 0.3   # caller speech this long after the agent's last words: not cut short


def _seconds(samples: int) -> float:
    return round(samples / PIPELINE_RATE, 2)


class GreetingRule(Rule):
    """N2: the agent's opening turn must carry a greeting keyword.

    The deadline is `within_s` after off-hook or, when the caller speaks first (a hello,
    a transferred caller explaining), after the end of the caller's speech. The greeting
    must be heard in the agent's speech up to the deadline and in the turn going on then
    (see AgentTurns): the verdict comes at the deadline if the agent has not spoken by
    then (a greeting that starts later is late: missing), else when that turn is over (a
    FIRST_TURN_GAP_S pause, and not before the deadline + the spotter's grace). Right
    after off-hook a greeting is expected, and the 您好 threshold is set by its
    look-alike 你好 (a greeting too), so keywords over the policy's `min_score` count here
    even when below the threshold calibrated for false alarms per hour."""

    hears_unconfirmed = True

    def __init__(self, report: Report, policy: Greeting) -> None:
        super().__init__(report)
        self.policy = policy
        self.turns = AgentTurns(FIRST_TURN_MIN_S)
        self._off_hook: int | None = None
        self._greeted_at: int | None = None
        self._decided = True
        self._grace = int(DETECTION_GRACE_S * PIPELINE_RATE)
        self._gap = int(FIRST_TURN_GAP_S * PIPELINE_RATE)

    def call_started(self, sample: int) -> None:
        self._off_hook, self._greeted_at, self._decided = sample, None, False
        self._caller_until: int | None = None     # caller speech before the agent's first turn
        self.turns.reset()

    def keyword(self, heard: Heard) -> None:
        if not heard.confirmed and self._decided:   # the low score counts only while expected
            return
        if self._greeted_at is None and heard.label in self.policy.keywords:
            self._greeted_at = heard.sample

    def frame(self, f: Frame) -> None:
        if self._decided or self._off_hook is None:
            return
        turns = self.turns
        turns.update(f)
        if self._greeted_at is not None:
            self._decide(f.sample)
            return
        if not turns.count and f.ear_speech and not f.mic_speech:
            self._caller_until = f.sample           # the caller spoke first
        if f.sample >= self._deadline() and turns.last_speech is None:
            self._decide(f.sample)      # whatever the agent says now starts after the deadline
            return
        if f.sample < self._deadline() + self._grace:
            return
        last = turns.last_speech
        if last is None or (not f.mic_speech and f.sample - last >= self._gap):
            self._decide(f.sample)                  # silent, or the opening turn is over

    def _deadline(self) -> int:
        assert self._off_hook is not None
        start = self._caller_until if self._caller_until is not None else self._off_hook
        return start + int(self.policy.within_s * PIPELINE_RATE)

    def _decide(self, sample: int) -> None:
        self._decided = True
        if self._greeted_at is None and self.policy.enabled and self._off_hook is not None:
            first = self.turns.turns[0][0] if self.turns.count and self.turns.turns else None
            self.report("greeting_missing", sample, {
                "within_s": self.policy.within_s, "keywords": list(self.policy.keywords),
                "caller_first": self._caller_until is not None,
                "first_turn_s": None if first is None else _seconds(first - self._off_hook),
                "deadline_s": _seconds(self._deadline() - self._off_hook)})

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
    """N11: a closing keyword in the agent's last turns before the caller hung up.

    The end of the call is the caller's hang-up when the device saw it (signal or busy
    tone), else on-hook. A closing keyword counts when heard in the agent's last
    `last_turns` turns before that end, or in its last `window_s`. When the caller cut
    the call short (hung up while the agent was speaking, e.g. mid-closing, or within
    `cut_short_s` of the agent's last speech with no caller turn between), the agent had
    no chance to close: no verdict (scorecard `closing` is then null unless heard). A
    hang-up after which the agent still takes FALSE_HANGUP_TURNS turns was no hang-up
    (a busy tone heard in hold music): the call is judged up to on-hook.
    A handover keyword (请稍等) in the agent's last turn is a transfer (or a hold the
    caller left): no verdict either.

    A closing is expected in those turns, so keywords over the policy's `min_score`
    count there (the spotter's floor), not only over their calibrated threshold."""

    hears_unconfirmed = True

    def __init__(self, report: Report, policy: Closing) -> None:
        super().__init__(report)
        self.policy = policy
        self.turns = AgentTurns(keep=max(2, policy.last_turns + 1))
        self._heard: list[tuple[int, str]] = []
        self._history = round((policy.cut_short_s + 3.0) * PIPELINE_RATE / FRAME_SAMPLES)
        self.call_started(0)

    def call_started(self, sample: int) -> None:
        self._heard.clear()
        self._handover: int | None = None   # the last handover keyword (请稍等)
        self.turns.reset()
        self._gone: int | None = None
        self._cut_short = False
        self._turns_at_gone, self._turns_at_gone_known = 0, False
        self._off_hook = sample
        # the last frames' (sample, agent speech, caller speech): the moment of a hang-up
        self._recent: deque[tuple[int, bool, bool]] = deque(maxlen=self._history)

    def keyword(self, heard: Heard) -> None:
        if heard.label in self.policy.keywords:
            self._heard.append((heard.sample, heard.label))
            del self._heard[:-16]           # bounded: only the latest matter
        if heard.label in self.policy.handover_keywords and heard.confirmed:
            self._handover = heard.sample

    def frame(self, f: Frame) -> None:
        self.turns.update(f)
        if self._gone is None:
            self._recent.append((f.sample, f.mic_speech, f.ear_speech))
        elif not self._turns_at_gone_known:
            self._turns_at_gone, self._turns_at_gone_known = self.turns.count, True

    def far_end_gone(self, sample: int) -> None:
        if self._gone is not None:
            return
        self._gone = sample
        # frames after `sample` may already be in (a busy tone is found a little late)
        caller = 0
        for at, mic, ear in reversed(self._recent):
            if at > sample:
                continue
            if mic:     # the agent's last speech before the hang-up
                self._cut_short = (sample - at <= self.policy.cut_short_s * PIPELINE_RATE
                                   and caller * FRAME_SAMPLES < CALLER_TURN_BREAK_S * PIPELINE_RATE)
                return
            caller += ear

    def closing_heard(self, end: int) -> list[str]:
        p = self.policy
        since = end - int(p.window_s * PIPELINE_RATE)
        starts = [start for start, _ in self.turns.turns if start < end][-p.last_turns:]
        if starts:
            since = min(since, starts[0])
        until = end + int(DETECTION_GRACE_S * PIPELINE_RATE)
        return sorted({label for sample, label in self._heard if since <= sample <= until})

    def handed_over(self, end: int) -> bool:
        """A handover keyword in the agent's last turn before `end` (the spotter's delay
        allowed): the agent transferred the call or put the caller on hold, and the line
        ended there."""
        if self._handover is None:
            return False
        starts = [start for start, _ in self.turns.turns if start < end]
        return bool(starts) and starts[-1] <= self._handover <= end + int(DETECTION_GRACE_S * PIPELINE_RATE)

    def call_ended(self, sample: int, scorecard: dict[str, Any]) -> None:
        if (self._gone is not None and self._turns_at_gone_known
                and self.turns.count - self._turns_at_gone >= FALSE_HANGUP_TURNS):
            # the agent went on, turn after turn: the caller never left (a false busy tone,
            # e.g. hold music): judge the call up to on-hook
            self._gone, self._cut_short = None, False
        end = self._gone if self._gone is not None and self._gone <= sample else sample
        heard = self.closing_heard(end)
        if heard:
            scorecard["closing"] = True
        elif self._cut_short or self.handed_over(end):
            scorecard["closing"] = None         # cut short, or a transfer: no verdict
        else:
            scorecard["closing"] = False
            if self.policy.enabled:
                self.report("closing_missing", sample, {
                    "window_s": self.policy.window_s, "last_turns": self.policy.last_turns,
                    "keywords": list(self.policy.keywords),
                    "end": "caller_hung_up" if self._gone is not None else "on_hook",
                    "agent_turns": self.turns.count,
                    "end_s": _seconds(end - self._off_hook)})


def configure_spotter(spotter: KeywordSpotter | PhraseSpotter, policy: Policy) -> None:
    """The spotter as the rules need it: keywords expected where they are judged
    (greeting, closing) are reported from a lower floor there, and a taboo phrase of the
    fixed-class spotter never fires below the policy's taboo bar, whatever the model's
    calibration. The policy's floors and bar are on the fixed-class spotter's scale; the
    sub-word spotter's scores are on a scale of their own, so its floors come with its
    calibration (5 false alarms per hour of keyword-free speech, the greeting's 100 on
    the plain chain) and its taboo thresholds are calibrated for <= 0.1 per hour already."""
    if isinstance(spotter, PhraseSpotter):
        cfg = spotter.cfg
        spotter.floors = {label: cfg.floors[label] for label in policy.closing.keywords
                          if label in cfg.floors}
        # the greeting is judged on one short first turn, where it is all but certain: the
        # plain chain (a slow talker's stray token between 您 and 好 costs nothing)
        for label in policy.greeting.keywords:
            if label in cfg.plain_floors:
                spotter.plain_floors[label] = cfg.plain_floors[label]
            elif label in cfg.floors:
                spotter.floors[label] = cfg.floors[label]
        return
    floors = {label: policy.closing.min_score for label in policy.closing.keywords}
    for label in policy.greeting.keywords:
        floors[label] = min(floors.get(label, 1.0), policy.greeting.min_score)
    spotter.floors = floors
    for label in policy.forbidden.keywords:
        if label not in spotter.thresholds:
            continue                            # another spotter hears it
        spotter.thresholds[label] = max(spotter.thresholds.get(label, 1.0), policy.forbidden.min_score)
