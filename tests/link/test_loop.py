"""Firmware main loop -> pty -> pyserial -> SerialSource: bit-exact audio, controls at
their sample times, commands answered."""

from __future__ import annotations

import time

import numpy as np
import pytest

from seatwatch.edge.link.framing import protocol as P
from seatwatch.edge.link.serial_source import SerialLinkError, SerialSource
from seatwatch.edge.sim.device import PtyDevice, stereo_signal
from seatwatch.edge.sources.factory import SourceError, open_source
from tests.link.collect import assert_in_order, audio_of, collect, controls, gaps

# One ring burst: the optocoupler follows the 25 Hz ring voltage (on/off every 20 ms).
RING_BURST = [(1600 + k * 320, "ring", 1 - k % 2) for k in range(50)]
SCRIPT = RING_BURST + [
    (20000, "hook", 1),                             # answered (frame-aligned)
    (32050, "button", 1), (33000, "button", 0),     # help pressed mid-frame
    (36000, "button", 1), (36200, "button", 0),     # a 12 ms bounce: not a press
    (40000, "hook", 0),
]


@pytest.fixture
def device(tmp_path):
    dev = PtyDevice(tmp_path, stereo_signal(3.0), SCRIPT).start()
    yield dev
    dev.stop()


def test_audio_bit_exact_and_controls_at_their_samples(device):
    source = SerialSource(device.port)
    assert source.info.device == "SIM-0001" and source.info.firmware == "0.2.0"
    assert source.info.extra["seat"] == "S1" and source.hello["control_hold"] > 0
    items = collect(source, len(device.pcm))
    pcm, have = audio_of(items)
    assert have.all() and len(pcm) == len(device.pcm)
    assert np.array_equal(pcm, device.pcm)
    assert gaps(items) == []
    events = controls(items)
    assert [kind for _, kind in events] == ["ring", "off_hook", "button", "on_hook"]
    at = {kind: sample for sample, kind in events}
    assert at["ring"] == 1600 and at["off_hook"] == 20000 and at["on_hook"] == 40000
    assert 32050 <= at["button"] < 32050 + 160          # polled once per 10 ms frame
    assert_in_order(items)
    assert source.stats.bad_total == 0 and source.stats.seq_missing == 0


def test_led_and_unknown_commands_are_answered(device):
    source = SerialSource(device.port)
    source.send_led("too_loud")
    source.send_led("no_such_pattern")                  # refused at the edge, not sent
    source._send(0x7E, b"")                             # a command type the firmware lacks
    source.send_gain(1, 0)
    items = collect(source, len(device.pcm))
    assert device.app.led.pattern == "too_loud"
    assert source.stats.bad_leds == 1
    assert source.stats.acks["ok"] >= 3                 # info, led, gain
    assert source.stats.acks["unknown_type"] == 1
    assert device.app.gain == (1, 0)
    pcm, have = audio_of(items)
    assert have.all()


def test_unknown_version_and_type_from_device_are_counted_not_fatal(tmp_path):
    extra = [P.encode_frame(0x7F, 999, 0, b"future"), P.encode_frame(P.T_AUDIO, 998, 0, b"x", version=2)]

    written = [0]

    def inject(frame: bytes) -> bytes:        # after the handshake, between audio frames
        written[0] += 1
        return extra.pop() + frame if extra and written[0] > 10 else frame

    dev = PtyDevice(tmp_path, stereo_signal(1.0), mangle=inject).start()
    try:
        source = SerialSource(dev.port)
        items = collect(source, len(dev.pcm))
    finally:
        dev.stop()
    pcm, have = audio_of(items)
    assert have.all() and np.array_equal(pcm, dev.pcm)
    assert source.stats.unknown_types[0x7F] == 1
    assert source.stats.bad_frames["version"] == 1


def test_open_errors_name_the_port(tmp_path):
    with pytest.raises(SerialLinkError, match="cannot open"):
        SerialSource(str(tmp_path / "nothing"))
    with pytest.raises(SourceError, match="cannot open"):
        open_source(f"serial:{tmp_path / 'nothing'}")


def test_silent_port_fails_the_handshake(tmp_path):
    dev = PtyDevice(tmp_path, stereo_signal(0.1))          # never started: answers nothing
    began = time.monotonic()
    try:
        with pytest.raises(SerialLinkError, match="no hello"):
            SerialSource(dev.port, hello_timeout=0.5)
    finally:
        dev.unplug()
    assert time.monotonic() - began < 2.0


def test_factory_opens_serial_sources(device):
    source = open_source(f"serial:{device.port}")
    assert isinstance(source, SerialSource)
    items = collect(source, 16000)
    assert audio_of(items)[1].all()
