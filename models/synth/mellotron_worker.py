"""Renders Mandarin with the multi-speaker Mellotron + MelGAN voices inside the `ttskit`
wheel. Runs in its own environment (PyTorch; `make voices`), never imported by seatwatch:
`seatwatch.models.synth.mellotron` feeds it jobs, one JSON object a line on stdin
({"text", "speaker", "stretch", "out"}), and it answers one line per job ("ok OUT" or
"fail OUT REASON") after writing OUT as 16 kHz float32 .npy.

ttskit 0.3.8 was written for PyTorch 1.7 and librosa 0.8; the three shims below adapt
today's versions (whole pickled modules need weights_only=False; librosa's pad_center
and mel filters became keyword-only).
"""

from __future__ import annotations

import json
import sys

import numpy as np


def _shim() -> None:
    import librosa.filters
    import librosa.util
    import torch

    load = torch.load
    torch.load = lambda *a, **k: load(*a, **{"weights_only": False, **k})
    pad_center = librosa.util.pad_center
    librosa.util.pad_center = lambda data, size=None, **k: pad_center(data, size=size, **k)
    mel = librosa.filters.mel
    names = ("sr", "n_fft", "n_mels", "fmin", "fmax")
    librosa.filters.mel = lambda *a, **k: mel(**dict(zip(names, a, strict=False)), **k)
    torch.set_num_threads(1)


def main() -> int:
    _shim()
    import torch
    from scipy.signal import resample_poly
    from ttskit import sdk_api
    from ttskit.melgan import inference as melgan
    from ttskit.mellotron import inference as mellotron

    sdk_api.load_models(**sdk_api._global_mspk_kwargs)
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        try:
            text, style, speaker, f0, _ = sdk_api.transform_mellotron_input_data(
                sdk_api._dataloader, job["text"], speaker=job["speaker"], audio="_", device="cpu")
            if "seed" in job:       # Tacotron's prenet drops out at inference too: seed it
                torch.manual_seed(int(job["seed"]))
            _, mel, gates, _ = mellotron.generate_mel(text, style, speaker, f0)
            gate = gates.numpy()[0]            # generate_mel returns the gate's sigmoid
            end = int(np.argmax(gate > 0.8)) or int(np.argmax(gate)) or gate.shape[0]
            mel = mel[:, :, :end]
            stretch = float(job.get("stretch", 1.0))
            if stretch != 1.0:      # slower or faster speech at the same pitch: resample mel frames
                frames = max(2, round(mel.shape[2] * stretch))
                mel = torch.nn.functional.interpolate(mel, size=frames, mode="linear", align_corners=True)
            wav = melgan.generate_wave(mel=mel).squeeze(0).numpy().astype(np.float32)
            np.save(job["out"], resample_poly(wav, 320, 441).astype(np.float32))     # 22.05 -> 16 kHz
            print("ok", job["out"], flush=True)
        except Exception as exc:    # one refused sentence must not stop the batch
            print("fail", job["out"], type(exc).__name__, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
