"""A seat's day on the simulated floor: rendered calls strung together with idle gaps.

Each simulated seat plays its own rotation of the rendered scenarios, starting at a
different call and after a different idle time, so the floor is never in lock step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seatwatch.edge.sim.scenario import RATE, RENDERED_DIR
from seatwatch.edge.sources.base import ControlEvent
from seatwatch.edge.sources.wavfile import read_stereo


@dataclass(frozen=True)
class RenderedCall:
    name: str
    pcm: np.ndarray                  # int16 (n, 2) at RATE
    controls: tuple[ControlEvent, ...]
    expect: tuple[str, ...]


@dataclass(frozen=True)
class Playlist:
    pcm: np.ndarray                  # int16 (n, 2): the whole rotation, played in a loop
    controls: tuple[ControlEvent, ...]
    calls: tuple[tuple[str, int], ...]   # (scenario name, first sample) in play order


def load_rendered(directory: Path = RENDERED_DIR, names: list[str] | None = None) -> list[RenderedCall]:
    calls = []
    for audio in sorted([*directory.glob("*.ogg"), *directory.glob("*.flac")]):
        if names and audio.stem not in names:
            continue
        meta = json.loads(audio.with_suffix(".json").read_text(encoding="utf-8"))
        pcm = read_stereo(audio, RATE)
        controls = tuple(ControlEvent(round(c["t"] * RATE), c["type"]) for c in meta["events"])
        calls.append(RenderedCall(audio.stem, pcm, controls, tuple(meta.get("expect", ()))))
    if not calls:
        raise FileNotFoundError(f"no rendered scenarios in {directory} "
                                "(run `seatwatch scenarios render`)")
    return calls


def build_playlist(calls: list[RenderedCall], seat_index: int, *, idle_s: float = 4.0,
                   stagger_s: float = 3.0, noise_dbfs: float = -80.0) -> Playlist:
    """Seat `seat_index` starts at call `seat_index` after `stagger_s * seat_index` idle."""
    rng = np.random.default_rng(seat_index)
    order = [calls[(seat_index + k) % len(calls)] for k in range(len(calls))]
    parts: list[np.ndarray] = []
    controls: list[ControlEvent] = []
    starts: list[tuple[str, int]] = []
    cursor = 0

    def idle(seconds: float) -> None:
        nonlocal cursor
        samples = int(seconds * RATE)
        noise = rng.standard_normal((samples, 2)) * (32767 * 10 ** (noise_dbfs / 20))
        parts.append(noise.astype(np.int16))
        cursor += samples

    idle(0.5 + stagger_s * seat_index)
    for call in order:
        starts.append((call.name, cursor))
        controls.extend(ControlEvent(cursor + c.sample, c.kind) for c in call.controls)
        parts.append(call.pcm)
        cursor += len(call.pcm)
        idle(idle_s + float(rng.uniform(0, 2)))
    return Playlist(np.concatenate(parts), tuple(controls), tuple(starts))
