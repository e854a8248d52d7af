"""Drain a SerialSource until a number of stream samples has gone by."""

from __future__ import annotations

import threading
import time

import numpy as np

from seatwatch.edge.link.serial_source import SerialSource
from seatwatch.edge.sources.base import AudioBlock, ControlEvent, SourceGap, SourceItem


def collect(source: SerialSource, samples: int, timeout: float = 20.0,
            on_item=None, done=None) -> list[SourceItem]:
    """Items until audio (or gaps) reach `samples`, or `done()` has held for 0.6 s
    (the device ran out of audio; the tail may have been lost), or the timeout."""
    items: list[SourceItem] = []
    stop = threading.Event()

    def closer() -> None:
        deadline = time.monotonic() + timeout
        finished_at = None
        while not stop.wait(0.05):
            now = time.monotonic()
            if done is not None and done():
                finished_at = finished_at or now
                if now - finished_at > 0.6:
                    break
            if now > deadline:
                break
        source.close()

    watcher = threading.Thread(target=closer, daemon=True)
    watcher.start()
    try:
        for item in source.items():
            items.append(item)
            if on_item is not None:
                on_item(item)
            end = (item.sample + len(item.pcm) if isinstance(item, AudioBlock)
                   else item.sample + item.samples if isinstance(item, SourceGap) else 0)
            if end >= samples:
                source.close()
    finally:
        stop.set()
        watcher.join()
    return items


def audio_of(items: list[SourceItem]) -> tuple[np.ndarray, np.ndarray]:
    """Reassembled stereo audio and a mask of samples that arrived (False in gaps)."""
    blocks = [i for i in items if isinstance(i, AudioBlock)]
    end = max(b.sample + len(b.pcm) for b in blocks)
    pcm = np.zeros((end, 2), np.int16)
    have = np.zeros(end, bool)
    for b in blocks:
        pcm[b.sample:b.sample + len(b.pcm)] = b.pcm
        assert not have[b.sample:b.sample + len(b.pcm)].any(), "audio delivered twice"
        have[b.sample:b.sample + len(b.pcm)] = True
    return pcm, have


def controls(items: list[SourceItem]) -> list[tuple[int, str]]:
    return [(i.sample, i.kind) for i in items if isinstance(i, ControlEvent)]


def gaps(items: list[SourceItem]) -> list[SourceGap]:
    return [i for i in items if isinstance(i, SourceGap)]


def assert_in_order(items: list[SourceItem]) -> None:
    """Each item starts no earlier than the previous one (the AudioSource contract);
    audio and gaps tile the stream without overlap."""
    last = 0
    covered = 0
    for item in items:
        assert item.sample >= last or isinstance(item, ControlEvent) and item.sample >= last - 160, item
        last = max(last, item.sample)
        if isinstance(item, (AudioBlock, SourceGap)):
            assert item.sample == covered, f"stream hole or overlap at {covered}: {item}"
            covered = item.sample + (len(item.pcm) if isinstance(item, AudioBlock) else item.samples)
