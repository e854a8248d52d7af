"""The sub-word phrase spotter (design E): streaming equals offline, whatever the blocks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seatwatch.edge.dsp.features import logmel
from seatwatch.edge.models.agent_channel import AgentChannel, ModelPaths
from seatwatch.edge.models.keywords import MODEL_DIR
from seatwatch.edge.models.loader import ModelError
from seatwatch.edge.models.subword import PhraseSpotter
from seatwatch.edge.sources.wavfile import read_stereo

RENDERED = Path(__file__).resolve().parents[2] / "scenarios" / "rendered"
MODEL = MODEL_DIR / "subword.tflite"
HOP = 160


def _mic() -> np.ndarray:
    mic = read_stereo(RENDERED / "compliant.ogg")[:, 0]
    return mic[: len(mic) // HOP * HOP]


def test_streaming_scores_are_the_offline_ones_in_any_blocks() -> None:
    feats = logmel(_mic())
    offline = PhraseSpotter(MODEL)
    at, scores = offline.frame_scores(feats)
    for block in (37, 100, 1000):
        spotter = PhraseSpotter(MODEL)
        hits = []
        for start in range(0, len(feats), block):
            hits += spotter.push(feats[start:start + block])
        # every hit is a label whose offline score crossed its threshold by then
        for hit in hits:
            column = scores[:, spotter.cfg.labels.index(hit.label)]
            crossed = at[(column >= spotter.thresholds[hit.label]) & (at <= hit.frame)]
            assert len(crossed), hit
        first = [(h.label, h.frame) for h in hits]
        if block == 37:
            reference = first
        assert first == reference
    assert {h[0] for h in reference} >= {"您好", "再见"}      # the compliant call's greeting and closing


def test_skipping_labels_out_of_reach_changes_no_hit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound that skips a label's chains (most inferences) is exact: every bar, the
    thresholds, the floors and a policy phrase's, gives the hits of scoring them all."""
    feats = logmel(read_stereo(RENDERED / "no_greeting_rude.ogg")[:, 0])

    def heard(skip: bool) -> tuple[list[tuple[str, int, bool, float]], int]:
        spotter = PhraseSpotter(MODEL)
        spotter.add_phrases({"与我没关系": ["与我没关系"]})
        spotter.floors = {label: 0.1 for label in spotter.cfg.labels}
        spotter.plain_floors = {"您好": 0.05}
        calls = 0
        chain = spotter._chain

        def counted(*args: object, **kw: object) -> np.ndarray:
            nonlocal calls
            calls += 1
            return chain(*args, **kw)  # type: ignore[arg-type]

        monkeypatch.setattr(spotter, "_chain", counted)
        if not skip:
            monkeypatch.setattr(spotter, "_reachable", lambda *a: True)
        hits = spotter.push(feats) + spotter.flush()
        return [(h.label, h.frame, h.confirmed, round(h.score, 9)) for h in hits], calls

    pruned, pruned_calls = heard(True)
    full, full_calls = heard(False)
    assert pruned == full and len(full) >= 3
    assert pruned_calls < full_calls / 3


def test_each_bar_judges_its_own_chain() -> None:
    """A confirmed hit pays for foreign frames between the tokens, each token on one frame
    (the shipped config's gap weight); a hit at a floor (the closing's) pays for them too,
    a token's mass summed over its neighbours; one at a plain floor (the greeting's first
    turn) needs only the plain chain. Each is at most the next."""
    feats = logmel(_mic())
    offline = PhraseSpotter(MODEL)
    assert offline.cfg.gap_weight > 0
    at, strict = offline.frame_scores(feats)
    chains = {"threshold": strict, "floor": offline.frame_scores(feats, "floor")[1],
              "plain": offline.frame_scores(feats, "plain")[1]}
    assert (chains["plain"] >= chains["floor"] - 1e-9).all() and (chains["floor"] >= strict - 1e-9).all()
    assert (chains["plain"] > strict + 0.05).any()
    spotter = PhraseSpotter(MODEL)
    spotter.floors = {label: 0.05 for label in spotter.cfg.labels if label != "您好"}
    spotter.plain_floors = {"您好": 0.05}
    hits = spotter.push(feats) + spotter.flush()
    assert {h.label for h in hits if not h.confirmed} >= {"您好"}
    assert any(hit.confirmed for hit in hits)
    for hit in hits:
        i = spotter.cfg.labels.index(hit.label)
        if hit.confirmed:
            bar, column = spotter.thresholds[hit.label], chains["threshold"]
        else:
            bar, column = 0.05, chains["plain" if hit.label == "您好" else "floor"]
        assert len(at[(column[:, i] >= bar) & (at <= hit.frame)]), hit


def test_phrases_from_the_policy_need_no_retraining(tmp_path: Path) -> None:
    """A phrase table given as text (a center's own greeting, a taboo sentence) is scored
    by the same model; a phrase the model cannot spell is refused by name."""
    table = {"greeting_own": ["您好，这里是服务热线"], "与我没关系": ["与我没关系", "跟我没关系"]}
    spotter = PhraseSpotter(MODEL, phrase_table=table)
    assert spotter.cfg.labels == ("greeting_own", "与我没关系")
    assert len(spotter.cfg.forms["与我没关系"]) == 2
    with pytest.raises(ModelError, match="no Mandarin syllables"):
        PhraseSpotter(MODEL, phrase_table={"bad": ["hello"]})


def test_a_config_for_another_token_set_is_refused(tmp_path: Path) -> None:
    doc = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    doc["tokens"] = doc["tokens"][:-1]
    bad = tmp_path / "subword.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ModelError, match="token set"):
        PhraseSpotter(MODEL, config=bad)


def test_agent_channel_hears_the_same_in_live_and_long_blocks() -> None:
    from seatwatch.edge.dsp.vad import NoiseVad
    from seatwatch.edge.policy import load_policy

    mic = _mic()
    n = len(mic) // HOP
    speech = NoiseVad(load_policy().vad).process(mic.reshape(-1, HOP, 1))[:, 0]

    def run(block: int) -> list[tuple[int, str, float]]:
        channel = AgentChannel(ModelPaths())
        assert channel.phrases is not None
        out = []
        for at in range(0, n, block):
            found, _ = channel.hear(mic[at * HOP:(at + block) * HOP], speech[at:at + block])
            out += [(at + index, hit.label, round(hit.score, 6)) for index, hit in found
                    if hit.label in channel.phrases.cfg.labels]
        return out

    live, long = run(10), run(1000)
    assert live == long and len(live) >= 2


def _said(text: str, voice: str) -> np.ndarray:
    from seatwatch.models.synth.speech import speak

    silence = np.zeros(16000, np.float32)
    return np.concatenate([silence, speak(text, voice=voice, speed=140, cache=False), silence]) * 0.5


def test_a_policy_phrase_is_heard_without_retraining() -> None:
    """与我没关系 and a center's own greeting, given as text: heard in a held-out voice
    saying them, not in one saying something else (the model never trained on either)."""
    from seatwatch.edge.policy import parse_policy

    policy = parse_policy('[forbidden]\nkeywords = ["不知道", "没办法", "没关系", "与我没关系"]\n'
                          '[phrases]\n"与我没关系" = ["与我没关系"]\nown = ["这里是燃气服务热线"]\n')
    channel = AgentChannel(ModelPaths())
    channel.add_phrases(policy)
    spotter = channel.phrases
    assert spotter is not None and {"与我没关系", "own"} <= set(channel.labels)
    assert "与我没关系" not in channel.spotter.thresholds        # heard by the sub-word model only

    def peak(text: str, label: str) -> float:
        _, scores = spotter.frame_scores(logmel(_said(text, "f4")))
        return float(scores[:, spotter.cfg.labels.index(label)].max())

    assert peak("这件事情与我没关系，您去问别人吧。", "与我没关系") >= spotter.thresholds["与我没关系"]
    assert peak("这件事情我来帮您查一下，请稍等。", "与我没关系") < 0.3
    assert peak("您好，这里是燃气服务热线。", "own") >= spotter.thresholds["own"]
    assert peak("您好，我的工号是三十五号。", "own") < 0.3


def test_the_norms_text_only_phrases_are_heard_with_the_default_policy() -> None:
    """不归我管 (N4) and the greetings by the time of the call (N2: 早上好, 下午好...) are
    phrases no training sentence says: with the default policy each is heard where a
    held-out voice says it, at its bar (the taboo's threshold, the greeting's plain floor),
    and not in a sentence without it."""
    from seatwatch.edge.policy import load_policy
    from seatwatch.edge.rules.keywords import configure_spotter

    policy = load_policy()
    assert "不归我管" in policy.forbidden.keywords and {"早上好", "下午好"} <= set(policy.greeting.keywords)

    def heard(text: str) -> dict[str, bool]:
        spotter = PhraseSpotter(MODEL)
        configure_spotter(spotter, policy)
        feats = logmel(_said(text, "m6"))
        return {h.label: h.confirmed for h in spotter.push(feats) + spotter.flush()}

    assert heard("这个问题不归我管，你找物业吧。").get("不归我管") is True
    assert heard("早上好，这里是供热服务热线。").get("早上好") is not None
    assert heard("下午好，请问有什么可以帮您？").get("下午好") is not None
    quiet = heard("这个问题我来帮您问一下物业，请您稍等。")
    assert not {"不归我管", "早上好", "中午好", "下午好", "晚上好"} & set(quiet)


def test_a_policy_phrase_the_model_cannot_spell_is_refused_by_name() -> None:
    from seatwatch.edge.policy import PolicyError, parse_policy

    policy = parse_policy('[phrases]\nbad = ["hello"]\n')
    with pytest.raises(PolicyError, match="phrases.bad.*no Mandarin syllables"):
        AgentChannel(ModelPaths()).add_phrases(policy)


def test_a_phrase_in_the_last_second_of_a_call_is_heard_at_the_end() -> None:
    """The chunks keep their centre second, so the call's last words wait for a chunk
    that never comes, unless the call's end flushes them (the closing's 再见)."""
    feats = logmel(_mic())
    at, scores = PhraseSpotter(MODEL).frame_scores(feats)
    column = scores[:, PhraseSpotter(MODEL).cfg.labels.index("再见")]
    said = int(at[int(column.argmax())])                   # frame count where 再见 ends
    spotter = PhraseSpotter(MODEL)
    spotter.floors = {"再见": spotter.cfg.floors["再见"]}     # as the closing rule sets it
    early = spotter.push(feats[:said + 30])                 # the call ends 0.3 s later
    assert "再见" not in [hit.label for hit in early]
    assert "再见" in [hit.label for hit in spotter.flush()]


def test_a_policy_phrase_reaches_the_event_and_the_console_by_its_label(tmp_path: Path) -> None:
    """Through `seatwatch analyze`: the taboo phrase a center wrote as text raises
    forbidden_phrase carrying the policy's label (never the audio or a transcript), and
    the console's alert line names it."""
    import soundfile as sf

    from seatwatch.console import labels
    from seatwatch.edge.analyze import analyze

    policy = tmp_path / "center.toml"
    policy.write_text('[forbidden]\nkeywords = ["不知道", "没办法", "没关系", "与我没关系"]\n'
                      '[phrases]\n"与我没关系" = ["与我没关系"]\n', encoding="utf-8")
    rng = np.random.default_rng(5)
    mic = np.concatenate([np.zeros(16000 * 2, np.float32), _said("这件事情与我没关系，您去问别人吧。", "f4"),
                          np.zeros(16000 * 3, np.float32)])
    stereo = np.stack([mic, np.zeros_like(mic)], axis=1) + rng.standard_normal((len(mic), 2)) * 1e-4
    sf.write(str(tmp_path / "call.wav"), stereo.astype(np.float32), 16000)
    events = analyze(tmp_path / "call.wav", None, policy, "A01")
    taboo = [e for e in events if e.type == "forbidden_phrase"]
    assert [e.data["keyword"] for e in taboo] == ["与我没关系"]
    assert set(taboo[0].data) == {"keyword", "score"}             # a label and a score, no text
    assert labels.label("forbidden_phrase", taboo[0].data).startswith("Taboo phrase: 与我没关系")


def test_each_phrase_has_its_own_sensitivity_in_the_policy() -> None:
    from seatwatch.edge.policy import PolicyError, parse_policy

    policy = parse_policy('[phrases]\n"与我没关系" = ["与我没关系"]\n'
                          '[phrase_scores]\n"与我没关系" = 0.9\n"再见" = 0.6\n')
    channel = AgentChannel(ModelPaths())
    channel.add_phrases(policy)
    assert channel.phrases is not None
    assert channel.phrases.thresholds["与我没关系"] == 0.9 and channel.phrases.thresholds["再见"] == 0.6
    default = AgentChannel(ModelPaths())
    default.add_phrases(parse_policy('[phrases]\n"与我没关系" = ["与我没关系"]\n"别问我" = ["别问我"]\n'))
    assert default.phrases is not None
    # five syllables (10 tokens) start lower than three: a long chain scores lower, true or not
    assert default.phrases.thresholds["与我没关系"] == 0.2 and default.phrases.thresholds["别问我"] == 0.5
    for bad, why in (('"谢谢" = 0.5', "phrase_scores.谢谢.*not a phrase"),
                     ('"再见" = 1.5', "phrase_scores.再见.*outside 0..1")):
        with pytest.raises(PolicyError, match=why):
            AgentChannel(ModelPaths()).add_phrases(parse_policy(f"[phrase_scores]\n{bad}\n"))


def test_a_phrase_inside_a_longer_one_heard_with_it_is_one_hit() -> None:
    from seatwatch.edge.models.keywords import KeywordHit
    from seatwatch.edge.models.subword import _inside

    table = {"没关系": ["没关系"], "没办法": ["没办法", "没有办法"], "与我没关系": ["与我没关系"],
             "我们也没有办法": ["我们也没有办法"]}
    spotter = PhraseSpotter(MODEL, phrase_table=table)
    forms = spotter.cfg.forms
    assert _inside(forms["没关系"], forms["与我没关系"]) and not _inside(forms["与我没关系"], forms["没关系"])
    assert _inside(forms["没办法"], forms["我们也没有办法"]) and not _inside(forms["没关系"], forms["没办法"])
    hits = [KeywordHit("没关系", 0.95, 900), KeywordHit("与我没关系", 0.6, 900),
            KeywordHit("没办法", 0.9, 900)]
    assert [h.label for h in spotter._longest(hits)] == ["与我没关系", "没办法"]
    # an expected phrase heard only at its floor does not hide a confirmed one
    hits = [KeywordHit("没关系", 0.95, 900), KeywordHit("与我没关系", 0.25, 900, confirmed=False)]
    assert [h.label for h in spotter._longest(hits)] == ["没关系", "与我没关系"]


def test_a_taboo_phrase_under_its_threshold_needs_the_fixed_class_models_second_opinion() -> None:
    """不知道 is confirmed from its own bar in cfg.agree only where the fixed-class spotter's
    smoothed score reached its bar within AGREE_WITHIN frames before; otherwise it stays an
    unconfirmed hit, which no taboo rule hears."""
    import numpy as np

    from seatwatch.edge.models.agent_channel import AGREE_WITHIN, AgentChannel
    from seatwatch.edge.models.keywords import KeywordHit

    channel = AgentChannel()
    assert channel.phrases is not None
    own, fixed = channel.phrases.cfg.agree["不知道"]
    assert own < channel.phrases.thresholds["不知道"]
    assert channel.phrases.second_opinion == {"不知道": own}
    assert channel.spotter.witness == {"不知道": fixed} and "不知道" not in channel.spotter.thresholds

    # the fixed-class spotter reports its opinion unconfirmed, though it has no threshold for it
    labels = channel.spotter.cfg.labels
    row = np.zeros(len(labels))
    row[labels.index("不知道")] = fixed + 0.01
    opinion = channel.spotter._judge(row, 1000)
    assert [(h.label, h.confirmed) for h in opinion] == [("不知道", False)]
    row[labels.index("不知道")] = fixed - 0.01
    channel.spotter.reset()
    assert channel.spotter._judge(row, 5000) == []

    candidate = KeywordHit("不知道", own + 0.05, 1200, confirmed=False)
    assert not channel._with_opinion(candidate).confirmed            # nobody agreed
    assert channel._opinions(opinion) == []                          # remembered, not reported
    assert channel._with_opinion(candidate).confirmed
    late = KeywordHit("不知道", own + 0.05, 1000 + AGREE_WITHIN + 1, confirmed=False)
    assert not channel._with_opinion(late).confirmed                 # too long ago
    channel.reset()
    assert not channel._with_opinion(candidate).confirmed            # a new call forgets
