"""The rate model's spectral augmentation: a training-time layer only (TensorFlow runs in
a subprocess: the TFLite runtime of the other tests does not load beside it)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = r"""
import json
import numpy as np
import tensorflow as tf
from seatwatch.models.train.rate import RateTrainConfig, spectral_augment

layer = spectral_augment(RateTrainConfig(warp=0.12, tilt=1.0, mask_bins=4))
rng = np.random.default_rng(0)
x = rng.standard_normal((8, 1500, 40)).astype(np.float32)
x -= x.mean(axis=(1, 2), keepdims=True)
x[:, :, 30:] += 3.0                                  # a bright top band: a warp moves it
x -= x.mean(axis=(1, 2), keepdims=True)
off = layer(x, training=False).numpy()
on = layer(x, training=True).numpy()
print(json.dumps({
    "identity_off": bool(np.array_equal(off, x)),
    "shape": list(on.shape),
    "changed": float(np.abs(on - x).mean()),
    "mean": float(np.abs(on.mean(axis=(1, 2))).max()),
    "per_window_differs": bool(np.abs(on[0] - x[0]).mean() != np.abs(on[1] - x[1]).mean()),
}))
"""


def test_spectral_augment_is_identity_at_inference_and_varies_each_window_in_training() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["identity_off"]                       # exported models never see it
    assert got["shape"] == [8, 1500, 40]
    assert got["changed"] > 0.05                     # warped, tilted, masked
    assert got["mean"] < 1e-4                        # still the models' input normalisation
    assert got["per_window_differs"]                 # one draw per window


SLOWED = r"""
import json
import numpy as np
import tensorflow as tf
from seatwatch.models.train.rate import slowed

ramp = np.tile(np.arange(1500, dtype=np.float32)[None, :, None], (64, 1, 40))   # frame t holds t
y = np.full(64, 1.2, np.float32)
out, y2 = slowed(tf.constant(ramp), tf.constant(y), 0.5)
out, y2 = out.numpy(), y2.numpy()
slope = (out[:, 1000, 0] - out[:, 0, 0]) / 1000.0          # frames of input per frame of output
print(json.dumps({"ratio": (y2 / y).tolist(), "slope": slope.tolist()}))
"""


def test_slowed_windows_stretch_time_and_their_labels_follow() -> None:
    done = subprocess.run([sys.executable, "-c", SLOWED], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    ratio, slope = got["ratio"], got["slope"]
    assert all(1 / 1.5 - 1e-6 <= r <= 1.0 + 1e-6 for r in ratio)
    assert 10 <= sum(r < 0.999 for r in ratio) <= 54       # about half the windows slowed
    # the window's content runs 1/factor as fast: exactly what its label now says
    assert all(abs(s - r) < 1e-3 for s, r in zip(slope, ratio, strict=True))
