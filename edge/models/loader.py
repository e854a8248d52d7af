"""Load a .tflite model with tflite-runtime, or its successor ai-edge-litert.

The only place that knows which interpreter package is installed. Models are int8
with float scale/zero-point on input and output; `TfliteModel.run` hides that.
`run_batch` runs many inputs through interpreters resized to a batch (fewer, better
cached invocations; `analyze` reads 10 s blocks); a batch interpreter is only used
once it gave the numbers of one-at-a-time runs, bit for bit, on a probe input.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGES = ("tflite_runtime.interpreter", "ai_edge_litert.interpreter")
BATCHES = (16, 4, 1)        # interpreter batch sizes run_batch splits a batch into


class ModelError(RuntimeError):
    pass


def interpreter_class(packages: tuple[str, ...] = _PACKAGES) -> Any:
    for name in packages:
        try:
            return importlib.import_module(name).Interpreter
        except ImportError:
            continue
    raise ModelError(f"no TFLite interpreter installed (tried {', '.join(packages)}); "
                     "pip install tflite-runtime or ai-edge-litert")


class TfliteModel:
    def __init__(self, path: str | Path, packages: tuple[str, ...] = _PACKAGES) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise ModelError(f"model file {self.path} is missing (run `seatwatch models train`)")
        self._class = interpreter_class(packages)
        try:
            self._interp = self._class(model_path=str(self.path), num_threads=1)
            self._interp.allocate_tensors()
        except ValueError as exc:
            raise ModelError(f"model file {self.path} is not a valid TFLite model ({exc})") from None
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self._in["shape"])
        self.backend = type(self._interp).__module__.split(".")[0]
        self.runs, self.busy_s = 0, 0.0        # for the metrics topic's model latency
        self._batched: dict[int, Any] = {1: self._interp}   # batch size -> interpreter (None: unusable)

    @property
    def output_quantization(self) -> tuple[float, int]:
        """(scale, zero point) of an int8 output; (0.0, 0) for a float one."""
        if self._out["dtype"] != np.int8:
            return 0.0, 0
        scale, zero = self._out["quantization"]
        return float(scale), int(zero)

    @property
    def mean_ms(self) -> float | None:
        return self.busy_s / self.runs * 1000 if self.runs else None

    def run(self, x: np.ndarray) -> np.ndarray:
        """Float input of the model's shape (batch 1) -> float output."""
        return self._invoke(self._interp, self._quantize(x).reshape(self.input_shape), 1)

    def run_batch(self, x: np.ndarray) -> np.ndarray:
        """Float inputs (n, *input shape without its batch of 1) -> (n, *output shape
        without its batch): the numbers n calls of `run` give, in fewer invocations."""
        n = len(x)
        q = self._quantize(x)
        out = np.empty((n, *self._out["shape"][1:]), np.float32)
        at = 0
        while at < n:
            size = next(b for b in BATCHES if b <= n - at and self._interpreter(b) is not None)
            out[at:at + size] = self._invoke(self._batched[size], q[at:at + size], size)
            at += size
        return out

    def _quantize(self, x: np.ndarray) -> np.ndarray:
        scale, zero = self._in["quantization"]
        if self._in["dtype"] == np.int8:
            return np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        return x.astype(self._in["dtype"])

    def _invoke(self, interp: Any, q: np.ndarray, size: int) -> np.ndarray:
        began = time.perf_counter()
        interp.set_tensor(self._in["index"], q)
        interp.invoke()
        self.busy_s += time.perf_counter() - began
        self.runs += size
        out = interp.get_tensor(self._out["index"])
        scale, zero = self._out["quantization"]
        return (out.astype(np.float32) - zero) * scale if self._out["dtype"] == np.int8 else out

    def _interpreter(self, size: int) -> Any:
        """The interpreter for batches of `size`; None when the model cannot take them
        or gives other numbers than one input at a time (then smaller batches run)."""
        if size not in self._batched:
            self._batched[size] = None
            try:
                interp = self._class(model_path=str(self.path), num_threads=1)
                interp.resize_tensor_input(self._in["index"], [size, *self.input_shape[1:]])
                interp.allocate_tensors()
                probe = np.random.default_rng(size).integers(
                    -128, 128, (size, *self.input_shape[1:])).astype(self._in["dtype"])
                interp.set_tensor(self._in["index"], probe)
                interp.invoke()
                together = interp.get_tensor(self._out["index"]).copy()
                for row in range(size):
                    self._interp.set_tensor(self._in["index"], probe[row:row + 1])
                    self._interp.invoke()
                    if not np.array_equal(self._interp.get_tensor(self._out["index"])[0], together[row]):
                        return None
            except (ValueError, RuntimeError):
                return None
            self._batched[size] = interp
        return self._batched[size]
