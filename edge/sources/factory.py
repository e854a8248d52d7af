"""Source specs (`wav:FILE`, `serial:PORT`, `alsa:DEVICE`) to AudioSource objects."""

from __future__ import annotations

from pathlib import Path

from seatwatch.edge.sources.base import AudioSource
from seatwatch.edge.sources.wavfile import WavSource


class SourceError(ValueError):
    pass


def open_source(spec: str, *, control: str | None = None, loop: bool = False,
                realtime: bool = True, seat: str = "S1", offset_s: float = 0.0) -> AudioSource:
    kind, _, target = spec.partition(":")
    if not target:
        raise SourceError(f"source {spec!r}: expected serial:PORT, wav:FILE or alsa:DEVICE")
    if kind == "wav":
        return WavSource(Path(target), control, realtime=realtime, loop=loop,
                         device=f"replay-{seat}", offset_s=offset_s)
    if kind == "serial":
        # imported here: the link loads the firmware's framing modules from firmware/
        from seatwatch.edge.link.serial_source import SerialLinkError, SerialSource
        try:
            return SerialSource(target)
        except SerialLinkError as exc:
            raise SourceError(str(exc)) from None
    if kind == "alsa":
        # the Pi-inline variant: imported here, pyalsaaudio is an optional extra
        from seatwatch.edge.sources.alsa import AlsaSource, AlsaSourceError
        try:
            return AlsaSource(target, control=control, label=f"alsa-{seat}")
        except AlsaSourceError as exc:
            raise SourceError(str(exc)) from None
    raise SourceError(f"source {spec!r}: unknown kind {kind!r} (expected wav, serial or alsa)")
