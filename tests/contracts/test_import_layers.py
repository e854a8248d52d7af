"""The import picture matches the folder picture (issue 14).

One installed package, `seatwatch`: the edge (edge/ = seatwatch.edge) and the console
(host_console/ = seatwatch.console) both speak through seatwatch.contracts and never
import each other; the contracts import neither; the command line and the demo at the top
import the parts, never the reverse; and nothing imports the old top-level names
(`edge`, `host_console`, `models`), which a wheel no longer installs. Imports are read
from the source (AST), module paths in strings (importlib, `-m`) included.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OLD_NAMES = ("edge", "host_console", "models")
# folder -> module prefixes its code must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "host_console": ("seatwatch.edge", "seatwatch.cli", "seatwatch.demo"),
    "edge": ("seatwatch.console", "seatwatch.cli", "seatwatch.demo"),
    "seatwatch/contracts": ("seatwatch.edge", "seatwatch.console", "seatwatch.models",
                            "seatwatch.cli", "seatwatch.demo"),
}


def python_files(*folders: str) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z", "--", *folders], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    return [ROOT / name for name in listed if name.endswith(".py") and (ROOT / name).is_file()]


def imported(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import, and every string that names a seatwatch
    module (importlib.import_module, `python -m`, the CLI's command table)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.startswith("seatwatch.") and " " not in node.value:
            yield node.lineno, node.value


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_it_may(folder: str) -> None:
    files = python_files(folder)
    assert files, folder
    bad = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in files
           for line, module in imported(path)
           if any(within(module, prefix) for prefix in FORBIDDEN[folder])]
    assert not bad, "\n".join(bad)


def test_the_relative_imports_stay_inside_their_folder() -> None:
    # the mapping puts folders side by side in the package: `..` out of edge/ is not the repo
    files = python_files("edge", "host_console", "models", "seatwatch")
    bad = [f"{path.relative_to(ROOT)}:{node.lineno}"
           for path in files for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
           if isinstance(node, ast.ImportFrom) and node.level > len(path.relative_to(ROOT).parts) - 1]
    assert not bad, bad


def test_nothing_imports_the_old_top_level_names() -> None:
    files = python_files("edge", "host_console", "models", "seatwatch", "tests", "bench", "deploy")
    bad = [f"{path.relative_to(ROOT)}:{line}: {module}" for path in files
           for line, module in imported(path) if module.split(".")[0] in OLD_NAMES]
    assert not bad, "\n".join(bad) + "\n(run tools/rename_imports.py)"


def test_the_console_and_the_edge_share_the_contracts() -> None:
    # the contracts are used from both sides (else they would belong to one of them)
    for folder in ("edge", "host_console"):
        assert any(within(module, "seatwatch.contracts")
                   for path in python_files(folder) for _, module in imported(path)), folder
