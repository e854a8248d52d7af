# The device's main loop: every 10 ms stereo frame is metered and sent as an audio
# packet stamped with the sample clock; hook/ring/button changes go out as control
# packets stamped with the sample at which they happened; a heartbeat every second;
# commands from the edge are answered with an ack. The loop allocates nothing per
# frame on the audio path (preallocated packet, in-place sample view).

import protocol as P
import meter
from debounce import Debouncer
from led import LedPlayer
from pcm import int16_view

VERSION = "0.2.0"
RATE = 16000
FRAME = 160                     # samples per channel per frame (10 ms)
MS = RATE // 1000               # samples per millisecond

# debounce times (samples): hook and button settle within 20-30 ms; the ring
# detector stays active across the 25 Hz ring voltage's gaps and between the
# bursts of one ring (1 s on, 4 s off in China: one "ring" per burst)
HOOK_RISE = 20 * MS
HOOK_FALL = 20 * MS
RING_RISE = 0
RING_FALL = 600 * MS
BUTTON_RISE = 30 * MS
BUTTON_FALL = 30 * MS
# the edge holds audio this long so control events land in sample order; ring-off
# is not an event at the edge, so its long fall time does not count
CONTROL_HOLD = max(HOOK_RISE, HOOK_FALL, RING_RISE, BUTTON_RISE) + FRAME


class App:
    def __init__(self, hal, config, update=None):
        self.hal = hal
        self.config = config
        self.update = update                # (slot, previous version, boot problem) for hello
        self.packer = P.Packer(FRAME * 4)
        self.samples = int16_view(self.packer.packet, P.HEADER_SIZE, FRAME * 2)
        self.deframer = P.Deframer(64)
        self.seq = 0
        self.clock = 0                      # sample clock: samples captured since boot
        self.inputs = (
            (Debouncer(HOOK_RISE, HOOK_FALL), P.C_HOOK),
            (Debouncer(RING_RISE, RING_FALL), P.C_RING),
            (Debouncer(BUTTON_RISE, BUTTON_FALL), P.C_BUTTON),
        )
        self.led = LedPlayer("off")
        self.gain = config.gain
        self.beat_every = config.heartbeat_ms * MS
        self.next_beat = self.beat_every
        self.dropped = 0                    # frames lost before they were sent
        self.rx_bad = 0                     # edge frames that failed cobs/crc/version
        self.peak = [0, 0]
        self.clipped = 0
        self.started_ms = 0
        self.levels = (0, 0, 0, 0)

    # --- output --------------------------------------------------------------------
    def _send(self, ptype, payload, ts=-1):
        n = len(payload)
        self.packer.packet[P.HEADER_SIZE:P.HEADER_SIZE + n] = payload
        self._send_packed(ptype, n, self.clock if ts < 0 else ts)

    def _send_packed(self, ptype, n, ts):
        self.hal.write(self.packer.frame(ptype, self.seq, ts, n))
        self.seq = (self.seq + 1) % P.SEQ_MOD

    def hello(self):
        self._send(P.T_HELLO, P.pack_hello(RATE, FRAME, self.hal.boot_id(), CONTROL_HOLD, VERSION,
                                           self.hal.board, self.hal.serial, self.config.seat,
                                           update=self.update))

    # --- loop ----------------------------------------------------------------------
    def start(self):
        self.hal.start(FRAME)
        self.started_ms = self.hal.ticks_ms()
        self.hello()

    def run(self):
        self.start()
        while self.step():
            pass

    def step(self):
        """One pass: at most one audio frame, inputs, heartbeat, commands, LED, watchdog.
        False once the HAL has no more audio (simulations end; hardware never does)."""
        lost = self.hal.read_audio(self.samples)
        if lost >= 0:
            self._frame(lost)
        elif self.hal.finished:
            return False
        self.poll_commands()
        colour = self.led.update(self.hal.ticks_ms())
        if colour is not None:
            self.hal.set_led(colour)
        self.hal.feed_watchdog()
        return True

    def _frame(self, lost):
        if lost:
            self.dropped += lost // FRAME
            self.clock += lost
        samples = self.samples
        if self.gain[0] or self.gain[1]:
            meter.apply_gain(samples, FRAME, self.gain[0], self.gain[1])
        levels = meter.frame_levels(samples, FRAME)
        self.levels = levels
        if levels[2] > self.peak[0]:
            self.peak[0] = levels[2]
        if levels[3] > self.peak[1]:
            self.peak[1] = levels[3]
        if levels[2] >= 32767 or levels[3] >= 32767:
            self.clipped += 1
        self._send_packed(P.T_AUDIO, FRAME * 4, self.clock)
        self.clock += FRAME
        self._poll_inputs()
        if self.clock >= self.next_beat:
            self.next_beat += self.beat_every
            self._heartbeat()

    def _poll_inputs(self):
        raw = self.hal.inputs()
        for index in range(3):
            debouncer, kind = self.inputs[index]
            if debouncer.update(raw[index], self.clock):
                self._send(P.T_CONTROL, P.pack_control(kind, debouncer.state, debouncer.changed_at))

    def input_bits(self):
        bits = 0
        for index in range(3):
            if self.inputs[index][0].state:
                bits |= 1 << index
        return bits

    def _heartbeat(self):
        uptime = self.hal.ticks_ms() - self.started_ms
        self._send(P.T_HEARTBEAT, P.pack_heartbeat(uptime, self.dropped, self.hal.mem_free(),
                                                   self.rx_bad, self.peak[0], self.peak[1],
                                                   self.clipped, self.input_bits()))
        self.peak[0] = 0
        self.peak[1] = 0
        self.clipped = 0

    # --- commands ------------------------------------------------------------------
    def poll_commands(self):
        """Read and answer whatever the edge sent (also called when audio has ended)."""
        data = self.hal.read()
        if not data:
            return
        for raw in self.deframer.feed(data):
            try:
                _, ptype, seq, _, payload = P.decode_frame(raw)
            except P.FrameError as exc:
                self.rx_bad += 1
                if exc.args[0] == "version":
                    self._ack(exc.args[1], exc.args[2], P.ACK_UNKNOWN_VERSION)
                continue
            self._ack(ptype, seq, self.command(ptype, payload))
            if ptype == P.T_REBOOT:
                self.hal.reset(P.unpack_reboot(payload) == P.REBOOT_MAINTENANCE)

    def _ack(self, ptype, seq, status):
        self._send(P.T_ACK, P.pack_ack(ptype, seq, status))

    def command(self, ptype, payload):
        """Apply one command from the edge; returns the ack status."""
        try:
            if ptype == P.T_LED:
                pattern = P.unpack_led(payload)
                if pattern is None:
                    return P.ACK_BAD_VALUE
                self.led.set(pattern, self.hal.ticks_ms())
            elif ptype == P.T_GAIN:
                mic, ear = P.unpack_gain(payload)
                if abs(mic) > 4 or abs(ear) > 4:
                    return P.ACK_BAD_VALUE
                self.gain = (mic, ear)
            elif ptype == P.T_INFO:
                self.hello()
            elif ptype == P.T_TIMESYNC:
                self._send(P.T_TIMESYNC_REPLY, P.pack_timesync(P.unpack_timesync(payload)))
            elif ptype != P.T_REBOOT:
                return P.ACK_UNKNOWN_TYPE
        except P.FrameError:
            return P.ACK_BAD_PAYLOAD
        return P.ACK_OK
