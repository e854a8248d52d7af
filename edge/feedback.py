"""Private, immediate feedback to the agent on the device's LED, rate-limited.

Only the agent sees it. Nudges about how they speak wait `min_interval_s` after the
previous nudge so the LED informs rather than nags; a due hold check-in and an
acoustic shock are time-critical and always shown. When a call ends well, the LED
says so.
"""

from __future__ import annotations

from collections.abc import Callable

from seatwatch.edge.policy import Feedback
from seatwatch.edge.sources.base import PIPELINE_RATE

# event type -> LED pattern name (the firmware's led.py knows these names)
PATTERNS: dict[str, str] = {
    "speech_rate_high": "slow_down",
    "speech_rate_low": "speed_up",
    "agent_volume_high": "too_loud",
    "agent_volume_low": "too_quiet",
    "forbidden_phrase": "mind_words",
    "overtalk": "let_them_finish",
    "acoustic_shock": "shock",
}
URGENT = frozenset({"hold_checkin_due", "shock"})
GOOD_CALL_SCORE = 90.0


class LedFeedback:
    def __init__(self, policy: Feedback, send: Callable[[str], None]) -> None:
        self.policy, self._send = policy, send
        self._last: int | None = None
        self.sent = 0
        self.suppressed = 0

    def on_event(self, type_: str, sample: int) -> None:
        pattern = PATTERNS.get(type_)
        if pattern:
            self.nudge(pattern, sample)

    def call_scored(self, score: float, sample: int) -> None:
        self.nudge("all_good" if score >= GOOD_CALL_SCORE else "off", sample, force=True)

    def nudge(self, pattern: str, sample: int, force: bool = False) -> None:
        if not self.policy.enabled:
            return
        urgent = force or pattern in URGENT
        if (not urgent and self._last is not None
                and sample - self._last < self.policy.min_interval_s * PIPELINE_RATE):
            self.suppressed += 1
            return
        if not force:
            self._last = sample
        self.sent += 1
        self._send(pattern)
