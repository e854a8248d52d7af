"""The edge side of the models: features, loader, and the shipped models on fresh speech."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seatwatch.edge.dsp.features import StreamingLogMel, logmel
from seatwatch.edge.models.agent_channel import spotter_frames
from seatwatch.edge.models.embedding import available_at
from seatwatch.edge.models.keywords import MODEL_DIR, KeywordHit, KeywordSpotter, KwsConfig, softmax
from seatwatch.edge.models.loader import ModelError, TfliteModel
from seatwatch.edge.models.rate import RateEstimator
from seatwatch.edge.policy import load_policy
from seatwatch.edge.rules.keywords import configure_spotter
from seatwatch.models.synth.dataset import speech_frames
from seatwatch.models.synth.speech import speak

RATE = 16_000


def test_streaming_features_equal_whole_signal_features_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    audio = (rng.normal(0, 3000, RATE * 3)).astype(np.int16)
    whole = logmel(audio)
    stream = StreamingLogMel()
    parts, at = [], 0
    while at < len(audio):
        step = int(rng.integers(1, 700))        # odd block sizes, down to single samples
        parts.append(stream.push(audio[at:at + step]))
        at += step
    streamed = np.concatenate(parts)
    assert streamed.shape == whole.shape == (len(audio) // 160, 40)
    assert np.array_equal(streamed, whole)      # identical bits, not merely close


def test_loader_falls_back_to_the_next_interpreter_package() -> None:
    model = TfliteModel(MODEL_DIR / "kws.tflite",
                        packages=("no_such_tflite_package.interpreter", "tflite_runtime.interpreter"))
    assert model.backend == "tflite_runtime"
    with pytest.raises(ModelError, match="no TFLite interpreter installed.*ai-edge-litert"):
        TfliteModel(MODEL_DIR / "kws.tflite", packages=("no_such_tflite_package.interpreter",))


def test_missing_or_corrupt_model_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="missing.*seatwatch models train"):
        TfliteModel(tmp_path / "kws.tflite")
    bad = tmp_path / "kws.tflite"
    bad.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(ModelError, match="not a valid TFLite model"):
        TfliteModel(bad)


def test_shipped_models_fit_the_size_budget() -> None:
    for name in ("kws", "rate"):
        assert (MODEL_DIR / f"{name}.tflite").stat().st_size <= 150 * 1024


def spot(text: str, voice: str, *, confirmed: bool = False) -> list[str]:
    """Keywords the edge's spotter reports (configured by the shipped policy, as the
    pipeline does it: greeting and closing from their floors, taboo bar) for `text`;
    with `confirmed`, only those over their threshold (a floor hit counts only where
    the rules expect that keyword)."""
    audio = speak(text, voice=voice, speed=110, pitch=50)
    padded = np.concatenate([np.zeros(RATE), audio, np.zeros(RATE * 2)]).astype(np.float32)
    spotter = KeywordSpotter()
    configure_spotter(spotter, load_policy())
    return [hit.label for hit in spotter.push(spotter_frames(spotter, padded))
            if hit.confirmed or not confirmed]


@pytest.mark.parametrize("voice", ["m6", "f4"])        # voices never used in training
def test_shipped_keyword_model_hears_a_fresh_greeting(voice: str) -> None:
    assert "您好" in spot("您好，八号为您服务。", voice)


@pytest.mark.parametrize("voice", ["m7", "f5"])
def test_shipped_keyword_model_ignores_a_sentence_without_keywords(voice: str) -> None:
    assert spot("今天下午我们去公园散步，顺便买一点水果。", voice, confirmed=True) == []


def test_shipped_rate_model_orders_slow_and_fast_speech() -> None:
    estimator = RateEstimator()
    text = "我们会尽快把您的材料转交给经办部门处理，审核通过以后短信通知您，请保持手机畅通。" * 3

    def cpm(speed: int) -> float:
        audio = speak(text, voice="m6", speed=speed, pitch=50)
        speech, _levels = speech_frames(audio)             # the edge's VAD picks the frames
        frames = logmel(audio)[speech][: estimator.window]
        if len(frames) < estimator.window:
            frames = np.concatenate([frames, np.full((estimator.window - len(frames), 40),
                                                     np.log(1e-6), np.float32)])
        return estimator.estimate(frames)

    slow, fast = cpm(85), cpm(190)
    assert 60 <= slow < 130 and fast > 160 and fast - slow > 50


def test_spotter_gives_the_same_hits_whatever_the_block_size() -> None:
    audio = speak("您好，请问有什么可以帮您？好的，请稍等。", voice="f4", speed=120, pitch=50)
    spotter, rng, parts, at = KeywordSpotter(), np.random.default_rng(9), [], 0
    feats = spotter_frames(spotter, np.concatenate([np.zeros(RATE), audio, np.zeros(RATE * 2)]))
    whole = KeywordSpotter().push(feats)
    while at < len(feats):
        step = int(rng.integers(1, 37))
        parts += spotter.push(feats[at:at + step])
        at += step
    assert parts == whole and len(whole) >= 2


def test_negative_text_never_contains_a_keyword() -> None:
    from seatwatch.models.synth import corpus

    forms = [form for spoken in corpus.KEYWORDS.values() for form in spoken]
    negatives = (*corpus.CONFUSABLES, *corpus.NEGATIVE_SENTENCES, *corpus.service_sentences())
    assert [text for text in negatives if any(form in text for form in forms)] == []
    assert len(corpus.all_sentences()) >= 300          # "a few hundred varied service sentences"


def test_keyword_config_names_its_output_kind(tmp_path: Path) -> None:
    doc = json.loads((MODEL_DIR / "kws.json").read_text(encoding="utf-8"))
    path = tmp_path / "kws.json"
    path.write_text(json.dumps({**doc, "output": "probabilities"}), encoding="utf-8")
    with pytest.raises(ModelError, match="invalid.*output must be one of posteriors, logits"):
        KwsConfig.load(path)
    path.write_text(json.dumps({**doc, "output": "logits"}), encoding="utf-8")
    assert KwsConfig.load(path).output == "logits"


def test_softmax_of_logits_is_a_distribution_even_for_large_margins() -> None:
    p = softmax(np.array([[900.0, 0.0, -5.0], [1.0, 2.0, 3.0]], np.float32))
    assert np.allclose(p.sum(axis=1), 1.0) and np.all(np.isfinite(p))
    assert p[0, 0] == pytest.approx(1.0) and p[1].argmax() == 2


def seconds(frame: int) -> float:
    """When the shipped spotter's frame `frame` (its count, from 1) ends."""
    if KeywordSpotter().cfg.front_end == "logmel":
        return frame / 100
    return float(available_at(frame - 1)) / 100


def test_a_floor_reports_unconfirmed_hits_below_the_threshold() -> None:
    audio = speak("您好，八号为您服务。", voice="m6", speed=110, pitch=50)
    feats = spotter_frames(KeywordSpotter(), np.concatenate([np.zeros(RATE), audio, np.zeros(RATE * 2)]))
    unreachable = {"您好": 1.0 + 1e-6}          # no score reaches it: 您好 is never confirmed
    plain = KeywordSpotter(thresholds=unreachable)
    assert [h for h in plain.push(feats) if h.label == "您好"] == []
    floored = KeywordSpotter(thresholds=unreachable)
    floored.floors = {"您好": 0.5}
    hits = [h for h in floored.push(feats) if h.label == "您好"]
    assert hits and all(not h.confirmed and 0.5 <= h.score <= 1.0 for h in hits)
    assert seconds(hits[0].frame) <= 1.0 + len(audio) / RATE   # while the sentence is still going
    both = KeywordSpotter(thresholds={"您好": 0.9})   # a confirmed hit also quiets the floor
    both.floors = {"您好": 0.5}
    seen = [h for h in both.push(feats) if h.label == "您好"]
    sure = [h.frame for h in seen if h.confirmed]
    quiet = both.cfg.refractory_frames
    assert sure and not [h for h in seen if not h.confirmed and sure[0] < h.frame < sure[0] + quiet]


def test_batched_inference_gives_the_numbers_of_one_at_a_time() -> None:
    rng = np.random.default_rng(4)
    for name in ("kws", "rate"):
        model = TfliteModel(MODEL_DIR / f"{name}.tflite")
        x = rng.normal(0.0, 3.0, (23, *model.input_shape[1:])).astype(np.float32)  # 16 + 4 + 3 x 1
        one = np.concatenate([model.run(row[None]) for row in x])
        assert np.array_equal(model.run_batch(x), one)
        assert model.runs == 46


def test_rate_estimates_are_the_same_whatever_the_block_size() -> None:
    feats = np.random.default_rng(5).normal(-6.0, 2.0, (4100, 40)).astype(np.float32)

    def one_by_one() -> list[tuple[int, float, int]]:    # the definition: frame by frame
        estimator, out, since = RateEstimator(every=150), [], 0
        for index in range(len(feats)):
            since += 1
            if index + 1 >= estimator.window and since >= estimator.every:
                since = 0
                out.append((index, estimator.estimate(feats[index + 1 - estimator.window:index + 1]),
                            index + 1))
        return out

    estimator, rng, got, at = RateEstimator(every=150), np.random.default_rng(6), [], 0
    while at < len(feats):
        step = int(rng.integers(1, 400))
        got += [(at + index, est.cpm, est.frame) for index, est in estimator.push(feats[at:at + step])]
        at += step
    assert got == one_by_one() and len(got) == 18


@pytest.mark.parametrize("floors", [{}, {"您好": 0.5, "谢谢": 0.6}])
def test_lazy_spotter_reports_what_evaluating_every_window_reports(floors: dict[str, float]) -> None:
    from seatwatch.edge.sources.wavfile import read_stereo

    rendered = Path(__file__).resolve().parents[2] / "scenarios" / "rendered"
    feats = spotter_frames(KeywordSpotter(), read_stereo(rendered / "compliant.ogg")[:, 0])
    active = np.ones(len(feats), bool)                  # pauses: inactive runs of any length
    for start in np.random.default_rng(8).integers(0, len(feats), 25):
        active[start:start + int(start % 300)] = False

    def run(lazy: bool, block: int) -> tuple[list[KeywordHit], int]:
        spotter = KeywordSpotter()
        spotter.lazy, spotter.floors = lazy, dict(floors)
        hits = [hit for at in range(0, len(feats), block)
                for hit in spotter.push(feats[at:at + block], active[at:at + block])]
        return hits, spotter.inferences

    every, every_n = run(False, 1000)
    lazy, lazy_n = run(True, 1000)
    live, live_n = run(True, 10)                        # 100 ms blocks leave nothing out
    assert lazy == every == live and len(every) >= 5
    assert live_n == every_n and lazy_n < 0.85 * every_n


def test_features_of_the_needed_frames_only_have_the_same_bits() -> None:
    audio = (np.random.default_rng(11).normal(0, 3000, RATE * 4)).astype(np.int16)
    needed = np.random.default_rng(12).random(len(audio) // 160) < 0.3
    full, part = StreamingLogMel().push(audio), StreamingLogMel().push(audio, needed)
    assert np.array_equal(part[needed], full[needed]) and np.isnan(part[~needed]).all()


def test_rate_calibration_in_the_model_json_is_inverted_and_checked(tmp_path: Path) -> None:
    from seatwatch.edge.models.rate import composed, raw_calibration

    (tmp_path / "rate.tflite").write_bytes((MODEL_DIR / "rate.tflite").read_bytes())
    doc = json.loads((MODEL_DIR / "rate.json").read_text(encoding="utf-8"))
    doc.pop("calibration", None)
    (tmp_path / "rate.json").write_text(json.dumps(doc))
    frames = np.random.default_rng(3).standard_normal((1500, 40)).astype(np.float32)
    raw = RateEstimator(tmp_path / "rate.tflite").estimate(frames)
    doc["calibration"] = {"slope": 0.9, "intercept": 9.0}
    (tmp_path / "rate.json").write_text(json.dumps(doc))
    estimator = RateEstimator(tmp_path / "rate.tflite")
    assert estimator.estimate(frames) == pytest.approx((raw - 9.0) / 0.9, abs=1e-3)
    pushed = estimator.push(frames)
    assert pushed and pushed[-1][1].cpm == pytest.approx((raw - 9.0) / 0.9, abs=0.5)
    # a fit on calibrated output composes with the calibration it was read through
    a, b = composed((0.9, 9.0), (1.1, -5.0))
    truth = 140.0
    assert ((a * truth + b) - 9.0) / 0.9 == pytest.approx(1.1 * truth - 5.0)
    doc["calibration"] = {"slope": 0.1, "intercept": 0.0}
    (tmp_path / "rate.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="calibration slope"):
        raw_calibration(tmp_path / "rate.json")
