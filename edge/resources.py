"""Where the runtime finds its data, from a git checkout or from an installed wheel.

Everything the product reads at run time (policies, headset calibration profiles, the
firmware modules the edge shares with the device, the TFLite models, the scenario
scripts and renders the demo plays) is found through `data_dir(name)` / `data_file`,
never through `Path(__file__).parents[...]`:

- installed from a wheel: the data is package data of this package, under
  `_data/<name>/` (setup.py's build step copies the repository folders listed in `DATA`
  there), read through `importlib.resources`;
- a git checkout (also the editable install `make venv` makes): the repository folders
  themselves, beside this package.

The models are already a Python package with package data (`models/*.tflite`, installed
as `seatwatch.models`), so they are read from that package in both cases.

This module imports only the standard library: setup.py loads it to learn what to ship.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import NamedTuple


class DataDir(NamedTuple):
    source: str                 # folder in the repository (relative to its root)
    include: tuple[str, ...]    # glob patterns (relative to `source`) shipped in the wheel


# name -> where it lives in a checkout and what of it ships. setup.py and MANIFEST.in
# follow this table (tests/packaging checks the built wheel against it).
DATA: dict[str, DataDir] = {
    "policies": DataDir("policies", ("*.toml",)),
    "hardware": DataDir("hardware", ("pinout.toml", "calibration/*.toml")),
    "firmware": DataDir("firmware", ("*.py",)),
    "scenarios": DataDir("scenarios", ("*.toml", "rendered/*.json", "rendered/*.ogg",
                                       "rendered/*.flac")),
}
# name -> the Python package whose package data it is (same in a checkout and a wheel)
PACKAGE_DATA: dict[str, str] = {"models": "seatwatch.models"}

PACKAGED = "_data"              # the folder inside this package that a wheel carries


class ResourceMissing(FileNotFoundError):
    pass


def _package() -> str:
    # this module's package ("seatwatch.edge"); computed so a move of the package keeps working
    return __name__.rpartition(".")[0] or "seatwatch.edge"


def _as_path(resource: object, name: str) -> Path:
    # a wheel installs unpacked, so a resource is a real folder; a zipped install is not
    # supported (the models and firmware are opened by path)
    if isinstance(resource, Path):
        return resource
    raise ResourceMissing(f"seatwatch data {name!r} is inside an archive ({resource}); "
                          "install seatwatch unpacked (pip install)")


def data_dir(name: str) -> Path:
    """The folder of runtime data `name` (a key of DATA or PACKAGE_DATA)."""
    if name in PACKAGE_DATA:
        return _as_path(importlib.resources.files(PACKAGE_DATA[name]), name)
    if name not in DATA:
        known = ", ".join(sorted({*DATA, *PACKAGE_DATA}))
        raise KeyError(f"unknown seatwatch data {name!r} (known: {known})")
    packaged = importlib.resources.files(_package()) / PACKAGED / name
    if packaged.is_dir():
        return _as_path(packaged, name)
    checkout = checkout_root()
    if checkout is not None and (checkout / DATA[name].source).is_dir():
        return checkout / DATA[name].source
    raise ResourceMissing(f"seatwatch data {name!r} not found: neither packaged ({packaged}) "
                          f"nor in a checkout ({DATA[name].source}/)")


def data_file(name: str, *parts: str) -> Path:
    """A file under data_dir(name), e.g. data_file("policies", "default.toml")."""
    return data_dir(name).joinpath(*parts)


def checkout_root() -> Path | None:
    """The repository root when this package runs from a git checkout, else None.

    From a checkout (the editable install included) this file is edge/resources.py, so
    the root is two folders up; in a wheel it is seatwatch/edge/resources.py, where two
    folders up holds no pyproject.toml."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def shipped_files(root: str | os.PathLike[str]) -> list[tuple[str, Path]]:
    """(path inside the package's _data folder, source file) for every DATA file under
    repository `root`: what setup.py copies into the wheel."""
    base = Path(root)
    out: dict[str, Path] = {}
    for name, spec in DATA.items():
        folder = base / spec.source
        for pattern in spec.include:
            for file in sorted(folder.glob(pattern)):
                if file.is_file():
                    out[f"{name}/{file.relative_to(folder).as_posix()}"] = file
    return sorted(out.items())
