"""Mandarin speech from espeak-ng with exact syllable counts.

espeak-ng 1.51 misreads Han characters for Mandarin, so text goes through pypinyin to
tone-numbered pinyin and is spoken with the `cmn-latn-pinyin` voice. One Han character
is one syllable, which gives rate ground truth for free. Voice variants (`m1`..`m7`,
`f1`..`f5`), speed (`-s`) and pitch (`-p`) give speaker and rate diversity.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

VOICES = tuple(f"m{i}" for i in range(1, 8)) + tuple(f"f{i}" for i in range(1, 6))
# Every variant espeak-ng 1.51 ships (voices/!v), for speaker diversity beyond the classic
# twelve; the data sets split them into training and held-out speakers.
VARIANTS = VOICES + (
    "m8", "Alex", "Alicia", "Andrea", "Andy", "Annie", "AnxiousAndy", "Denis", "Diogo", "Gene",
    "Gene2", "Henrique", "Hugo", "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen",
    "RicishayMax", "RicishayMax2", "RicishayMax3", "Storm", "Tweaky", "adam", "anika", "announcer",
    "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "croak", "david", "ed", "edward",
    "edward2", "fast", "grandma", "grandpa", "gustave", "iven", "iven2", "iven3", "iven4", "john",
    "kaukovalta", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "linda", "marcelo",
    "max", "michel", "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert",
    "sandro", "shelby", "steph", "steph2", "steph3", "travis", "victor", "whisper", "whisperf", "zac")
ESPEAK_RATE = 22_050
_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = {"，": ",", "。": ".", "？": "?", "！": "!", "、": ",", "；": ";", "：": ":"}


class SynthError(RuntimeError):
    pass


def cache_dir() -> Path:
    root = os.environ.get("SEATWATCH_CACHE") or Path.home() / ".cache" / "seatwatch"
    return Path(root)


def syllables(text: str) -> int:
    """Characters (= syllables) a speaker says for this text."""
    return len(_HAN.findall(text))


def to_pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    text = "".join(_PUNCT.get(ch, ch) for ch in text)
    tokens = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True)
    return " ".join(token.strip() for token in tokens if token.strip())


@functools.lru_cache(maxsize=1)
def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthError("espeak-ng is not installed (apt-get install espeak-ng)")
    return exe


def speak(text: str, *, voice: str = "f2", speed: int = 110, pitch: int = 50, gap: int = 0,
          rate: int = 16_000, cache: bool = True) -> np.ndarray:
    """Float32 mono audio of `text` (Han characters) at `rate` Hz.

    `speed` is espeak-ng's -s (it does not go below 80); `gap` adds that many 10 ms
    units between syllables (-g), which is how slower speakers are made.
    """
    if voice not in VARIANTS:
        raise SynthError(f"unknown voice variant {voice!r} (one of {', '.join(VARIANTS)})")
    pinyin = to_pinyin(text)
    key = hashlib.sha1(f"{pinyin}|{voice}|{speed}|{pitch}|{gap}|{rate}".encode()).hexdigest()
    cached = cache_dir() / "speech" / f"{key}.npy"
    if cache and cached.exists():
        return np.load(cached)
    proc = subprocess.run([_espeak(), "-v", f"cmn-latn-pinyin+{voice}", "-s", str(speed),
                           "-p", str(pitch), "-g", str(gap), "--stdout", pinyin], capture_output=True,
                          timeout=60, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise SynthError(f"espeak-ng failed: {proc.stderr.decode(errors='replace').strip()}")
    audio, sr = sf.read(io.BytesIO(proc.stdout), dtype="float32")
    if sr != rate:
        g = np.gcd(int(sr), rate)
        audio = resample_poly(audio, rate // g, int(sr) // g).astype(np.float32)
    if cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, audio)
    return audio
