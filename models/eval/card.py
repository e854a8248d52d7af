"""The model card, written from the evaluation report (never by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.synth import corpus


def write_card(report: dict[str, Any], path: Path) -> None:
    kw, rate = report["keywords"], report["rate"]
    synth = report.get("synth", {})
    lines = [
        "# seatwatch models: keyword spotting and speaking rate",
        "",
        "Produced by `seatwatch models synth && seatwatch models train && seatwatch models eval`",
        f"(seed {synth.get('seed')}). Do not edit: re-run the commands.",
        "",
        "## Intended use",
        "On-device checks of a call-center agent's microphone against hotline service norms:",
        "greeting, polite words, taboo phrases, hold check-ins and closing (keywords), and the",
        "120 characters/minute speaking-rate norm. Outputs are labels, scores and rates only;",
        "no audio or text leaves the device. Not a speech recognizer; not for evaluating",
        "callers; not validated on real (non-synthetic) voices: see Limits.",
        "",
        "## Data",
        "All speech is synthesized by espeak-ng (`cmn-latn-pinyin`, Mandarin through",
        "tone-numbered pinyin), so syllable counts are exact. Voices m1-m5 and f1-f3 train;",
        "m6, m7, f4, f5 are held out for evaluation, as are one carrier sentence per keyword",
        f"and a fifth of the other sentences ({len(corpus.all_sentences())} sentences in all).",
        "Augmentation: reverberation, office babble, telephone band-pass, 8 kHz G.711 mu-law,",
        "gain from whisper to shout with clipping, background noise.",
        "",
        "## Models",
        f"- `kws.tflite` ({report['size_bytes']['kws'] / 1024:.0f} KiB, int8): classes "
        f"{', '.join(corpus.LABELS)}; 2 s of 40-band log-mel, every 100 ms, posteriors",
        "  averaged over 3 inferences, per-keyword thresholds, 1.5 s refractory time.",
        f"- `rate.tflite` ({report['size_bytes']['rate'] / 1024:.0f} KiB, int8): 15 s of the agent's",
        "  speech frames (VAD-gated) -> characters per minute.",
        f"- Inference on the evaluation machine ({report.get('backend')}): "
        f"{report['speed_ms']['kws_per_window']} ms per keyword window, "
        f"{report['speed_ms']['rate_per_window']} ms per rate window.",
        "",
        "## Keyword results (held-out voices and sentences)",
        f"Thresholds chosen so each keyword fires at most {0.5} times per hour on "
        f"{kw['fa_hours']['clean']} h of keyword-free speech by held-out voices.",
        "Recall is per held-out utterance (keyword inside a service sentence or alone): the",
        "streaming spotter, run as on the edge, must fire that keyword between its first sound",
        "and 1.2 s after its last. Window recall (one 2 s window per utterance, the keyword at a",
        "random place inside it) is the stricter figure a single inference gives.",
        "",
        "| keyword | threshold | recall clean | recall babble 10 dB | window recall clean | "
        "window recall babble | FA/h clean | FA/h babble |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in corpus.KEYWORDS:
        clean, noisy = kw["clean"]["per_keyword"][label], kw["babble10"]["per_keyword"][label]
        lines.append(f"| {label} | {kw['thresholds'][label]} | {clean['recall']} | {noisy['recall']} | "
                     f"{clean['window_recall']} | {noisy['window_recall']} | "
                     f"{clean['fa_per_hour']} | {noisy['fa_per_hour']} |")
    lines += ["", f"Mean recall: clean {kw['clean']['mean_recall']}, babble 10 dB "
              f"{kw['babble10']['mean_recall']} (targets 0.95 and 0.90); window recall: clean "
              f"{kw['clean']['mean_window_recall']}, babble {kw['babble10']['mean_window_recall']}.",
              f"False alarms per hour, all keywords together: clean {kw['clean']['fa_per_hour_total']}, "
              f"babble {kw['babble10']['fa_per_hour_total']}.", "",
              "DET (pooled over keywords, clean):", "", "| threshold | miss rate | FA/h |", "|---|---|---|"]
    lines += [f"| {row['threshold']} | {row['miss_rate']} | {row['fa_per_hour']} |"
              for row in kw["clean"]["det"]]
    lines += ["", "## Rate results (15 s windows of held-out voices)",
              f"- model: MAE {rate['mae_cpm']} cpm, correlation {rate['corr']}",
              f"- syllable-nuclei baseline (de Jong & Wempe 2009): MAE {rate['baseline_mae_cpm']} cpm, "
              f"correlation {rate['baseline_corr']}",
              f"- error reduction vs baseline: {rate['error_reduction_vs_baseline'] * 100:.0f} % "
              f"(truth range {rate['truth_range_cpm'][0]}-{rate['truth_range_cpm'][1]} cpm)",
              "", "## Limits",
              "- Trained and evaluated on synthetic speech only; real agents' voices, accents and",
              "  headsets will differ. Re-calibrate thresholds on site recordings before relying",
              "  on keyword events for evaluation of people.",
              "- Recall counts utterances the streaming spotter caught, without the edge's VAD gate",
              "  (which only skips windows with no agent speech). Confusable phrases are limited to",
              "  the corpus in models/synth.",
              "- Thresholds are calibrated on clean speech; in office babble they over-fire (FA/h",
              "  babble above), so a noisy floor needs thresholds calibrated on its own noise.",
              "- The rate model assumes one speaker's speech frames; it is not a transcript count.",
              ""]
    path.write_text("\n".join(lines), encoding="utf-8")
