# Debounced digital input on the sample clock. Each input is polled once per audio
# frame; a change counts once the raw level has held for `rise` (to active) or
# `fall` (to idle) samples, and it is stamped with the sample at which the raw level
# first changed, so the edge sees when the hook really moved, not when we believed it.
#
# Asymmetric times make one class serve all inputs: a hook switch needs ~20 ms both
# ways; the ring detector (an optocoupler on the 25 Hz ring voltage) must become
# active on the first pulse and stay active across the gaps between pulses.


class Debouncer:
    def __init__(self, rise, fall, state=False):
        self.rise = rise            # samples the raw level must hold to become active
        self.fall = fall            # samples the raw level must hold to become idle
        self.state = bool(state)
        self.changed_at = 0         # sample of the last accepted change (its raw start)
        self._since = -1            # sample at which the raw level left `state`; -1: not

    def update(self, raw, now):
        """Feed the raw level at sample `now`; True when the debounced state changed."""
        raw = bool(raw)
        if raw == self.state:
            self._since = -1
            return False
        if self._since < 0:
            self._since = now
        if now - self._since >= (self.rise if raw else self.fall):
            self.state = raw
            self.changed_at = self._since
            self._since = -1
            return True
        return False

    def hold(self):
        """The longest a change can wait before it is reported (samples)."""
        return self.rise if self.rise > self.fall else self.fall
