# A simulated board: audio from raw int16 stereo (interleaved mic/earpiece, little-
# endian), hook/ring/button levels from a script, frames out to any writer. Time is
# the sample clock, so a run is deterministic on any interpreter and any machine.

import gc

from hal import Hal

RATE = 16000
INPUTS = ("hook", "ring", "button")


class SimHal(Hal):
    board = "sim"

    def __init__(self, audio, write, script=(), read=None, drops=(), serial="SIM-0001", boot=1):
        """audio: file-like with readinto; write: callable taking bytes;
        script: (sample, input name, level) changes; read: callable returning bytes
        from the edge (b"" when none); drops: frame indices whose audio is lost (as when
        the loop falls behind the I2S buffer)."""
        self._audio = audio
        self._write = write
        self._read = read
        self._script = sorted(script)
        for change in self._script:
            if change[1] not in INPUTS:
                raise ValueError("script: unknown input %r (known: %s)" % (change[1], ", ".join(INPUTS)))
        self._next = 0
        self._levels = [False, False, False]
        self._drops = drops
        self._frame = 0
        self._frame_samples = 160
        self._buf = bytearray(4 * 160)
        self.clock = 0              # samples captured (including lost ones)
        self.serial = serial
        self._boot = boot
        self.led = (0, 0, 0)
        self.led_changes = []       # (sample, colour)
        self.watchdog_feeds = 0
        self.resets = []

    def start(self, frame_samples):
        self._frame_samples = frame_samples

    def read_audio(self, samples):
        lost = 0
        while self._frame in self._drops:
            if not self._fill(samples):
                return -1
            self._frame += 1
            lost += self._frame_samples
        if not self._fill(samples):
            return -1
        self._frame += 1
        self.clock += lost + self._frame_samples
        return lost

    def _fill(self, samples):
        if self.finished:
            return False
        want = 4 * self._frame_samples
        got = self._audio.readinto(self._raw()) if want else 0
        if got is None or got < want:
            self.finished = True
            return False
        raw = self._buf
        for i in range(2 * self._frame_samples):
            v = raw[2 * i] | (raw[2 * i + 1] << 8)
            samples[i] = v - 65536 if v >= 32768 else v
        return True

    def _raw(self):
        want = 4 * self._frame_samples
        if len(self._buf) != want:
            self._buf = bytearray(want)
        return self._buf

    def inputs(self):
        # the clock is at the end of the last captured frame: that is "now"
        script = self._script
        while self._next < len(script) and script[self._next][0] <= self.clock:
            _, name, level = script[self._next]
            self._levels[INPUTS.index(name)] = bool(level)
            self._next += 1
        return self._levels[0], self._levels[1], self._levels[2]

    def set_led(self, colour):
        self.led = colour
        self.led_changes.append((self.clock, colour))

    def write(self, data):
        self._write(bytes(data))

    def read(self):
        if self._read is None:
            return b""
        return self._read() or b""

    def ticks_ms(self):
        return self.clock * 1000 // RATE

    def feed_watchdog(self):
        self.watchdog_feeds += 1

    def mem_free(self):
        try:
            return gc.mem_free()
        except AttributeError:      # CPython has no heap figure
            return 0

    def boot_id(self):
        return self._boot

    def reset(self, maintenance):
        self.resets.append(maintenance)
        self.finished = True
