"""The speech-embedding front end: openWakeWord's features, streaming, gated by speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seatwatch.edge.models.agent_channel import ACTIVE_AFTER_SPEECH, AgentChannel, ModelPaths
from seatwatch.edge.models.embedding import GROUP, HOP, MelFrontEnd, SpeechEmbedder, available_at, embed
from seatwatch.edge.models.loader import ModelError

HERE = Path(__file__).resolve().parent
# a keyword head on these embeddings (models/candidates/README.md)
CANDIDATE = ModelPaths(HERE.parents[1] / "models" / "candidates" / "design_d2")


def reference_signal() -> np.ndarray:
    """1 s: 0.3 s of faint noise, then a loud chirp (int16 scale)."""
    rng = np.random.default_rng(2026)
    t = np.arange(16000) / 16000
    sig = 8000 * np.sin(2 * np.pi * (200 + 1500 * t) * t) * (t > 0.3) + rng.normal(0, 50, 16000)
    return np.round(sig).astype(np.float32)


def test_mel_features_are_openwakewords() -> None:
    # oww_mel_reference.npy: openWakeWord's melspectrogram.tflite (wyoming-openwakeword 1.8.2)
    # run on this signal in its streaming chunks (1760 samples every 1280), then x / 10 + 2
    reference = np.load(HERE / "oww_mel_reference.npy")
    ours = MelFrontEnd().groups(reference_signal())
    assert ours.shape == reference.shape == (96, 32)
    assert np.abs(ours - reference).max() < 1e-3
    # the 80 dB floor is per 80 ms group: the faint noise before the chirp is not lifted
    # to the chirp's level minus 80 dB, as one clamp over the whole second would do
    assert ours[:8].max() < ours[40:48].max() - 2.0


def test_streaming_embeddings_equal_whole_recording_bit_for_bit() -> None:
    rng = np.random.default_rng(5)
    audio = np.round(rng.normal(0, 2000, 16000 * 4)).astype(np.int16)
    embedder = SpeechEmbedder()
    whole = embed(audio, embedder)
    assert whole.shape == ((len(audio) // HOP - 83) // GROUP + 1, 96)
    embedder.reset()
    parts, at, done = [], 0, 0
    while at < len(audio):
        step = int(rng.integers(1, 3000))
        embedder.push(audio[at:at + step], keep=done)
        at += step
        parts.append(embedder.embeddings(np.arange(done, embedder.ready)))
        done = embedder.ready
    assert np.array_equal(np.concatenate(parts), whole)


def test_an_embedding_is_ready_exactly_when_its_audio_is_in() -> None:
    embedder = SpeechEmbedder()
    for k in (0, 1, 7):
        embedder.reset()
        embedder.push(np.zeros(HOP * (int(available_at(k)) - 1), np.int16))
        assert embedder.ready == k
        embedder.push(np.zeros(HOP, np.int16))
        assert embedder.ready == k + 1


def test_embeddings_no_longer_kept_are_refused() -> None:
    embedder = SpeechEmbedder()
    embedder.push(np.zeros(HOP * 400, np.int16), keep=20)
    assert embedder.ready > 25
    embedder.embeddings(np.array([20, 25]))
    with pytest.raises(ValueError, match="not kept or not ready"):
        embedder.embeddings(np.array([19]))
    with pytest.raises(ValueError, match="not kept or not ready"):
        embedder.embeddings(np.array([embedder.ready]))


def test_a_missing_front_end_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="mel filterbank .* missing"):
        SpeechEmbedder(tmp_path)
    np.save(tmp_path / "mel_filters.npy", np.zeros((257, 40)))
    with pytest.raises(ModelError, match=r"shape \(257, 40\)"):
        SpeechEmbedder(tmp_path)


def test_agent_channel_spots_the_same_whatever_the_block_size_and_gating() -> None:
    """Embeddings are computed only where an inference near agent speech reads them; the
    hits are those of computing every embedding, in 100 ms (live) or 10 s blocks."""
    from seatwatch.edge.dsp.vad import NoiseVad
    from seatwatch.edge.policy import load_policy
    from seatwatch.edge.sources.wavfile import read_stereo

    rendered = Path(__file__).resolve().parents[2] / "scenarios" / "rendered"
    mic = read_stereo(rendered / "compliant.ogg")[:, 0]
    n = len(mic) // HOP
    mic = mic[:n * HOP]
    speech = NoiseVad(load_policy().vad).process(mic.reshape(-1, HOP, 1))[:, 0]

    def run(block: int, flags: np.ndarray) -> tuple[list[tuple[int, str, float]], int]:
        channel = AgentChannel(CANDIDATE)
        hits = []
        for at in range(0, n, block):
            found, _ = channel.hear(mic[at * HOP:(at + block) * HOP], flags[at:at + block])
            hits += [(at + index, hit.label, hit.score) for index, hit in found]
        assert channel.embedder is not None
        return hits, channel.embedder.inferences

    gated, gated_n = run(1000, speech)
    live, _ = run(10, speech)
    # the reference: every embedding computed up front, the same inferences active
    reference = AgentChannel(CANDIDATE)
    active = reference._since(speech) < ACTIVE_AFTER_SPEECH
    everything = embed(mic)
    at = np.asarray(available_at(np.arange(len(everything)))) - 1
    whole = [(int(at[hit.frame - 1]), hit.label, hit.score)
             for hit in reference.spotter.push(everything, active[at])]
    assert gated == live == whole and len(gated) >= 5
    assert gated_n < 0.85 * len(everything)


def test_a_candidate_keyword_model_runs_a_whole_call_through_analyze(tmp_path: Path) -> None:
    """`--models` with a folder holding the keyword model alone: the shipped rate model and
    front end complete it, and the scripted compliant call raises no norm alert. It has no
    sub-word model, so the default policy's text-only phrases (早上好, 不归我管 ...) are
    refused by name; a policy naming its own labels runs."""
    from seatwatch.edge.analyze import analyze
    from seatwatch.edge.models.keywords import MODEL_DIR
    from seatwatch.edge.policy import PolicyError

    assert CANDIDATE.rate == MODEL_DIR / "rate.tflite" and CANDIDATE.front_end == MODEL_DIR / "front_end"
    rendered = HERE.parents[1] / "scenarios" / "rendered"
    with pytest.raises(PolicyError, match="has no label 早上好"):
        analyze(rendered / "compliant.ogg", rendered / "compliant.json", None, "T01", models=CANDIDATE.folder)
    policy = tmp_path / "fixed.toml"
    policy.write_text('[greeting]\nkeywords = ["您好"]\n'
                      '[forbidden]\nkeywords = ["不知道", "没办法", "没关系"]\n', encoding="utf-8")
    events = analyze(rendered / "compliant.ogg", rendered / "compliant.json", policy, "T01",
                     models=CANDIDATE.folder)
    kinds = [e.type for e in events]
    assert "call_ended" in kinds
    assert not {"greeting_missing", "closing_missing", "forbidden_phrase"} & set(kinds)
