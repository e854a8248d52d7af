"""`seatwatch policy check FILE | docs`: validate a policy, or print docs/policy.md."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, get_type_hints

from seatwatch.edge.models.phrases import review, token_ids, tokens
from seatwatch.edge.policy import Policy, PolicyError, describe, load_policy

HEADER = """# Policy file reference

A policy is a TOML file (`policies/default.toml`, `policies/12333.toml`) holding every
threshold of [NORMS.md](norms.md). A file may set only some keys; the rest keep the
defaults below. Unknown keys, wrong types and out-of-range values are refused at load
with the file, the key and the reason (`seatwatch policy check FILE`). The check also
spells each phrase of `[phrases]` in the sub-word model's tokens and refuses a phrase of
one syllable or two phrases that sound alike without tones (neither could be told apart).

What each alert means, over what evidence and with what tolerance, is in
[norms.md](norms.md#alerts-a-supervisor-can-trust); the knobs below set those windows and
tolerances. Each says its unit (in parentheses at the end) and why it has its default.

This page is generated from `edge/policy.py` by `seatwatch policy docs`; a test keeps
them in sync.

| key | default | range | meaning (unit; source) |
|---|---|---|---|
"""


def ranges(cls: type = Policy, prefix: str = "") -> dict[str, str]:
    """key -> the values a policy may set it to, as the loader checks them."""
    out: dict[str, str] = {}
    hints = get_type_hints(cls)
    for fld in fields(cls):
        key = f"{prefix}.{fld.name}" if prefix else fld.name
        hint = hints[fld.name]
        if is_dataclass(hint):
            out.update(ranges(hint, key))  # type: ignore[arg-type]
            continue
        meta: dict[str, Any] = dict(fld.metadata)
        lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices")
        if choices:
            out[key] = " / ".join(choices)
        elif lo is not None or hi is not None:
            out[key] = f"{'' if lo is None else lo}..{'' if hi is None else hi}"
        elif hint is bool:
            out[key] = "true / false"
        elif key == "score.weights":
            out[key] = "0..100 each"
        elif key.endswith("keywords"):
            out[key] = "model labels"
        else:
            out[key] = ""
    return out


def render() -> str:
    span = ranges()
    rows = [f"| `{key}` | `{json.dumps(default, ensure_ascii=False)}` | {span.get(key, '')} | {text} |"
            for key, default, text in describe()]
    return HEADER + "\n".join(rows) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    check = sub.add_parser("check", help="validate a policy file")
    check.add_argument("file", type=Path)
    sub.add_parser("docs", help="print the policy reference (docs/policy.md)")


def run(args: argparse.Namespace) -> int:
    if args.action == "docs":
        sys.stdout.write(render())
        return 0
    try:
        policy = load_policy(args.file)
    except PolicyError as exc:
        print(f"seatwatch policy: {exc}", file=sys.stderr)
        docs = {key: text for key, _, text in describe()}
        if exc.key in docs:           # what the key is for, its unit and its range
            span = ranges().get(exc.key)
            print(f"  {exc.key}: {docs[exc.key]}" + (f"; allowed: {span}" if span else ""),
                  file=sys.stderr)
        return 2
    problems = phrase_problems(policy)
    for problem in problems:
        print(f"  phrases.{problem}", file=sys.stderr)
    if problems:
        print(f"seatwatch policy: {args.file}: {len(problems)} phrase problem(s)", file=sys.stderr)
        return 2
    print(f"{args.file}: policy {policy.name!r} is valid")
    defaults = _new_phrase_defaults(policy)
    for label, forms in policy.phrases.items():
        score = policy.phrase_scores.get(label)
        shown = f" (fires from {score})" if score is not None else (
            f" (fires from {defaults[label][0]}: the model's default for a new phrase of "
            f"{defaults[label][1]} tokens)" if label in defaults else "")
        spelled = "; ".join(f"{f} = {' '.join(tokens(*_split(f)))}" for f in forms)
        print(f"  phrase {label}: {spelled}{shown}")
    return 0


def _new_phrase_defaults(policy: Policy) -> dict[str, tuple[float, int]]:
    """The score each policy phrase fires from by default (the shipped sub-word model's
    config); empty when the model is not installed."""
    from seatwatch.edge.models.keywords import MODEL_DIR
    from seatwatch.edge.models.subword import SubwordConfig

    try:
        cfg = SubwordConfig.load(MODEL_DIR / "subword.json")
    except Exception:       # a policy check without the models still checks the policy
        return {}
    out = {}
    for label, forms in policy.phrases.items():
        if label not in cfg.labels:
            ids = tuple(tuple(token_ids(*_split(f))) for f in forms)
            out[label] = (cfg.default_for(ids), min(len(f) for f in ids))
    return out


def _split(form: str) -> tuple[str, str | None]:
    text, _, pinyin = form.partition("|")
    return text, pinyin or None


def phrase_problems(policy: Policy) -> list[str]:
    """The policy's phrases beside the shipped ones (their labels may clash too)."""
    from seatwatch.edge.models.keywords import MODEL_DIR

    shipped: dict[str, list[str]] = {}
    config = MODEL_DIR / "subword.json"
    if config.exists():
        shipped = json.loads(config.read_text(encoding="utf-8"))["phrases"]
    return review({**shipped, **policy.phrases})
