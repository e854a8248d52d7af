# COBS (consistent overhead byte stuffing): frames contain no 0x00, so 0x00 can
# delimit them on the wire and a receiver resyncs at the next delimiter after
# garbage. Pure; runs under MicroPython and CPython alike.
#
# The encoder copies whole zero-free runs with slice assignment (found with
# bytes.find, which is C code on both interpreters) instead of looping per byte:
# audio has few zero bytes, so the cost is per run, not per byte.


class CobsError(ValueError):
    pass


def max_encoded_size(n):
    # one code byte per started 254-byte block, plus the leading code byte
    return n + n // 254 + 1


def encode_into(src, n, dst, start=0):
    """Encode src[0:n] into dst at `start` (no delimiter); returns bytes written.

    src must be bytes or bytearray (it needs .find); dst a bytearray or memoryview
    with max_encoded_size(n) bytes free.
    """
    view = memoryview(src)
    i = 0
    o = start
    while True:
        j = src.find(b"\x00", i, n)
        if j < 0:
            j = n
        while j - i >= 254:
            dst[o] = 0xFF
            dst[o + 1:o + 255] = view[i:i + 254]
            o += 255
            i += 254
            if i == n:
                return o - start    # canonical: a full block at the end needs no code
        k = j - i
        dst[o] = k + 1
        dst[o + 1:o + 1 + k] = view[i:j]
        o += 1 + k
        if j >= n:
            return o - start
        i = j + 1


def encode(data):
    data = bytes(data)
    out = bytearray(max_encoded_size(len(data)))
    return bytes(out[:encode_into(data, len(data), out)])


def decode_into(src, n, dst):
    """Decode src[0:n] (one frame, delimiter removed; bytes or bytearray) into dst;
    returns bytes written."""
    view = memoryview(src)
    i = 0
    o = 0
    while i < n:
        code = src[i]
        if code == 0:
            raise CobsError("cobs: zero byte inside a frame")
        end = i + code
        if end > n:
            raise CobsError("cobs: block runs past the end of the frame")
        k = code - 1
        if src.find(b"\x00", i + 1, end) >= 0:
            raise CobsError("cobs: zero byte inside a frame")
        if o + k > len(dst):
            raise CobsError("cobs: frame too long")
        dst[o:o + k] = view[i + 1:end]
        o += k
        i = end
        if code != 0xFF and i < n:
            if o >= len(dst):
                raise CobsError("cobs: frame too long")
            dst[o] = 0
            o += 1
    return o


def decode(data):
    data = bytes(data)
    out = bytearray(len(data))
    return bytes(out[:decode_into(data, len(data), out)])
