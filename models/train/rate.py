"""The speech-rate model: 15 s of the agent's speech frames -> characters per minute."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seatwatch.edge.dsp.features import remove_window_mean as normalise
from seatwatch.models.synth.dataset import RATE_WINDOW

N_MELS = 40
SCALE = 100.0      # the network predicts cpm / SCALE


@dataclass(frozen=True)
class RateTrainConfig:
    epochs: int = 40
    batch: int = 32
    learning_rate: float = 2e-3
    width: int = 32
    seed: int = 1234

    @classmethod
    def quick(cls) -> RateTrainConfig:
        return cls(epochs=40, width=16)   # few windows: more passes over them


def build_model(width: int) -> object:
    import tensorflow as tf
    from tensorflow.keras import layers

    inputs = tf.keras.Input((RATE_WINDOW, N_MELS), name="speech_logmel")
    x = inputs
    for filters, stride in ((width, 2), (width, 2), (width * 2, 2), (width * 2, 2)):
        x = layers.Conv1D(filters, 5, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dense(width, activation="relu")(x)
    outputs = layers.Dense(1, name="cpm_over_100")(x)
    return tf.keras.Model(inputs, outputs, name="seatwatch_rate")


def train(x: np.ndarray, y: np.ndarray, cfg: RateTrainConfig) -> object:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg.width)
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate),  # type: ignore[attr-defined]
                  loss="huber", metrics=["mae"])
    order = np.random.default_rng(cfg.seed).permutation(len(y))   # validation_split takes the tail
    model.fit(normalise(x[order]), y[order] / SCALE, batch_size=cfg.batch, epochs=cfg.epochs,  # type: ignore[attr-defined]
              validation_split=0.1, verbose=2,
              callbacks=[tf.keras.callbacks.ReduceLROnPlateau(patience=3, factor=0.5)])
    return model
