# The seatwatch serial protocol, version 1 (docs/serial-protocol.md is the spec).
#
#   packet = version u8 | type u8 | seq u16 | ts u32 | payload      (little-endian)
#   frame  = COBS(packet | crc16 big-endian over packet) | 0x00
#
# `ts` is the device's sample clock (samples at 16 kHz since boot, wrapping at
# 2**32): audio and call-control share one clock, so the edge places hook changes
# exactly between audio samples. Pure; shared verbatim by the firmware and the edge.

import struct

import cobs
from crc16 import crc16

VERSION = 1
HEADER = "<BBHI"
HEADER_SIZE = 8
CRC_SIZE = 2
SEQ_MOD = 1 << 16
CLOCK_MOD = 1 << 32

# device -> edge
T_HELLO = 0x01
T_AUDIO = 0x02
T_CONTROL = 0x03
T_HEARTBEAT = 0x04
T_ACK = 0x05
T_TIMESYNC_REPLY = 0x06
# edge -> device
T_LED = 0x81
T_GAIN = 0x82
T_INFO = 0x83
T_TIMESYNC = 0x84
T_REBOOT = 0x85

TYPE_NAMES = {
    T_HELLO: "hello", T_AUDIO: "audio", T_CONTROL: "control", T_HEARTBEAT: "heartbeat",
    T_ACK: "ack", T_TIMESYNC_REPLY: "timesync_reply", T_LED: "led", T_GAIN: "gain",
    T_INFO: "info", T_TIMESYNC: "timesync", T_REBOOT: "reboot",
}

# control kinds (payload of T_CONTROL); state 1 = active (off hook, ringing, pressed)
C_HOOK = 1
C_RING = 2
C_BUTTON = 3
CONTROL_NAMES = {C_HOOK: "hook", C_RING: "ring", C_BUTTON: "button"}

# ack status
ACK_OK = 0
ACK_BAD_PAYLOAD = 1
ACK_UNKNOWN_TYPE = 2
ACK_UNKNOWN_VERSION = 3
ACK_BAD_VALUE = 4
ACK_NAMES = {ACK_OK: "ok", ACK_BAD_PAYLOAD: "bad_payload", ACK_UNKNOWN_TYPE: "unknown_type",
             ACK_UNKNOWN_VERSION: "unknown_version", ACK_BAD_VALUE: "bad_value"}

# LED patterns by wire index; the names are the edge's LED vocabulary (edge/feedback.py)
# shown as led.py says. Append only: an index keeps its meaning across versions.
LED_PATTERNS = ("off", "ok", "slow_down", "too_loud", "too_quiet", "hold_checkin_due",
                "assist", "fault", "speed_up", "mind_words", "let_them_finish", "shock",
                "all_good")

# reboot modes
REBOOT_NORMAL = 0
REBOOT_MAINTENANCE = 1      # next boot stays in the REPL (for flashing)

HELLO_FIXED = "<IHBBHI"     # rate, frame samples, channels, bits, boot id, control hold
CONTROL_FMT = "<BBI"        # kind, state, sample clock of the change
HEARTBEAT_FMT = "<IIIIHHHB"  # uptime ms, frames dropped, free heap, bad rx frames,
#                              peak mic, peak earpiece, clipped frames (since last beat),
#                              debounced inputs now (bit 0 hook, 1 ring, 2 button): a lost
#                              control packet is noticed within a second
ACK_FMT = "<BHB"            # command type, command seq, status
TIMESYNC_FMT = "<Q"         # edge wall clock (ms since the Unix epoch), echoed back
GAIN_FMT = "<bb"            # mic, earpiece gain in 6 dB steps (a left shift)

MAX_PAYLOAD = 1024
MAX_PACKET = HEADER_SIZE + MAX_PAYLOAD + CRC_SIZE
MAX_FRAME = cobs.max_encoded_size(MAX_PACKET) + 1


class FrameError(ValueError):
    """A frame that cannot be used. args: (reason, type or -1, seq or -1).

    reason is one of "cobs", "short", "crc", "version", "oversize".
    """


class Packer:
    """Builds frames in preallocated buffers: the audio path allocates nothing.

    Write the payload into `payload` (a memoryview), then call frame(); the result is a
    view of an internal buffer, valid until the next call.
    """

    def __init__(self, max_payload=MAX_PAYLOAD):
        self.packet = bytearray(HEADER_SIZE + max_payload + CRC_SIZE)
        self.payload = memoryview(self.packet)[HEADER_SIZE:HEADER_SIZE + max_payload]
        self.out = bytearray(cobs.max_encoded_size(len(self.packet)) + 1)
        self._out = memoryview(self.out)

    def frame(self, ptype, seq, ts, n, version=VERSION):
        packet = self.packet
        struct.pack_into(HEADER, packet, 0, version, ptype, seq % SEQ_MOD, ts % CLOCK_MOD)
        end = HEADER_SIZE + n
        crc = crc16(packet, end)
        packet[end] = crc >> 8
        packet[end + 1] = crc & 0xFF
        m = cobs.encode_into(packet, end + CRC_SIZE, self.out)
        self.out[m] = 0
        return self._out[:m + 1]


def encode_frame(ptype, seq, ts, payload=b"", version=VERSION):
    """One frame as bytes (allocates; fine for commands and tests)."""
    packer = Packer(len(payload))
    packer.payload[:len(payload)] = payload
    return bytes(packer.frame(ptype, seq, ts, len(payload), version))


def decode_frame(raw):
    """A frame without its delimiter -> (version, type, seq, ts, payload bytes)."""
    try:
        packet = cobs.decode(raw)
    except cobs.CobsError:
        raise FrameError("cobs", -1, -1)
    n = len(packet)
    if n < HEADER_SIZE + CRC_SIZE:
        raise FrameError("short", -1, -1)
    if crc16(packet, n - CRC_SIZE) != (packet[n - 2] << 8) | packet[n - 1]:
        raise FrameError("crc", -1, -1)
    version, ptype, seq, ts = struct.unpack_from(HEADER, packet, 0)
    if version != VERSION:
        raise FrameError("version", ptype, seq)
    return version, ptype, seq, ts, packet[HEADER_SIZE:n - CRC_SIZE]


class Deframer:
    """Splits a byte stream at 0x00 delimiters into raw (still COBS-encoded) frames.

    Garbage between frames costs at most the frame it runs into: the next delimiter
    resyncs. Frames longer than max_frame are dropped and counted (`oversize`).
    """

    def __init__(self, max_frame=MAX_FRAME):
        self.max_frame = max_frame
        self._pending = bytearray()
        self._skipping = False
        self.oversize = 0

    def feed(self, data):
        """Bytes in (bytes or bytearray) -> list of complete raw frames (empty ones skipped)."""
        frames = []
        start = 0
        n = len(data)
        while start < n:
            z = data.find(b"\x00", start)
            if z < 0:
                self._keep(data, start, n)
                break
            if self._skipping:
                self._skipping = False
            elif self._pending:
                if len(self._pending) + z - start <= self.max_frame:
                    self._pending.extend(data[start:z])
                    frames.append(bytes(self._pending))
                else:
                    self.oversize += 1
            elif z - start > self.max_frame:
                self.oversize += 1
            elif z > start:
                frames.append(bytes(data[start:z]))
            self._pending = bytearray()
            start = z + 1
        return frames

    def _keep(self, data, start, n):
        if self._skipping:
            return
        if len(self._pending) + n - start > self.max_frame:
            self._pending = bytearray()
            self._skipping = True
            self.oversize += 1
        else:
            self._pending.extend(data[start:n])


def seq_delta(new, old):
    """Packets between two sequence numbers, modulo 2**16 (1 = consecutive)."""
    return (new - old) % SEQ_MOD


# --- payloads ----------------------------------------------------------------------------
def _pack_str(value):
    data = value.encode("utf-8")[:255]
    return bytes((len(data),)) + data


def pack_hello(rate, frame_samples, boot_id, control_hold, firmware, board, serial, seat,
               channels=2, bits=16, update=None):
    """update: (running slot, previous version, boot problem), appended as three more
    strings; older edges stop reading after the seat."""
    fixed = struct.pack(HELLO_FIXED, rate, frame_samples, channels, bits, boot_id, control_hold)
    out = fixed + _pack_str(firmware) + _pack_str(board) + _pack_str(serial) + _pack_str(seat)
    if update is not None:
        for value in update:
            out += _pack_str(value)
    return out


def _unpack_str(payload, i):
    if i >= len(payload):
        raise FrameError("short", T_HELLO, -1)
    k = payload[i]
    if i + 1 + k > len(payload):
        raise FrameError("short", T_HELLO, -1)
    return bytes(payload[i + 1:i + 1 + k]).decode("utf-8"), i + 1 + k


def unpack_hello(payload):
    size = struct.calcsize(HELLO_FIXED)
    if len(payload) < size:
        raise FrameError("short", T_HELLO, -1)
    rate, frame_samples, channels, bits, boot_id, hold = struct.unpack_from(HELLO_FIXED, payload, 0)
    strings = []
    i = size
    for _ in range(4):
        value, i = _unpack_str(payload, i)
        strings.append(value)
    # firmware without slots (0.1.x) sends no update strings
    update = ["", "", ""]
    for n in range(3):
        if i >= len(payload):
            break
        update[n], i = _unpack_str(payload, i)
    return {"rate": rate, "frame_samples": frame_samples, "channels": channels, "bits": bits,
            "boot_id": boot_id, "control_hold": hold, "firmware": strings[0],
            "board": strings[1], "serial": strings[2], "seat": strings[3],
            "slot": update[0], "previous": update[1], "boot_problem": update[2]}


def pack_control(kind, state, at):
    return struct.pack(CONTROL_FMT, kind, 1 if state else 0, at % CLOCK_MOD)


def unpack_control(payload):
    if len(payload) < struct.calcsize(CONTROL_FMT):
        raise FrameError("short", T_CONTROL, -1)
    return struct.unpack_from(CONTROL_FMT, payload, 0)


def pack_heartbeat(uptime_ms, dropped, mem_free, rx_bad, peak_mic, peak_ear, clipped, inputs):
    return struct.pack(HEARTBEAT_FMT, uptime_ms % CLOCK_MOD, dropped, mem_free, rx_bad,
                       min(peak_mic, 0xFFFF), min(peak_ear, 0xFFFF), min(clipped, 0xFFFF), inputs)


def unpack_heartbeat(payload):
    if len(payload) < struct.calcsize(HEARTBEAT_FMT):
        raise FrameError("short", T_HEARTBEAT, -1)
    v = struct.unpack_from(HEARTBEAT_FMT, payload, 0)
    return {"uptime_ms": v[0], "frames_dropped": v[1], "mem_free": v[2], "rx_bad": v[3],
            "peak_mic": v[4], "peak_ear": v[5], "clipped": v[6], "inputs": v[7]}


def pack_ack(ptype, seq, status):
    return struct.pack(ACK_FMT, ptype & 0xFF, seq % SEQ_MOD, status)


def unpack_ack(payload):
    if len(payload) < struct.calcsize(ACK_FMT):
        raise FrameError("short", T_ACK, -1)
    return struct.unpack_from(ACK_FMT, payload, 0)


def pack_led(pattern):
    """LED pattern name -> payload; unknown names raise ValueError naming them."""
    for index in range(len(LED_PATTERNS)):
        if LED_PATTERNS[index] == pattern:
            return bytes((index,))
    raise ValueError("unknown LED pattern %r (known: %s)" % (pattern, ", ".join(LED_PATTERNS)))


def unpack_led(payload):
    """Payload -> pattern name; None for an index this firmware does not know."""
    if len(payload) < 1:
        raise FrameError("short", T_LED, -1)
    index = payload[0]
    return LED_PATTERNS[index] if index < len(LED_PATTERNS) else None


def pack_gain(mic_steps, ear_steps):
    return struct.pack(GAIN_FMT, mic_steps, ear_steps)


def unpack_gain(payload):
    if len(payload) < struct.calcsize(GAIN_FMT):
        raise FrameError("short", T_GAIN, -1)
    return struct.unpack_from(GAIN_FMT, payload, 0)


def pack_timesync(edge_ms):
    return struct.pack(TIMESYNC_FMT, edge_ms)


def unpack_timesync(payload):
    if len(payload) < struct.calcsize(TIMESYNC_FMT):
        raise FrameError("short", T_TIMESYNC, -1)
    return struct.unpack_from(TIMESYNC_FMT, payload, 0)[0]


def unpack_reboot(payload):
    return payload[0] if len(payload) else REBOOT_NORMAL
