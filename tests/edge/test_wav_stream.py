"""`analyze` streams 16-bit WAV files block by block (issue 15: a 2-hour call held the whole
file in memory): the streamed source yields the very blocks and controls the whole-file
source does, and a file cut short ends where its audio ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from seatwatch.edge.analyze import BLOCK
from seatwatch.edge.sources.base import AudioBlock, ControlEvent
from seatwatch.edge.sources.wavfile import CONTROL_GRAIN, WavSource

RENDERED = Path(__file__).resolve().parents[2] / "scenarios" / "rendered"


def as_wav(name: str, folder: Path) -> Path:
    pcm, rate = sf.read(str(RENDERED / f"{name}.ogg"), dtype="float32", always_2d=True)
    out = folder / f"{name}.wav"
    sf.write(str(out), pcm, rate, subtype="PCM_16")
    return out


def items(source: WavSource) -> list[tuple[str, int, bytes]]:
    out = []
    for item in source.items():
        if isinstance(item, AudioBlock):
            assert item.pcm.dtype == np.int16 and item.pcm.shape[1] == 2
            out.append(("audio", item.sample, item.pcm.tobytes()))
        elif isinstance(item, ControlEvent):
            out.append((item.kind, item.sample, b""))
    return out


@pytest.mark.parametrize("block", [CONTROL_GRAIN, BLOCK])
@pytest.mark.parametrize("name", ["answer_late", "long_hold"])
def test_streamed_blocks_are_the_whole_file_blocks(name: str, block: int, tmp_path: Path) -> None:
    wav = as_wav(name, tmp_path)
    control = RENDERED / f"{name}.json"
    whole = WavSource(wav, control, block=block)
    streamed = WavSource(wav, control, block=block, stream=True)
    assert len(streamed.pcm) == 0 and streamed.duration_s == whole.duration_s   # nothing read up front
    assert items(streamed) == items(whole)


def test_a_wav_cut_short_streams_what_it_holds(tmp_path: Path) -> None:
    wav = as_wav("answer_late", tmp_path)
    data = wav.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) * 2 // 3])          # the header still promises it all
    whole = [i for i in items(WavSource(cut, block=BLOCK)) if i[0] == "audio"]
    streamed = [i for i in items(WavSource(cut, block=BLOCK, stream=True)) if i[0] == "audio"]
    assert b"".join(b for _, _, b in streamed) == b"".join(b for _, _, b in whole)
    assert 0 < sum(len(b) for _, _, b in streamed) < (len(data) - 44) * 3 // 4


def test_other_files_are_read_whole(tmp_path: Path) -> None:
    source = WavSource(RENDERED / "answer_late.ogg", block=BLOCK, stream=True)
    assert len(source.pcm) > 0                           # Vorbis: decoded as one signal
