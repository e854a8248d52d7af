"""Load a .tflite model with tflite-runtime, or its successor ai-edge-litert.

The only place that knows which interpreter package is installed. Models are int8
with float scale/zero-point on input and output; `TfliteModel.run` hides that.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Any

import numpy as np

_PACKAGES = ("tflite_runtime.interpreter", "ai_edge_litert.interpreter")


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
        try:
            self._interp = interpreter_class(packages)(model_path=str(self.path), num_threads=1)
            self._interp.allocate_tensors()
        except ValueError as exc:
            raise ModelError(f"model file {self.path} is not a valid TFLite model ({exc})") from None
        self._in = self._interp.get_input_details()[0]
        self._out = self._interp.get_output_details()[0]
        self.input_shape = tuple(int(d) for d in self._in["shape"])
        self.backend = type(self._interp).__module__.split(".")[0]
        self.runs, self.busy_s = 0, 0.0        # for the metrics topic's model latency

    @property
    def mean_ms(self) -> float | None:
        return self.busy_s / self.runs * 1000 if self.runs else None

    def run(self, x: np.ndarray) -> np.ndarray:
        """Float input of the model's shape (batch 1) -> float output."""
        scale, zero = self._in["quantization"]
        if self._in["dtype"] == np.int8:
            q = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
        else:
            q = x.astype(self._in["dtype"])
        began = time.perf_counter()
        self._interp.set_tensor(self._in["index"], q.reshape(self.input_shape))
        self._interp.invoke()
        self.busy_s += time.perf_counter() - began
        self.runs += 1
        out = self._interp.get_tensor(self._out["index"])
        scale, zero = self._out["quantization"]
        return (out.astype(np.float32) - zero) * scale if self._out["dtype"] == np.int8 else out
