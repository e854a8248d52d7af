"""Rewrite module references for the one-package layout (issue 14), re-runnably.

The repository folders install as one package (pyproject.toml `package-dir`): `edge/` is
`seatwatch.edge`, `host_console/` is `seatwatch.console`, `models/` is `seatwatch.models`,
and a few modules moved into `seatwatch/` itself (MOVED). This script brings code and docs
written against the old names up to date, so a branch made before the move can be merged
and then fixed by running it again:

    .venv/bin/python tools/rename_imports.py          # rewrite tracked files in place
    .venv/bin/python tools/rename_imports.py --check  # list what would change, exit 1 if any

Merging a branch with the old names: where a file conflicts only because both sides
touched its imports, take the branch's side (`git checkout --theirs FILE`) and run this;
files edited by hand for the move (pyproject.toml, MANIFEST.in, setup.py, docs) are merged
by hand, then run this too (it renames pyproject's package-data keys).

What it rewrites (old names only, so a second run changes nothing):
- Python imports (`import edge.x`, `from edge import topics`, `from host_console.y import z`),
  splitting a `from` import whose names moved to different packages; after a plain
  `import edge.x`, the attribute chains `edge.x.attr` that use it;
- in Python strings and comments, and everywhere in other text files: dotted references
  whose prefix is a real module (`"edge.cli"`, `-m models.cli`, `mock.patch("edge.daemon.f")`,
  `edge.cli:main`), and file paths of moved modules (`edge/events.py`);
- pyproject.toml's package-data keys (`models = [...]` -> `"seatwatch.models" = [...]`);
then sorts the touched imports with `ruff check --select I --fix` when ruff is installed.

Names that are no module (`edge.toml`, a variable `edge.poll()`) are left alone. Lines it
makes longer than 110 characters are listed for a hand edit.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import shutil
import subprocess
import sys
import tokenize
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# old top-level package -> its installed name
ROOTS: dict[str, str] = {"edge": "seatwatch.edge", "host_console": "seatwatch.console",
                         "models": "seatwatch.models"}
# modules that left their folder (git mv): old name -> new name
MOVED: dict[str, str] = {
    "edge.cli": "seatwatch.cli",
    "edge.demo": "seatwatch.demo",
    "edge.events": "seatwatch.contracts.events",
    "edge.topics": "seatwatch.contracts.topics",
    "edge.payloads": "seatwatch.contracts.payloads",
    "edge.publish.session": "seatwatch.contracts.session",
}
MOVED_PATHS: dict[str, str] = {old.replace(".", "/") + ".py": new.replace(".", "/") + ".py"
                               for old, new in MOVED.items()}

# files never rewritten: recorded data, this script and its test (they name the old modules)
SKIP_PREFIXES = ("scenarios/rendered/", "tests/fuzz/corpus/", "tests/console/__snapshots__/",
                 "tools/rename_imports.py", "tests/contracts/test_rename_imports.py")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".cfg", ".in", ".txt", ".sh", ".service", ".ini",
                 ".yml", ".yaml", ".conf", ".example"}
TEXT_NAMES = {"Makefile", "run"}
MAX_LINE = 110

_ROOT_NAMES = "|".join(ROOTS)
_OLD_PATHS = "|".join(re.escape(p) for p in MOVED_PATHS)
# not after a word, dot, dash or slash: `seatwatch.edge.x`, `foo-edge.x`, `a/edge.x` are no match
DOTTED = re.compile(rf"(?<![\w.\-/])(?:{_ROOT_NAMES})(?:\.\w+)+")
PATHS = re.compile(rf"(?<![\w.\-/])(?:{_OLD_PATHS})(?!\w)")


def known_modules(root: Path = ROOT) -> set[str]:
    """Old dotted names of every module and package under the three folders, plus MOVED."""
    names = set(MOVED)
    for top in ROOTS:
        for file in (root / top).rglob("*.py"):
            parts = file.relative_to(root).with_suffix("").parts
            names.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    names.discard("")
    return {name.removesuffix(".__init__") for name in names}


def new_module(old: str) -> str:
    """The installed name of old module `old` (its head is a key of ROOTS)."""
    for moved in sorted(MOVED, key=len, reverse=True):
        if old == moved or old.startswith(moved + "."):
            return MOVED[moved] + old[len(moved):]
    head, _, rest = old.partition(".")
    return ROOTS[head] + ("." + rest if rest else "")


def rewrite_text(text: str, modules: set[str]) -> str:
    """Dotted module references and moved file paths in free text."""
    def dotted(match: re.Match[str]) -> str:
        parts = match.group(0).split(".")
        for end in range(len(parts), 1, -1):        # the longest prefix that is a module
            prefix = ".".join(parts[:end])
            if prefix in modules:
                return ".".join([new_module(prefix), *parts[end:]])
        return match.group(0)

    return PATHS.sub(lambda m: MOVED_PATHS[m.group(0)], DOTTED.sub(dotted, text))


class _Source:
    """Character offsets for the (line, UTF-8 byte column) positions ast reports."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, byte_col: int) -> int:
        raw = self.lines[line - 1].encode()[:byte_col]
        return self.starts[line - 1] + len(raw.decode())

    def span(self, node: ast.AST) -> tuple[int, int]:
        end_line, end_col = node.end_lineno, node.end_col_offset  # type: ignore[attr-defined]
        assert end_line is not None and end_col is not None
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(end_line, end_col))


Edit = tuple[int, int, str]


def _from_import(node: ast.ImportFrom, src: _Source) -> Edit | None:
    module = node.module or ""
    if node.level or module.partition(".")[0] not in ROOTS:
        return None
    groups: dict[str, list[str]] = {}
    for alias in node.names:
        full = f"{module}.{alias.name}"
        if full in MOVED:                           # a moved module imported from its package
            target, _, name = MOVED[full].rpartition(".")
        else:
            target, name = new_module(module), alias.name
        groups.setdefault(target, []).append(name + (f" as {alias.asname}" if alias.asname else ""))
    start, end = src.span(node)
    statement = src.text[start:end]
    if len(groups) == 1 and all(f"{module}.{a.name}" not in MOVED for a in node.names):
        head = re.match(r"from\s+" + re.escape(module).replace(r"\.", r"\s*\.\s*") + r"\b", statement)
        if head:                                    # keep the names as written (comments, wrapping)
            (target,) = groups
            return start, start + head.end(), f"from {target}"
    indent = "\n" + " " * node.col_offset
    return start, end, indent.join(f"from {target} import {', '.join(names)}"
                                   for target, names in groups.items())


def _import(node: ast.Import, src: _Source, bound: set[str]) -> Edit | None:
    if not any(a.name.partition(".")[0] in ROOTS for a in node.names):
        return None
    names = []
    for alias in node.names:
        head = alias.name.partition(".")[0]
        name = new_module(alias.name) if head in ROOTS else alias.name
        if head in ROOTS and not alias.asname:
            bound.add(head)                         # `edge.x.y` in the code now reads `seatwatch...`
        names.append(name + (f" as {alias.asname}" if alias.asname else ""))
    start, end = src.span(node)
    return start, end, "import " + ", ".join(names)


def _chains(tree: ast.AST, bound: set[str], modules: set[str], src: _Source) -> list[Edit]:
    """`edge.events.time` after `import edge.events`: the module part of each chain."""
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    edits: list[Edit] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        chain: list[ast.expr] = [node]
        while isinstance(chain[-1], ast.Attribute):
            chain.append(chain[-1].value)       # type: ignore[attr-defined]
        root = chain[-1]
        if not isinstance(root, ast.Name) or root.id not in bound:
            continue
        for link in chain[:-1]:                 # outermost first: the longest module prefix
            dotted = ast.unparse(link)
            if dotted in modules:
                start, end = src.span(link)
                edits.append((start, end, new_module(dotted)))
                break
    return edits


def _tokens(text: str, modules: set[str], src: _Source) -> list[Edit]:
    edits: list[Edit] = []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type not in (tokenize.STRING, tokenize.COMMENT):
            continue
        new = rewrite_text(tok.string, modules)
        if new != tok.string:
            start = src.starts[tok.start[0] - 1] + tok.start[1]
            edits.append((start, start + len(tok.string), new))
    return edits


def rewrite_python(text: str, modules: set[str]) -> str:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return rewrite_text(text, modules)
    src = _Source(text)
    bound: set[str] = set()
    edits: list[Edit] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            edit = _from_import(node, src)
        elif isinstance(node, ast.Import):
            edit = _import(node, src, bound)
        else:
            continue
        if edit:
            edits.append(edit)
    edits += _chains(tree, bound, modules, src)
    taken = [(s, e) for s, e, _ in edits]
    edits += [t for t in _tokens(text, modules, src)
              if not any(s <= t[0] < e for s, e in taken)]  # a string inside an edited span
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + _keep_comment_column(text[end:], len(new) - (end - start))
    return text


def _keep_comment_column(rest: str, grown: int) -> str:
    """The rest of an edited line, its padding before an aligned `# comment` shortened by
    what the edit added (down to two spaces), so aligned comments stay aligned."""
    line, newline, after = rest.partition("\n")
    padded = re.search(r"( {3,})#[^\n]*$", line)
    if grown <= 0 or padded is None:
        return rest
    cut = min(grown, len(padded.group(1)) - 2)
    return line[:padded.start()] + line[padded.start() + cut:] + newline + after


def tracked_files(root: Path = ROOT) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True)
    out = []
    for name in listed.stdout.decode().split("\0"):
        path = root / name
        if (not name or name.startswith(SKIP_PREFIXES) or not path.is_file()
                or not (path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES)):
            continue
        out.append(path)
    return out


def rewrite_file(path: Path, modules: set[str]) -> str | None:
    """The file's new text, or None when it does not change."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    if path.suffix == ".py":
        new = rewrite_python(text, modules)
    else:
        new = rewrite_text(text, modules)
        if path.name == "pyproject.toml":
            new = rewrite_package_data_keys(new)
    return None if new == text else new


def rewrite_package_data_keys(text: str) -> str:
    """pyproject's `[tool.setuptools.package-data]` keys are package names too:
    `models = [...]` becomes `"seatwatch.models" = [...]`."""
    out, table = [], ""
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            table = line.strip()
        key = re.match(rf"({_ROOT_NAMES})(\s*=)", line)
        if table == "[tool.setuptools.package-data]" and key:
            line = f'"{ROOTS[key.group(1)]}"{line[key.end(1):]}'
        out.append(line)
    return "".join(out)


def sort_imports(files: Iterable[Path]) -> None:
    py = [str(f) for f in files if f.suffix == ".py"]
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(Path(sys.executable).parent))
    if not py:
        return
    if ruff is None:
        print("ruff not found: imports left unsorted (run `ruff check --select I --fix`)")
        return
    subprocess.run([ruff, "check", "--quiet", "--select", "I", "--fix", "--exit-zero", *py], cwd=ROOT)


PRAGMA = re.compile(r"\s*# (type: ?ignore|noqa)\b.*$")


def long_lines(before: dict[Path, str]) -> list[str]:
    """Python lines over MAX_LINE (as ruff counts: without a trailing pragma comment) that
    were not there before the rewrite."""
    out = []
    for file, old in before.items():
        if file.suffix != ".py":
            continue
        known = set(old.splitlines())
        for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            if len(PRAGMA.sub("", line)) > MAX_LINE and line not in known:
                out.append(f"{file.relative_to(ROOT)}:{number}: {len(line)} characters")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only list the files that would change")
    parser.add_argument("files", nargs="*", type=Path, help="default: every tracked text file")
    args = parser.parse_args(argv)
    modules = known_modules()
    files = [f.resolve() for f in args.files] or tracked_files()
    before: dict[Path, str] = {}
    for file in files:
        new = rewrite_file(file, modules)
        if new is None:
            continue
        before[file] = file.read_text(encoding="utf-8")
        if not args.check:
            file.write_text(new, encoding="utf-8")
    changed = list(before)
    for file in changed:
        print(("would rewrite " if args.check else "rewrote ") + str(file.relative_to(ROOT)))
    if args.check:
        return 1 if changed else 0
    sort_imports(changed)
    for problem in long_lines(before):
        print("too long, wrap by hand:", problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
