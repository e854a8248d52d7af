"""The keyword model: a small depthwise-separable CNN over 2 s of log-mel frames."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seatwatch.edge.dsp.features import remove_window_mean as normalise
from seatwatch.models.synth import corpus
from seatwatch.models.synth.dataset import WINDOW

N_MELS = 40


@dataclass(frozen=True)
class KwsTrainConfig:
    epochs: int = 14
    batch: int = 64
    learning_rate: float = 2e-3
    width: int = 48
    seed: int = 1234
    aug_passes: int = 1         # extra hearings of the training speech (other noise, channel)
    # share of the extra passes' windows put into steady room noise: 0 for the shipped model
    # (0.4 was design C, models/experiments: not better on held-out sets or the call benchmark)
    steady_share: float = 0.0
    steady_snr_db: tuple[float, float] = (5.0, 30.0)

    @classmethod
    def quick(cls) -> KwsTrainConfig:
        return cls(epochs=30, batch=32, width=24, aug_passes=0)


def add_steady_noise(x: np.ndarray, rng: np.random.Generator, share: float,
                     snr_db: tuple[float, float], bank: int = 64) -> np.ndarray:
    """`share` of the log-mel windows `x` with steady room noise added in the mel power
    domain (speech and noise powers add; their cross terms average out over a mel band):
    hum, fans, air conditioning of random colour (seatwatch.models.synth.augment.steady_noise) at a
    random SNR against the window's louder half of frames. The data sets hold features,
    not audio, so this is how noise the synthesis never mixed in reaches the model."""
    from seatwatch.edge.dsp.features import LOG_FLOOR, logmel
    from seatwatch.models.synth.augment import steady_noise

    out = x.astype(np.float32, copy=True)
    window = x.shape[1]
    noises = np.exp(np.stack([logmel(steady_noise(rng, (window + 2) * 160))[-window:]
                              for _ in range(bank)]))
    noise_power = noises.sum(axis=2).mean(axis=1)                 # per clip, per frame
    for i in np.flatnonzero(rng.random(len(x)) < share):
        speech = np.exp(out[i]) - LOG_FLOOR
        frame_power = speech.sum(axis=1)
        level = frame_power[frame_power >= np.median(frame_power)].mean()
        k = int(rng.integers(bank))
        gain = level / noise_power[k] * 10 ** (-rng.uniform(*snr_db) / 10)
        out[i] = np.log(speech + gain * noises[k] + LOG_FLOOR)
    return out.astype(x.dtype)


def build_model(width: int) -> object:
    import tensorflow as tf
    from tensorflow.keras import layers

    inputs = tf.keras.Input((WINDOW, N_MELS), name="logmel")
    x = layers.Reshape((WINDOW, N_MELS, 1))(inputs)
    # 40 ms time steps after the first layer: keywords last 300-900 ms, and the edge runs
    # this 10 times a second per seat, so the first stride buys most of the speed.
    x = layers.Conv2D(width, (7, 3), strides=(4, 2), padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    for stride in ((2, 2), (2, 2), (2, 2), (1, 1)):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(width, 1, use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(len(corpus.LABELS), activation="softmax", name="posteriors")(x)
    return tf.keras.Model(inputs, outputs, name="seatwatch_kws")


def train(x: np.ndarray, y: np.ndarray, cfg: KwsTrainConfig) -> object:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(cfg.seed)
    model = build_model(cfg.width)
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate),  # type: ignore[attr-defined]
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    order = np.random.default_rng(cfg.seed).permutation(len(y))   # validation_split takes the tail
    xs, y = normalise(x[order]), y[order]
    counts = np.bincount(y, minlength=len(corpus.LABELS)).astype(np.float64)
    weights = {i: float(len(y) / (len(counts) * max(c, 1))) for i, c in enumerate(counts)}
    model.fit(xs, y, batch_size=cfg.batch, epochs=cfg.epochs, validation_split=0.1,  # type: ignore[attr-defined]
              class_weight=weights, verbose=2,
              callbacks=[tf.keras.callbacks.ReduceLROnPlateau(patience=2, factor=0.5)])
    return model


def logits_model(model: object) -> object:
    """The trained model without its final softmax, for conversion: int8 softmax outputs
    step by 1/256, so every confident window scores 255/256 and no threshold above ~0.99
    separates a keyword from a confident false alarm; int8 logits keep that margin (the
    spotter applies the softmax in float)."""
    import tensorflow as tf
    from tensorflow.keras import layers

    head = model.get_layer("posteriors")  # type: ignore[attr-defined]
    linear = layers.Dense(head.units, name="logits")
    outputs = linear(head.input)
    linear.set_weights(head.get_weights())
    return tf.keras.Model(model.input, outputs, name="seatwatch_kws_logits")  # type: ignore[attr-defined]


def hard_negatives(model: object, feats: np.ndarray, hop: int = 20, floor: float = 0.3) -> np.ndarray:
    """Windows of keyword-free speech on which the model believes a keyword (any keyword
    posterior >= floor): the false alarms to learn from."""
    ends = np.arange(WINDOW, len(feats) + 1, hop)
    found = []
    for chunk in np.array_split(ends, max(1, len(ends) // 512)):
        x = np.stack([feats[e - WINDOW:e] for e in chunk])
        post = model.predict(normalise(x), verbose=0, batch_size=256)  # type: ignore[attr-defined]
        found.append(x[post[:, : len(corpus.KEYWORDS)].max(axis=1) >= floor])
    return np.concatenate(found).astype(np.float16)


def fine_tune(model: object, x: np.ndarray, y: np.ndarray, negatives: np.ndarray, cfg: KwsTrainConfig,
              epochs: int = 5) -> object:
    """A few more epochs with the mined false alarms added as filler, at a lower rate."""
    import tensorflow as tf

    filler = corpus.LABELS.index(corpus.FILLER)
    xs = np.concatenate([x, negatives, negatives])     # twice: they are the rare, hard cases
    ys = np.concatenate([y, np.full(2 * len(negatives), filler, y.dtype)])
    order = np.random.default_rng(cfg.seed + 1).permutation(len(ys))
    model.compile(optimizer=tf.keras.optimizers.Adam(cfg.learning_rate / 4),  # type: ignore[attr-defined]
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    counts = np.bincount(ys, minlength=len(corpus.LABELS)).astype(np.float64)
    weights = {i: float(len(ys) / (len(counts) * max(c, 1))) for i, c in enumerate(counts)}
    model.fit(normalise(xs[order]), ys[order], batch_size=cfg.batch, epochs=epochs,  # type: ignore[attr-defined]
              validation_split=0.1, class_weight=weights, verbose=2)
    return model
