"""A real ALSA capture device without a sound card: alsa-lib's `file` plugin reading its
capture data (`infile`) from a file or a FIFO over a `null` slave, defined in a private
ALSA config (ALSA_CONFIG_PATH). The seat's audio goes through libasound and pyalsaaudio
exactly as from a USB adapter; a FIFO paces it like a live device.

`Feeder` writes a stereo recording into that FIFO one ALSA period at a time (faster than
real time if asked) and the call-control keys into an input-event FIFO (struct
input_event records, as /dev/input/eventN gives them) at their place in the audio.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from seatwatch.edge.sources.alsa import EV_KEY, INPUT_EVENT, KEY_F13, KEY_F14, KEY_PHONE, PERIOD
from seatwatch.edge.sources.base import PIPELINE_RATE

SYSTEM_CONF = Path("/usr/share/alsa/alsa.conf")
PCM_NAME = "seatwatch_test"


def alsa_env(tmp: Path, infile: Path, name: str = PCM_NAME) -> dict[str, str]:
    """Environment that defines the capture PCM `name` reading `infile` (raw S16_LE)."""
    conf = tmp / "asound.conf"
    conf.write_text(f"pcm.{name} {{\n  type file\n  slave.pcm {{ type null }}\n"
                    f'  file "/dev/null"\n  infile "{infile}"\n  format "raw"\n}}\n')
    paths = [str(SYSTEM_CONF)] if SYSTEM_CONF.exists() else []
    return {"ALSA_CONFIG_PATH": ":".join([*paths, str(conf)])}


KEYS = {"off_hook": (KEY_PHONE, 1), "on_hook": (KEY_PHONE, 0), "ring": (KEY_F13, 1),
        "button": (KEY_F14, 1)}


def key_records(kind: str) -> bytes:
    """The input events a device sends for `kind` (a press, and a release for ring/button)."""
    code, value = KEYS[kind]
    now = time.time()
    sec, usec = int(now), int(now % 1 * 1e6)
    out = INPUT_EVENT.pack(sec, usec, EV_KEY, code, value) + INPUT_EVENT.pack(sec, usec, 0, 0, 0)
    if kind in ("ring", "button"):
        out += INPUT_EVENT.pack(sec, usec, EV_KEY, code, 0) + INPUT_EVENT.pack(sec, usec, 0, 0, 0)
    return out


class Feeder(threading.Thread):
    """Plays `pcm` (int16 (n, 2)) into the audio FIFO, controls [(sample, kind)] into the
    control FIFO, then silence until stop() (a FIFO at EOF would replay stale data)."""

    def __init__(self, audio_fifo: Path, pcm: np.ndarray, controls: list[tuple[int, str]] = (),
                 control_fifo: Path | None = None, speed: float = 8.0) -> None:
        super().__init__(daemon=True)
        self.audio_fifo, self.control_fifo = audio_fifo, control_fifo
        self.pcm = np.ascontiguousarray(pcm, dtype="<i2")
        self.controls = sorted(controls)
        self.speed = speed
        self.done = threading.Event()       # the recording (not the silence) is written
        self._halt = threading.Event()

    def run(self) -> None:
        audio = open(self.audio_fifo, "wb", buffering=0)  # noqa: SIM115 - blocks until ALSA opens it
        control = None
        try:
            if self.control_fifo is not None:
                control = open(self.control_fifo, "wb", buffering=0)  # noqa: SIM115
            pending = list(self.controls)
            start = time.monotonic()
            silence = np.zeros((PERIOD, 2), "<i2").tobytes()
            k = 0
            while not self._halt.is_set():
                at = k * PERIOD
                while pending and pending[0][0] < at + PERIOD and control is not None:
                    control.write(key_records(pending.pop(0)[1]))
                if at < len(self.pcm):
                    chunk = self.pcm[at:at + PERIOD]
                    if len(chunk) < PERIOD:
                        chunk = np.concatenate([chunk, np.zeros((PERIOD - len(chunk), 2), "<i2")])
                    audio.write(chunk.tobytes())
                else:
                    while pending and control is not None:
                        control.write(key_records(pending.pop(0)[1]))
                    self.done.set()
                    audio.write(silence)
                k += 1
                delay = start + k * PERIOD / PIPELINE_RATE / self.speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        except BrokenPipeError:
            pass                                # the reader went away
        finally:
            self.done.set()
            for f in (audio, control):
                if f is not None:
                    try:
                        f.close()
                    except BrokenPipeError:
                        pass

    def stop(self) -> None:
        self._halt.set()


def make_fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path
