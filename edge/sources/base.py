"""The audio-source interface every input (WAV/FLAC replay, serial device, ALSA) feeds.

A source yields, in sample-clock order, stereo audio blocks and call-control events.
Channel 0 is the agent's microphone, channel 1 the earpiece (the caller). Times are
sample indices at PIPELINE_RATE from the start of the stream, so audio and control
signals share one clock and nothing depends on wall time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

PIPELINE_RATE = 16_000          # Hz; the device's I2S rate and every model's input rate
FRAME_SAMPLES = 160             # 10 ms per channel: the unit of levels, VAD and features
MIC, EAR = 0, 1                 # channel indices

ControlKind = Literal["ring", "off_hook", "on_hook", "far_end_hangup", "button"]
CONTROL_KINDS: tuple[str, ...] = ("ring", "off_hook", "on_hook", "far_end_hangup", "button")


@dataclass(frozen=True)
class AudioBlock:
    sample: int                 # sample-clock index of the first sample
    pcm: np.ndarray             # int16, shape (n, 2): [:, MIC] agent, [:, EAR] caller


@dataclass(frozen=True)
class ControlEvent:
    sample: int                 # sample-clock index at which the signal changed
    kind: str                   # one of CONTROL_KINDS


@dataclass(frozen=True)
class SourceGap:
    """Audio the source knows it lost (dropped frames, a resync): `samples` are missing."""
    sample: int
    samples: int
    reason: str


@dataclass(frozen=True)
class DeviceInfo:
    device: str = "replay"          # device id (serial number for hardware)
    firmware: str | None = None
    board: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


SourceItem = AudioBlock | ControlEvent | SourceGap


class AudioSource(Protocol):
    """Anything the seat pipeline can consume."""

    info: DeviceInfo

    def items(self) -> Iterator[SourceItem]:
        """Blocks, control events and gaps in sample order; ends when the source ends."""
        ...

    def send_led(self, pattern: str) -> None:
        """Show an LED pattern to the agent (ignored by sources without a device)."""
        ...

    def close(self) -> None:
        ...


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] to int16, clipping like an ADC would."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
