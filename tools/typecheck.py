"""`make lint`'s mypy run over the `seatwatch` package as it installs.

pyproject.toml maps repository folders to packages (`package-dir`: edge/ is
`seatwatch.edge`, host_console/ is `seatwatch.console`, ...). The editable install
resolves that mapping with an import hook that mypy cannot follow, so mypy would take
every `seatwatch.edge` import as missing and check nothing through it. This builds the
installed layout as a tree of symlinks (build/typecheck/seatwatch/edge -> edge/, ...) and
runs mypy there, on the packages listed in CHECKED.

    .venv/bin/python tools/typecheck.py [extra mypy arguments]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
# what is type-checked: the runtime (edge, console, contracts, CLI, demo), not the
# training code in seatwatch.models (checked only as far as the runtime imports it)
CHECKED = ["-p", "seatwatch.edge", "-p", "seatwatch.console", "-p", "seatwatch.contracts",
           "-m", "seatwatch", "-m", "seatwatch.cli", "-m", "seatwatch.demo", "-m", "seatwatch.__main__"]


def package_dir() -> dict[str, str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping: dict[str, str] = config["tool"]["setuptools"]["package-dir"]
    return mapping


def build_tree(mapping: dict[str, str], tree: Path = TREE) -> Path:
    """tree/<package path> links to each mapped folder; a package whose folder also holds
    mapped subpackages (seatwatch/) gets a real folder with a link per entry."""
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    for package in sorted(mapping, key=lambda name: name.count(".")):
        source = ROOT / mapping[package]
        target = tree.joinpath(*package.split("."))
        if any(other.startswith(package + ".") for other in mapping):
            target.mkdir(parents=True, exist_ok=True)
            for entry in source.iterdir():
                if entry.name != "__pycache__":
                    (target / entry.name).symlink_to(entry)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=True)
    return tree


def main(argv: list[str]) -> int:
    tree = build_tree(package_dir())
    env = {**os.environ, "MYPYPATH": str(tree)}
    command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
               "--cache-dir", str(ROOT / ".mypy_cache"), *CHECKED, *argv]
    return subprocess.run(command, cwd=tree, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
