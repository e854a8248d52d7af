"""A speech-embedding front end for the keyword spotter, streaming.

The spotter's log-mel CNN learned the synthesizers it was trained on. This front end was
trained on real speech by others and stays frozen: Google's speech-embedding model as
openWakeWord packages it (models/front_end/NOTICE.md). Per 80 ms it turns the last
775 ms of audio into one 96-dim embedding; a small head trained here reads 16 of them.

Features, exactly as openWakeWord computes them (its melspectrogram.tflite, reproduced in
numpy to 1e-5 dB with its own filterbank, so only the embedding model ships):
512-sample frames every 160 samples (a 400-sample periodic Hann window centred), power
spectrum, 32 mel bands, 10 log10 with a 1e-10 floor, then no value more than 80 dB
under the loudest of its 80 ms group (8 frames; openWakeWord's streaming chunk), then
x / 10 + 2. The groups lie on a fixed grid from the start of the stream, so the
features do not depend on how the audio was cut into blocks: `embed` on a whole
recording and `push` block by block give the same numbers.

Timing: mel frame i covers samples [160 i, 160 i + 512); embedding k covers mel frames
[8 k + 4, 8 k + 80) (it ends with group k + 9) and exists once `available_at(k)` 10 ms
frames of audio have been seen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seatwatch.edge.models.loader import ModelError, TfliteModel
from seatwatch.edge.resources import data_dir

FRONT_END_DIR = data_dir("models") / "front_end"
RATE = 16000
HOP = 160                   # samples per mel frame step (10 ms, the pipeline's frame)
WIN = 512                   # samples per mel frame
GROUP = 8                   # mel frames per embedding step (80 ms)
SPAN = 76                   # mel frames per embedding
LEAD = GROUP * (SPAN // GROUP + 1) - SPAN   # 4: embedding k starts 4 frames into group k
DIM = 96
TOP_DB = 80.0
FLOOR = 1e-10


def available_at(k: np.ndarray | int) -> np.ndarray | int:
    """10 ms frames of audio after which embedding k can be computed."""
    last_mel = GROUP * k + LEAD + SPAN - 1
    return -(-(HOP * last_mel + WIN) // HOP)


def _window() -> np.ndarray:
    win = np.zeros(WIN)
    width = 400
    win[(WIN - width) // 2:(WIN + width) // 2] = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(width) / width)
    return win


class MelFrontEnd:
    """int16-scaled samples -> openWakeWord mel groups (8 frames x 32 bands each)."""

    def __init__(self, folder: Path = FRONT_END_DIR) -> None:
        path = folder / "mel_filters.npy"
        try:
            self.filters = np.load(path).astype(np.float64)
        except (OSError, ValueError) as exc:
            raise ModelError(f"mel filterbank {path} is missing or unreadable ({exc})") from None
        if self.filters.shape != (WIN // 2 + 1, 32):
            raise ModelError(f"mel filterbank {path} has shape {self.filters.shape}, not (257, 32)")
        self.window = _window()

    def groups(self, samples: np.ndarray) -> np.ndarray:
        """Samples covering whole groups: GROUP * g frames need HOP * (GROUP * g - 1) + WIN
        samples (extra samples are ignored) -> (g * GROUP, 32) features."""
        count = ((len(samples) - WIN) // HOP + 1) // GROUP * GROUP if len(samples) >= WIN else 0
        if not count:
            return np.zeros((0, 32), np.float32)
        frames = np.lib.stride_tricks.sliding_window_view(samples.astype(np.float64), WIN)[:HOP * count:HOP]
        spectrum = np.fft.rfft(frames * self.window, axis=1)
        power = spectrum.real ** 2 + spectrum.imag ** 2
        # einsum without BLAS: a fixed summation order whatever the number of frames, so
        # streaming and whole-recording features are bit-identical (BLAS blocking is not)
        mel = np.einsum("nf,fm->nm", power, self.filters, optimize=False)
        db = 10.0 * np.log10(np.maximum(mel, FLOOR)).reshape(-1, GROUP, 32)
        db = np.maximum(db, db.max(axis=(1, 2), keepdims=True) - TOP_DB)
        return (db.reshape(-1, 32) / 10.0 + 2.0).astype(np.float32)


class SpeechEmbedder:
    """Streaming embeddings of one audio channel. `push` takes int16 samples (any block
    size) and keeps the mel frames recent embeddings need; `embeddings(ks)` computes the
    ones asked for (the spotter asks only near speech)."""

    def __init__(self, folder: Path = FRONT_END_DIR) -> None:
        self.mel = MelFrontEnd(folder)
        self.model = TfliteModel(folder / "speech_embedding.tflite")
        if self.model.input_shape[1:] != (SPAN, 32, 1):
            raise ModelError(f"{self.model.path} takes {self.model.input_shape}, not (n, 76, 32, 1)")
        self.reset()

    def reset(self) -> None:
        self._samples = np.zeros(0, np.float64)     # not yet in a whole group
        self._mel = np.zeros((0, 32), np.float32)   # recent mel frames, up to ...
        self._mel_end = 0                           # ... this mel frame index (exclusive)
        self.frames_in = 0                          # 10 ms frames of audio pushed
        self.inferences = 0

    @property
    def ready(self) -> int:
        """Embeddings whose mel frames are all in (indexes 0 .. ready - 1)."""
        return max(0, (self._mel_end - LEAD - SPAN) // GROUP + 1)

    def push(self, pcm: np.ndarray, keep: int = 0) -> None:
        """Add int16 samples; keep the mel frames of embeddings from index `keep` on (older
        ones are never asked for again)."""
        self.frames_in += len(pcm) // HOP
        data = np.concatenate([self._samples, pcm.astype(np.float64)])
        mel = self.mel.groups(data)
        used = len(mel) * HOP
        self._samples = data[used:]
        self._mel_end += len(mel)
        mel = np.concatenate([self._mel, mel])
        self._mel = mel[max(0, len(mel) - (self._mel_end - (GROUP * keep + LEAD))):]

    def embeddings(self, ks: np.ndarray) -> np.ndarray:
        """(len(ks), 96) embeddings for indexes ks, all ready and still kept."""
        if not len(ks):
            return np.zeros((0, DIM), np.float32)
        starts = GROUP * np.asarray(ks) + LEAD - (self._mel_end - len(self._mel))
        if starts.min() < 0 or starts.max() + SPAN > len(self._mel):
            raise ValueError(f"embeddings {ks.min()}..{ks.max()} are not kept or not ready")
        x = np.stack([self._mel[s:s + SPAN] for s in starts])[..., None]
        self.inferences += len(ks)
        return self.model.run_batch(x).reshape(len(ks), DIM)


def pcm16(audio: np.ndarray) -> np.ndarray:
    """Float audio in [-1, 1] -> int16-scaled samples, as the device delivers them."""
    return np.clip(np.round(np.asarray(audio, np.float64) * 32767.0), -32768, 32767)


def embed(samples: np.ndarray, embedder: SpeechEmbedder | None = None) -> np.ndarray:
    """All embeddings of a recording (int16-scaled samples), as streaming gives them."""
    embedder = embedder or SpeechEmbedder()
    embedder.reset()
    embedder.push(np.asarray(samples))
    return embedder.embeddings(np.arange(embedder.ready))
