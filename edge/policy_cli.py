"""`seatwatch policy check FILE | docs`: validate a policy, or print docs/policy.md."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edge.policy import PolicyError, describe, load_policy

HEADER = """# Policy file reference

A policy is a TOML file (`policies/default.toml`, `policies/12333.toml`) holding every
threshold of [NORMS.md](norms.md). A file may set only some keys; the rest keep the
defaults below. Unknown keys, wrong types and out-of-range values are refused at load
with the file, the key and the reason (`seatwatch policy check FILE`).

This page is generated from `edge/policy.py` by `seatwatch policy docs`; a test keeps
them in sync.

| key | default | meaning (unit; source) |
|---|---|---|
"""


def render() -> str:
    rows = [f"| `{key}` | `{json.dumps(default, ensure_ascii=False)}` | {text} |"
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
        return 2
    print(f"{args.file}: policy {policy.name!r} is valid")
    return 0
