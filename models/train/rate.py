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
    # networks trained from seeds seed, seed + 1, ... and averaged in one model: a single
    # one's bias on a held-out family swung by 5 cpm from seed to seed (4.5-10.6 cpm MAE
    # on 70-220 cpm windows of one family); two average out a part of it at 2x ~0.5 ms
    members: int = 2
    # spectral augmentation while training (off: 0): a random warp of the mel axis by a
    # factor 1 +- warp (a vocal tract or a voice the model never heard), a random spectral
    # tilt of +- tilt log units across the band (a microphone, a channel), one band of up
    # to mask_bins bins masked (SpecAugment). Leaving one family out, it took the held-out
    # family's 60 s MAE from 11.1 to 9.7 cpm and the others' from 4.8 to 4.0
    # (models/experiments/README.md, eleventh session)
    warp: float = 0.12
    tilt: float = 1.0
    mask_bins: int = 4
    # tempo augmentation (off: 0): half the windows slowed by a factor 1..1 + tempo (the
    # first 1/factor of the window stretched over all of it, the label divided by the
    # factor): rates a voice was never heard at
    tempo: float = 0.0

    @classmethod
    def quick(cls) -> RateTrainConfig:
        return cls(epochs=40, width=16, members=1)   # few windows: more passes over them


def build_model(width: int, name: str = "seatwatch_rate") -> object:
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
    return tf.keras.Model(inputs, outputs, name=name)


def train(x: np.ndarray, y: np.ndarray, cfg: RateTrainConfig) -> object:
    """cfg.members networks, each trained alone, averaged in one model (one input, one output)."""
    import tensorflow as tf

    members = [train_member(x, y, cfg, cfg.seed + index) for index in range(cfg.members)]
    if len(members) == 1:
        return members[0]
    inputs = tf.keras.Input((RATE_WINDOW, N_MELS), name="speech_logmel")
    outputs = tf.keras.layers.Average(name="cpm_over_100")([m(inputs) for m in members])  # type: ignore[operator]
    return tf.keras.Model(inputs, outputs, name="seatwatch_rate_ensemble")


def spectral_augment(cfg: RateTrainConfig) -> object:
    """A layer that, while training only, warps the mel axis, tilts and masks the spectrum
    of each window (one draw per window); identity otherwise, and never exported."""
    import tensorflow as tf

    class SpectralAugment(tf.keras.layers.Layer):  # type: ignore[misc,name-defined]
        def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
            if not training:
                return x
            batch, mels = tf.shape(x)[0], N_MELS
            bins = tf.range(mels, dtype=tf.float32)[None, :]
            scale = tf.random.uniform([batch, 1], 1.0 - cfg.warp, 1.0 + cfg.warp)
            pos = tf.clip_by_value(bins * scale, 0.0, mels - 1.0)
            lo = tf.cast(tf.floor(pos), tf.int32)
            hi = tf.minimum(lo + 1, mels - 1)
            frac = (pos - tf.floor(pos))[:, None, :]
            x = (tf.gather(x, lo, axis=2, batch_dims=1) * (1.0 - frac)
                 + tf.gather(x, hi, axis=2, batch_dims=1) * frac)
            slope = tf.random.uniform([batch, 1, 1], -cfg.tilt, cfg.tilt)
            x = x + slope * (bins[:, None, :] / (mels - 1) - 0.5)
            if cfg.mask_bins:
                width = tf.random.uniform([batch, 1, 1], 0, cfg.mask_bins + 1, tf.int32)
                start = tf.random.uniform([batch, 1, 1], 0, mels - cfg.mask_bins, tf.int32)
                at = tf.range(mels)[None, None, :]
                x = tf.where((at >= start) & (at < start + width), 0.0, x)
            return x - tf.reduce_mean(x, axis=[1, 2], keepdims=True)   # the input normalisation

    return SpectralAugment(name="spectral_augment")


def train_member(x: np.ndarray, y: np.ndarray, cfg: RateTrainConfig, seed: int) -> object:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build_model(cfg.width, f"seatwatch_rate_seed{seed}")
    fitted = model
    if cfg.warp or cfg.tilt or cfg.mask_bins:
        inputs = tf.keras.Input((RATE_WINDOW, N_MELS), name="speech_logmel")
        fitted = tf.keras.Model(inputs, model(spectral_augment(cfg)(inputs)))  # type: ignore[operator]
    fitted.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate),  # type: ignore[attr-defined]
                  loss="huber", metrics=["mae"])
    order = np.random.default_rng(seed).permutation(len(y))   # validation_split takes the tail
    callbacks = [tf.keras.callbacks.ReduceLROnPlateau(patience=3, factor=0.5)]
    if not cfg.tempo:
        fitted.fit(normalise(x[order]), y[order] / SCALE, batch_size=cfg.batch, epochs=cfg.epochs,  # type: ignore[attr-defined]
                   validation_split=0.1, verbose=2, callbacks=callbacks)
        return model
    cut = int(len(order) * 0.9)
    train_idx, val_idx = order[:cut], order[cut:]
    labels = (y[train_idx] / SCALE).astype(np.float32)
    data = (tf.data.Dataset.from_tensor_slices((normalise(x[train_idx]), labels))
            .shuffle(cut, seed=seed, reshuffle_each_iteration=True).batch(cfg.batch)
            .map(lambda xb, yb: slowed(xb, yb, cfg.tempo)).prefetch(2))
    fitted.fit(data, validation_data=(normalise(x[val_idx]), y[val_idx] / SCALE), epochs=cfg.epochs,  # type: ignore[attr-defined]
               verbose=2, callbacks=callbacks)
    return model


def slowed(x: object, y: object, tempo: float) -> tuple[object, object]:
    """A batch with half its windows slowed by 1..1 + tempo: frame t of the result is frame
    t / factor of the input (linear interpolation), so the rate reads 1 / factor of it."""
    import tensorflow as tf

    batch, frames = tf.shape(x)[0], RATE_WINDOW  # type: ignore[index]
    factor = tf.where(tf.random.uniform([batch, 1]) < 0.5,
                      tf.random.uniform([batch, 1], 1.0, 1.0 + tempo), 1.0)
    pos = tf.range(frames, dtype=tf.float32)[None, :] / factor
    lo = tf.cast(tf.floor(pos), tf.int32)
    hi = tf.minimum(lo + 1, frames - 1)
    frac = (pos - tf.floor(pos))[:, :, None]
    out = (tf.gather(x, lo, axis=1, batch_dims=1) * (1.0 - frac)
           + tf.gather(x, hi, axis=1, batch_dims=1) * frac)
    out = out - tf.reduce_mean(out, axis=[1, 2], keepdims=True)
    return out, y / factor[:, 0]  # type: ignore[operator]
