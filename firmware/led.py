# Agent-facing LED patterns as colour schedules. A pattern is a loop of
# (duration ms, colour) steps; colour is (r, g, b) with 0..255 per channel, which
# the HAL maps to PWM duty. Distinct rhythms, not only colours, so the patterns stay
# readable for colour-blind agents and on a single-colour LED.

OFF = (0, 0, 0)
GREEN = (0, 160, 0)
AMBER = (255, 96, 0)
RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (200, 200, 200)

PATTERNS = {
    "off": ((1000, OFF),),
    "ok": ((1000, GREEN),),                                         # steady: all is well
    "slow_down": ((600, AMBER), (600, OFF)),                        # slow amber blink
    "too_loud": ((150, RED), (150, OFF), (150, RED), (750, OFF)),   # red double blink
    "too_quiet": ((900, BLUE), (300, OFF)),                         # long blue pulses
    "hold_checkin_due": ((120, AMBER), (120, OFF)),                 # fast amber: act now
    "assist": ((300, BLUE), (300, WHITE)),                          # help is on its way
    "fault": ((100, RED), (100, OFF), (100, RED), (100, OFF), (600, OFF)),
    "speed_up": ((250, GREEN), (250, OFF)),                         # quick green blink
    "mind_words": ((400, AMBER), (200, OFF), (100, AMBER), (500, OFF)),   # long-short amber
    "let_them_finish": ((200, BLUE), (200, OFF), (200, BLUE), (600, OFF)),  # blue double blink
    "shock": ((80, RED), (80, OFF)),                                # fast red: loud sound hit
    "all_good": ((1500, GREEN), (500, OFF)),                        # slow green: call went well
}


def period_ms(pattern):
    total = 0
    for step in PATTERNS[pattern]:
        total += step[0]
    return total


def colour_at(pattern, t_ms):
    """Colour of `pattern` t_ms after it started."""
    steps = PATTERNS[pattern]
    t = t_ms % period_ms(pattern)
    for duration, colour in steps:
        if t < duration:
            return colour
        t -= duration
    return steps[-1][1]


class LedPlayer:
    """Plays one pattern at a time; update() returns a colour only when it changes."""

    def __init__(self, pattern="off"):
        if pattern not in PATTERNS:
            raise ValueError("unknown LED pattern %r" % (pattern,))
        self.pattern = pattern
        self._start = 0
        self._shown = None

    def set(self, pattern, now_ms):
        if pattern not in PATTERNS:
            raise ValueError("unknown LED pattern %r" % (pattern,))
        if pattern != self.pattern:
            self.pattern = pattern
            self._start = now_ms

    def update(self, now_ms):
        colour = colour_at(self.pattern, now_ms - self._start)
        if colour == self._shown:
            return None
        self._shown = colour
        return colour
