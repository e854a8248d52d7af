"""Keras -> fully int8 TFLite, calibrated on real training inputs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def to_int8_tflite(model: object, calibration: np.ndarray, samples: int = 300) -> bytes:
    import tensorflow as tf

    def representative() -> Iterator[list[np.ndarray]]:
        rng = np.random.default_rng(0)
        for index in rng.choice(len(calibration), min(samples, len(calibration)), replace=False):
            yield [calibration[index:index + 1].astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())
