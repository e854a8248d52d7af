"""Garbage on the wire, both ways: the edge decoder and the device's command handler
never raise on arbitrary bytes (except the edge refusing a hello it cannot serve)."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seatwatch.edge.link.decoder import LinkDecoder, LinkRefused
from seatwatch.edge.link.framing import load
from seatwatch.edge.link.framing import protocol as P
from seatwatch.edge.sources.base import AudioBlock

app_module, config_module, hal_sim = load("app"), load("config"), load("hal_sim")

FRAMES = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda t, s, ts, p: P.encode_frame(t, s, ts, p),
              st.integers(0, 255), st.integers(0, 65535), st.integers(0, 2**32 - 1), st.binary(max_size=64)),
)
STREAMS = st.lists(FRAMES, max_size=12).map(lambda parts: b"\x00".join(parts))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STREAMS, st.integers(1, 64))
def test_edge_decoder_survives_any_bytes(data, chunk):
    decoder = LinkDecoder("fuzz")
    good = P.encode_frame(P.T_HELLO, 0, 0, P.pack_hello(16000, 160, 1, 640, "f", "b", "s", "x"))
    try:
        decoder.feed(good, 0.0)
        for i in range(0, len(data), chunk):
            decoder.feed(data[i:i + chunk], 0.0)
    except LinkRefused:
        return                                  # a well-formed hello at another rate
    decoder.feed(P.encode_frame(P.T_AUDIO, 1, 0, bytes(640)), 0.0)
    for item in decoder.flush():
        if isinstance(item, AudioBlock):
            assert item.pcm.shape[1] == 2


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STREAMS)
def test_device_answers_any_command_bytes_without_crashing(data):
    out = io.BytesIO()
    chunks = [data]
    hal = hal_sim.SimHal(io.BytesIO(bytes(4 * 160 * 3)), out.write,
                         read=lambda: chunks.pop() if chunks else b"")
    device = app_module.App(hal, config_module.Config({"seat": "F1"}))
    device.run()
    frames = P.Deframer().feed(out.getvalue())
    kinds = [P.decode_frame(raw)[1] for raw in frames]        # everything it sent is valid
    audio = kinds.count(P.T_AUDIO)
    assert (audio >= 1 if hal.resets else audio == 3) and device.gain[0] in range(-4, 5)
