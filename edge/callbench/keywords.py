"""The keyword spotter on the benchmark's calls: per agent utterance, how high each keyword
scored, against what was said.

The call-level report says which alerts were wrong; this says why, in the spotter's own
terms, on speech the models never trained on (the benchmark's sentences, voices, levels,
noise and channels). Per agent utterance of each rendered call (its text and times are
in the truth file), the peak smoothed score of every keyword from its first sound to
1.2 s after its last (the edge's detection span); a keyword is *present* when one of its
spoken forms is in the text. Per keyword: recall at the calibrated threshold and at a
rule's floor (0.5: greeting and closing), utterances without it that reach them, and
recall at a fixed budget of false utterances (threshold-free separation: two models
compare there whatever their calibration).

    seatwatch eval --keywords [--models DIR]   (docs/eval.md)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from seatwatch.edge.dsp.features import logmel
from seatwatch.edge.models.agent_channel import AgentChannel, ModelPaths, frame_end_s, spotter_frames
from seatwatch.edge.sources.wavfile import read_stereo

LATE_S = 1.2            # the edge infers until 1.2 s after the agent's last speech
FLOOR = 0.5             # the greeting and closing rules' floor (policy min_score)
BUDGETS = (1, 5)        # false utterances per 100 keyword-free ones


def utterance_peaks(audio: Path, truth: dict[str, Any], channel: AgentChannel,
                    forms: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """One row per agent utterance: its keywords present and every keyword's peak score,
    from the spotter that hears it (the sub-word one for the labels it owns)."""
    spotter = channel.spotter
    mic = read_stereo(audio)[:, 0]
    frames = spotter_frames(spotter, mic, channel.embedder)
    scores = spotter.scores(frames)
    counts = spotter.cfg.window + spotter.cfg.hop * np.arange(len(scores))
    tracks = [(frame_end_s(spotter, counts), scores, spotter.cfg.labels)]
    if channel.phrases is not None:
        at, phrase_scores = channel.phrases.frame_scores(logmel(mic))
        tracks.insert(0, (at / 100.0, phrase_scores, channel.phrases.cfg.labels))
    labels = [label for label in channel.labels if label in forms]
    rows = []
    for utterance in truth["measured"]["utterances"]:
        if utterance["who"] != "agent":
            continue
        peak: dict[str, float] = {}
        for at_s, track, names in tracks:
            inside = (at_s > utterance["start"]) & (at_s <= utterance["end"] + LATE_S)
            top = track[inside].max(axis=0) if inside.any() else np.zeros(track.shape[1])
            for label in labels:
                if label in names and label not in peak:
                    peak[label] = float(top[names.index(label)])
        rows.append({
            "call": truth["id"], "family": truth["family"], "noise": truth["noise"],
            "channel": truth["channel"],
            "present": [label for label in labels if any(f in utterance["text"] for f in forms[label])],
            "peak": peak})
    return rows


def keyword_table(rows: list[dict[str, Any]], thresholds: dict[str, float]) -> dict[str, Any]:
    """Per keyword: recall and false utterances at its threshold and at the floor, and
    recall at BUDGETS false utterances per 100 without it."""
    out: dict[str, Any] = {}
    for label, threshold in thresholds.items():
        present = np.array([label in row["present"] for row in rows], bool)
        peaks = np.array([row["peak"].get(label, 0.0) for row in rows])
        pos, neg = peaks[present], np.sort(peaks[~present])[::-1]
        entry: dict[str, Any] = {"utterances": int(present.sum()), "without": int(len(neg)),
                                 "threshold": threshold}
        for name, bar in (("threshold", threshold), ("floor", FLOOR)):
            entry[f"recall_at_{name}"] = round(float((pos >= bar).mean()), 3) if len(pos) else None
            entry[f"false_per_100_at_{name}"] = (round(100 * float((neg >= bar).mean()), 2)
                                                 if len(neg) else None)
        for budget in BUDGETS:
            allowed = int(len(neg) * budget / 100)
            bar = neg[allowed] if allowed < len(neg) else -np.inf
            entry[f"recall_at_{budget}_false_per_100"] = (round(float((pos > bar).mean()), 3)
                                                          if len(pos) else None)
        out[label] = entry
    return out


def print_table(table: dict[str, Any]) -> None:
    print(f"{'keyword':8} {'n':>4} {'thresh':>9} {'rec@th':>7} {'FP%@th':>7} {'rec@.5':>7} {'FP%@.5':>7}"
          + "".join(f" {'rec@' + str(b) + '%':>7}" for b in BUDGETS))

    def cell(value: float | None) -> str:
        return f"{'-':>7}" if value is None else f"{value:7.2f}"

    for label, e in table.items():
        print(f"{label:8} {e['utterances']:4d} {e['threshold']:9.6f} {cell(e['recall_at_threshold'])} "
              f"{cell(e['false_per_100_at_threshold'])} {cell(e['recall_at_floor'])} "
              f"{cell(e['false_per_100_at_floor'])}"
              + "".join(f" {cell(e[f'recall_at_{b}_false_per_100'])}" for b in BUDGETS))


def spoken_forms() -> dict[str, tuple[str, ...]]:
    """Per keyword label, the texts that say it: the training corpus's forms and the taboo
    variants the scripts quote (a line with 没有办法 says the taboo 没办法)."""
    from seatwatch.edge.callbench.sentences import TABOO_VARIANTS
    from seatwatch.models.synth import corpus

    return {label: tuple(forms) + TABOO_VARIANTS.get(label, ()) for label, forms in corpus.KEYWORDS.items()}


def peaks_job(job: tuple[str, str, str | None]) -> list[dict[str, Any]]:
    """Worker: (audio, truth file, model folder) -> rows (a spawned process builds its own
    models; the forms of each keyword come from the training corpus's table)."""
    audio, truth, models = job
    paths = ModelPaths(Path(models)) if models else ModelPaths()
    channel = AgentChannel(paths)
    return utterance_peaks(Path(audio), json.loads(Path(truth).read_text(encoding="utf-8")), channel,
                           spoken_forms())
