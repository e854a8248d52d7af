"""A second neural voice family: the multi-speaker Mellotron (Tacotron 2 with a speaker
vector) and MelGAN vocoder whose weights ship inside the `ttskit` wheel, 24 named
Mandarin voices, male, female and child. The Baker voice (`neural.py`) is one recorded
speaker; these are many, and of another synthesizer: a family the models can be trained
on or held out from (leave-one-family-out, issue 12).

PyTorch and ttskit's pinned dependencies stay out of every seatwatch environment: the
voices run in their own (`make voices` builds it; SEATWATCH_VOICES_PYTHON points
elsewhere), driven through `mellotron_worker.py` on a pipe. Rendered audio is cached by
text and voice, like espeak-ng's.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seatwatch.models.synth.speech import SynthError, cache_dir, syllables

# Split by speaker, a male voice on each side. Xiaogang and Xiaowei are left out: their
# decoder stops after a syllable or two on most sentences. biaobei is the Baker speaker
# of `neural.py` again, so it only ever trains.
TRAIN_SPEAKERS = ("Aicheng", "Xiaoyun", "Aiyue", "Xiaoxue", "Aixia", "Aiya", "Aijia", "Aina",
                  "Aimei", "biaobei", "Aibao", "Aiwei", "Xiaobei", "Aitong", "Xiaomei")
TEST_SPEAKERS = ("Aida", "Aijing", "Siyue", "Aiyu", "Xiaomeng", "Yina", "Aiqi")
NATURAL_CPM = 300.0         # the voices' own pace (measured: 260-380 characters per minute)
RATE = 16_000


@dataclass(frozen=True)
class MellotronVoice:
    speaker: str
    stretch: float = 1.0    # > 1 speaks slower (the mel frames are resampled in time)

    def name(self) -> str:
        return f"ms:{self.speaker}:{self.stretch:.2f}"


def voices_python() -> Path:
    path = Path(os.environ.get("SEATWATCH_VOICES_PYTHON") or cache_dir() / "voices-venv" / "bin" / "python")
    if not path.exists():
        raise SynthError(f"the Mellotron voices need their own environment at {path}: run `make voices`")
    return path


def _cached(text: str, voice: MellotronVoice) -> Path:
    key = hashlib.sha1(f"{text}|{voice.name()}".encode()).hexdigest()
    return cache_dir() / "mellotron" / f"{key}.npy"


def plausible(audio: np.ndarray, text: str, stretch: float) -> bool:
    """Tacotron's attention sometimes stops early or babbles on: keep only audio whose
    pace (voiced span per character) is within what the voices do on good renders."""
    voiced = np.flatnonzero(np.abs(audio) > 0.01)
    if len(voiced) < 2:
        return False
    cpm = syllables(text) / ((voiced[-1] - voiced[0]) / RATE) * 60 * stretch
    return 150.0 <= cpm <= 480.0


def render_many(jobs: list[tuple[str, MellotronVoice]], workers: int = 2) -> list[np.ndarray | None]:
    """Audio (16 kHz float32) per (text, voice); None where the voice failed the sentence."""
    todo = [(text, voice, _cached(text, voice)) for text, voice in jobs]
    missing = [job for job in todo if not job[2].exists()]
    if missing:
        missing[0][2].parent.mkdir(parents=True, exist_ok=True)
        shares = [missing[k::workers] for k in range(workers)]
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda k: _worker(k).render(shares[k]), [k for k in range(workers) if shares[k]]))
    out: list[np.ndarray | None] = []
    for text, voice, path in todo:
        audio = np.load(path) if path.exists() else None
        out.append(audio if audio is not None and plausible(audio, text, voice.stretch) else None)
    return out


class _Worker:
    """One long-lived mellotron_worker.py (loading the models takes seconds; a clause less)."""

    def __init__(self) -> None:
        worker = Path(__file__).with_name("mellotron_worker.py")
        # -P: the worker must not import this folder's modules (speech.py, dataset.py) as its own
        self.proc = subprocess.Popen([str(voices_python()), "-P", str(worker)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     env={**os.environ, "PYTHONWARNINGS": "ignore"})
        self.lock = threading.Lock()
        if self._line() != "ready":
            raise SynthError("the Mellotron worker did not start (run `make voices`)")

    def _line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def render(self, jobs: list[tuple[str, MellotronVoice, Path]]) -> None:
        assert self.proc.stdin is not None
        with self.lock:
            for text, voice, path in jobs:
                # seeded by the cache key: a render is the same on every run of one machine
                job = {"text": text, "speaker": voice.speaker, "stretch": voice.stretch, "out": str(path),
                       "seed": int(path.stem[:8], 16)}
                self.proc.stdin.write(json.dumps(job, ensure_ascii=False) + "\n")
                self.proc.stdin.flush()
                if not self._line():
                    raise SynthError("the Mellotron worker stopped")


_WORKERS: dict[int, _Worker] = {}
_POOL_LOCK = threading.Lock()


def _worker(index: int) -> _Worker:
    with _POOL_LOCK:
        if index not in _WORKERS or _WORKERS[index].proc.poll() is not None:
            _WORKERS[index] = _Worker()
        return _WORKERS[index]


def parse(name: str) -> MellotronVoice:
    try:
        family, speaker, stretch = name.split(":")
        if family != "ms" or speaker not in TRAIN_SPEAKERS + TEST_SPEAKERS:
            raise ValueError
        return MellotronVoice(speaker, float(stretch))
    except ValueError:
        raise SynthError(f"not a Mellotron voice name: {name!r} (ms:SPEAKER:STRETCH)") from None


def is_mellotron(voice: str) -> bool:
    return voice.startswith("ms:")


def speak_mellotron(text: str, voice: str) -> np.ndarray:
    """One clause (a worker is started unless it is cached: render_many first for many)."""
    audio = render_many([(text, parse(voice))], workers=1)[0]
    if audio is None:
        raise SynthError(f"the Mellotron voice {voice} failed on {text!r}")
    return audio


def test_voice(rng: random.Random, cpm: float) -> str:
    """A held-out speaker paced at about `cpm` characters per minute."""
    stretch = round(max(0.9, NATURAL_CPM / cpm), 2)
    return MellotronVoice(rng.choice(TEST_SPEAKERS), stretch).name()
