# Test vectors shared by the CPython and MicroPython runs of fw_checks.py.
# CRC values come from CPython's binascii.crc_hqx (an independent implementation);
# COBS examples are the ones in Cheshire & Baker's paper / the Wikipedia article.

CRC = [
    (b"", 0xFFFF),
    (b"\x00", 0xE1F0),
    (b"123456789", 0x29B1),         # the CRC catalogue's check value
    (bytes(range(256)), 0x3FBD),
    (b"\xff" * 64, 0xF154),
]

COBS = [
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
]

# malformed COBS frames the decoder must refuse
COBS_BAD = [
    b"\x05\x11\x22",                # block runs past the end
    b"\x02\x00\x01",                # zero inside a frame
]

# (raw levels per poll at 10 ms steps, rise, fall) -> expected (poll index, state, changed_at)
DEBOUNCE = [
    ([0, 1, 1, 1, 0, 0, 0, 0], 320, 320, [(3, True, 160), (6, False, 640)]),
    ([0, 1, 0, 1, 0, 1, 0, 0], 320, 320, []),                      # bounce only
    ([1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0], 0, 800, [(0, True, 0), (10, False, 800)]),  # ring burst
]

# (pattern, t ms) -> colour
LED = [
    ("off", 0, (0, 0, 0)),
    ("ok", 12345, (0, 160, 0)),
    ("too_loud", 0, (255, 0, 0)),
    ("too_loud", 200, (0, 0, 0)),
    ("too_loud", 350, (255, 0, 0)),
    ("too_loud", 1200 + 50, (255, 0, 0)),
    ("hold_checkin_due", 130, (0, 0, 0)),
    ("assist", 310, (200, 200, 200)),
]

# (interleaved samples, frames) -> (rms mic, rms ear, peak mic, peak ear)
METER = [
    ([1000, -1000] * 160, 160, (992, 992, 1000, 1000)),         # rms quantised to 16
    ([16384, 0, -16384, 0] * 80, 160, (16384, 0, 16384, 0)),
    ([32767, -32768] * 160, 160, (32752, 32768, 32767, 32768)),
    ([0, 0] * 160, 160, (0, 0, 0, 0)),
]

ISQRT = [(0, 0), (1, 1), (3, 1), (4, 2), (99, 9), (100, 10), (2 ** 30 - 1, 32767), (10 ** 12, 10 ** 6)]
