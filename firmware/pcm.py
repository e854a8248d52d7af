# An int16 view over bytes, without copying: the audio frame is captured straight
# into the outgoing packet's payload and metered in place, so nothing is copied or
# allocated per frame. MicroPython has no memoryview.cast; uctypes gives the same view.
# The GC never moves objects, so the address stays valid for the buffer's life.

try:
    import uctypes
    HAVE_UCTYPES = True
except ImportError:             # CPython
    HAVE_UCTYPES = False


def int16_view(buf, offset, count):
    """Writable little-endian int16 view of buf[offset:offset + 2 * count]."""
    if HAVE_UCTYPES:
        layout = {"s": (uctypes.ARRAY | 0, uctypes.INT16 | count)}
        return uctypes.struct(uctypes.addressof(buf) + offset, layout, uctypes.LITTLE_ENDIAN).s
    return memoryview(buf)[offset:offset + 2 * count].cast("h")
