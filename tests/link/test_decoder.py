"""The pure decoder on hand-built frame streams: clock and sequence wrap-around, item
order around late control events, gaps, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from seatwatch.edge.link.decoder import LinkDecoder, LinkRefused
from seatwatch.edge.link.framing import protocol as P
from seatwatch.edge.sources.base import AudioBlock, ControlEvent, SourceGap


def hello(boot: int = 1, rate: int = 16000, hold: int = 640) -> bytes:
    return P.encode_frame(P.T_HELLO, 0, 0, P.pack_hello(rate, 160, boot, hold, "0.1.0", "sim", "X1", "S1"))


def audio(seq: int, ts: int, value: int = 1) -> bytes:
    pcm = np.full((160, 2), value, "<i2")
    return P.encode_frame(P.T_AUDIO, seq, ts, pcm.tobytes())


def drain(decoder: LinkDecoder) -> list:
    return decoder.flush()


def test_clock_and_sequence_wrap_without_a_gap():
    d = LinkDecoder("test")
    start = 2**32 - 320                                  # two frames before the wrap
    stream = hello() + b"".join(audio((65534 + k) % 65536, (start + 160 * k) % 2**32, k)
                                for k in range(5))
    d.feed(stream, 0.0)
    items = drain(d)
    assert [i.sample for i in items] == [0, 160, 320, 480, 640]
    assert all(isinstance(i, AudioBlock) for i in items)
    assert d.stats.seq_missing == 0 and d.stats.gaps == 0
    assert [int(i.pcm[0, 0]) for i in items] == [0, 1, 2, 3, 4]


def test_a_late_hook_change_is_placed_before_the_block_that_contains_it():
    d = LinkDecoder("test")
    d.feed(hello() + b"".join(audio(1 + k, 160 * k) for k in range(6)), 0.0)
    # debounced 20 ms later, stamped with the sample where the hook moved
    d.feed(P.encode_frame(P.T_CONTROL, 7, 960, P.pack_control(P.C_HOOK, 1, 500)), 0.0)
    d.feed(b"".join(audio(8 + k, 960 + 160 * k) for k in range(6)), 0.0)
    items = drain(d)
    kinds = [type(i).__name__ for i in items]
    index = kinds.index("ControlEvent")
    assert items[index] == ControlEvent(500, "off_hook")
    assert items[index - 1].sample + 160 <= 500 < items[index + 1].sample + 160


def test_missing_frames_become_one_gap_and_the_reason_names_the_link():
    d = LinkDecoder("test")
    d.feed(hello() + audio(1, 0) + audio(2, 160) + audio(5, 640), 0.0)
    gaps = [i for i in drain(d) if isinstance(i, SourceGap)]
    assert [(g.sample, g.samples) for g in gaps] == [(320, 320)]
    assert gaps[0].reason == "audio frames lost on the serial link" and d.stats.seq_missing == 2


def test_frames_before_the_hello_do_not_count():
    d = LinkDecoder("test")
    d.feed(audio(1, 0) + audio(2, 160), 0.0)
    assert drain(d) == [] and d.awaiting_hello
    d.feed(hello() + audio(3, 320), 0.0)
    assert [i.sample for i in drain(d)] == [0]          # the stream starts at the hello


def test_a_device_at_another_rate_is_refused_by_name():
    d = LinkDecoder("ttyX")
    with pytest.raises(LinkRefused, match="ttyX.*48000 Hz"):
        d.feed(hello(rate=48000), 0.0)


def test_heartbeat_recovers_a_lost_hook_change():
    d = LinkDecoder("test")
    d.feed(hello() + audio(1, 0) + audio(2, 160), 0.0)
    beat = P.pack_heartbeat(1000, 0, 0, 0, 0, 0, 0, 1)       # bit 0: off hook
    d.feed(P.encode_frame(P.T_HEARTBEAT, 4, 320, beat), 0.0)  # seq 3 (the control) lost
    events = [i for i in drain(d) if isinstance(i, ControlEvent)]
    assert events == [ControlEvent(320, "off_hook")] and d.stats.recovered_controls == 1


def test_every_led_pattern_the_edge_sends_is_on_the_wire():
    from seatwatch.edge import feedback
    sent = set(feedback.PATTERNS.values()) | feedback.URGENT | {"all_good", "off"}
    assert sent <= set(P.LED_PATTERNS), sent - set(P.LED_PATTERNS)
    for name in sent:
        assert P.unpack_led(P.pack_led(name)) == name
