"""`alsa:DEVICE` through a real ALSA PCM (alsa-lib's file plugin, see alsa_fixture.py):
blocks on the sample clock, call-control keys from an input-event FIFO, gaps on an
overrun and on a device that goes away, and the errors a technician sees."""

from __future__ import annotations

import errno
import itertools
import time
from pathlib import Path

import numpy as np
import pytest

from seatwatch.edge.sources.base import PIPELINE_RATE, AudioBlock, ControlEvent, SourceGap
from seatwatch.edge.sources.factory import SourceError, open_source
from tests.alsa.alsa_fixture import PCM_NAME, Feeder, alsa_env, make_fifo

alsaaudio = pytest.importorskip("alsaaudio", reason="pip install 'seatwatch[alsa]'")
from seatwatch.edge.sources.alsa import PERIOD, AlsaSource, EvdevControl  # noqa: E402


def ramp(seconds: float) -> np.ndarray:
    """Stereo test signal whose every sample says where it is: mic = index % 30000,
    earpiece = its negation (channel order is checked too)."""
    n = int(seconds * PIPELINE_RATE)
    mic = (np.arange(n) % 30000).astype(np.int16)
    return np.stack([mic, -mic], axis=1)


@pytest.fixture
def raw_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    """The test PCM reading a plain file: as fast as the reader asks (no pacing)."""
    pcm = ramp(3.0)
    infile = tmp_path / "capture.raw"
    infile.write_bytes(pcm.astype("<i2").tobytes())
    for key, value in alsa_env(tmp_path, infile).items():
        monkeypatch.setenv(key, value)
    return pcm


def take(source: AlsaSource, count: int) -> list:
    return list(itertools.islice(source.items(), count))


def test_blocks_are_the_device_audio_on_the_sample_clock(raw_device: np.ndarray) -> None:
    source = open_source(f"alsa:{PCM_NAME}", seat="B2")
    assert isinstance(source, AlsaSource) and source.info.device == "alsa-B2"
    items = take(source, 20)
    source.close()
    assert all(isinstance(item, AudioBlock) for item in items)
    assert [item.sample for item in items] == [k * PERIOD for k in range(20)]
    audio = np.concatenate([item.pcm for item in items])
    assert audio.dtype == np.int16 and audio.shape == (20 * PERIOD, 2)
    assert np.array_equal(audio, raw_device[:20 * PERIOD])


class OverrunOnce:
    """The real PCM, except that read number `at` stalls `stall_s` and then reports what
    pyalsaaudio reports after an overrun (-EPIPE, no data; the PCM re-prepared). The
    file plugin over a null slave cannot overrun by itself: it has no clock."""

    def __init__(self, pcm: object, at: int, stall_s: float) -> None:
        self.pcm, self.at, self.stall_s, self.reads = pcm, at, stall_s, 0

    def read(self) -> tuple[int, bytes]:
        self.reads += 1
        if self.reads == self.at:
            time.sleep(self.stall_s)
            return -errno.EPIPE, b""
        return self.pcm.read()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.pcm, name)


def test_an_overrun_is_a_gap_and_the_clock_keeps_time(raw_device: np.ndarray) -> None:
    source = AlsaSource(PCM_NAME)
    source._pcm = OverrunOnce(source._pcm, at=3, stall_s=0.6)
    items = take(source, 6)
    source.close()
    assert [type(i).__name__ for i in items] == ["AudioBlock"] * 2 + ["SourceGap"] + ["AudioBlock"] * 3
    gap = items[2]
    assert isinstance(gap, SourceGap) and gap.reason == "overrun" and gap.sample == 2 * PERIOD
    assert 0.6 * PIPELINE_RATE <= gap.samples < 1.5 * PIPELINE_RATE
    assert items[3].sample == gap.sample + gap.samples          # the lost audio is on the clock
    assert source.stats.overruns == 1 and source.stats.lost_frames == gap.samples


class Unplugged:
    """The real PCM until read number `at`, which fails as ALSA does for a USB device
    that went away; the source must reopen the (real) device and report the outage."""

    def __init__(self, pcm: object, at: int) -> None:
        self.pcm, self.at, self.reads = pcm, at, 0

    def read(self) -> tuple[int, bytes]:
        self.reads += 1
        if self.reads == self.at:
            raise alsaaudio.ALSAAudioError("No such device [seatwatch_test]")
        return self.pcm.read()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.pcm.close()  # type: ignore[attr-defined]


def test_a_device_that_goes_away_is_reopened_and_the_outage_is_a_gap(raw_device: np.ndarray) -> None:
    source = AlsaSource(PCM_NAME, retry_interval=0.05)
    source._pcm = Unplugged(source._pcm, at=2)
    items = take(source, 4)
    source.close()
    assert isinstance(items[0], AudioBlock)
    assert isinstance(items[1], SourceGap) and items[1].reason == "device lost"
    assert isinstance(items[2], AudioBlock) and items[2].sample == items[1].sample + items[1].samples
    assert source.stats.reconnects == 1
    # a reopened file plugin starts its infile again: the device's audio, not silence
    assert np.array_equal(items[2].pcm, raw_device[:PERIOD])


def test_hook_ring_and_button_keys_become_control_events(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    audio_fifo, control_fifo = make_fifo(tmp_path / "audio"), make_fifo(tmp_path / "keys")
    for key, value in alsa_env(tmp_path, audio_fifo).items():
        monkeypatch.setenv(key, value)
    pcm = ramp(2.0)
    controls = [(0, "ring"), (3 * PERIOD, "off_hook"), (8 * PERIOD + 5, "button"),
                (15 * PERIOD, "on_hook")]
    feeder = Feeder(audio_fifo, pcm, controls, control_fifo, speed=4.0)
    feeder.start()
    source = AlsaSource(PCM_NAME, control=f"evdev:{control_fifo}")
    got: list = []
    deadline = time.monotonic() + 20
    for item in source.items():
        got.append(item)
        if sum(isinstance(i, ControlEvent) for i in got) == 4 or time.monotonic() > deadline:
            break
    source.close()
    feeder.stop()
    feeder.join(5)
    events = [i for i in got if isinstance(i, ControlEvent)]
    assert [e.kind for e in events] == ["ring", "off_hook", "button", "on_hook"]
    for event, (sample, _) in zip(events, controls, strict=True):
        # stamped with the next block's clock: within a period of the key, plus what the
        # reader lags behind the FIFO's writer (nothing, unless the machine is starved)
        assert abs(event.sample - sample) <= 4 * PERIOD, (event, sample)
    audio = np.concatenate([i.pcm for i in got if isinstance(i, AudioBlock)])
    assert np.array_equal(audio, pcm[:len(audio)])


def test_evdev_records_and_specs() -> None:
    from seatwatch.edge.sources.alsa import EV_KEY, INPUT_EVENT, KEY_PHONE, AlsaSourceError

    control = EvdevControl.parse("evdev:/dev/null?hook=30&ring=31")
    assert control.down == {30: "off_hook", 31: "ring", 184: "button"}
    data = (INPUT_EVENT.pack(1, 2, EV_KEY, 30, 1) + INPUT_EVENT.pack(1, 2, EV_KEY, 30, 2)
            + INPUT_EVENT.pack(1, 2, 4, 4, 30) + INPUT_EVENT.pack(1, 2, EV_KEY, 30, 0))
    assert control.feed(data + b"\x01\x02") == len(data)     # a torn record waits
    assert control.drain() == ["off_hook", "on_hook"]          # autorepeat, EV_MSC ignored
    assert EvdevControl.parse("evdev:/dev/null").down[KEY_PHONE] == "off_hook"
    assert EvdevControl.parse("evdev:/dev/null,/dev/zero?button=2").paths == ["/dev/null", "/dev/zero"]
    for bad in ("gpio:17", "evdev:", "evdev:/dev/null?hook=x", "evdev:/dev/null?mute=3"):
        with pytest.raises(AlsaSourceError):
            EvdevControl.parse(bad)
    with pytest.raises(AlsaSourceError, match="no such input device"):
        EvdevControl.parse("evdev:/nonexistent/event9")


def test_errors_name_the_device(raw_device: np.ndarray) -> None:
    with pytest.raises(SourceError, match="alsa:no_such_pcm: cannot open for capture"):
        open_source("alsa:no_such_pcm")
    with pytest.raises(SourceError, match="evdev:/dev/input"):
        open_source(f"alsa:{PCM_NAME}", control="hook.json")
