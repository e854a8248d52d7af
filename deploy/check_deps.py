"""Do seatwatch's runtime dependencies install on the Pi? (`make deps-check`)

Resolves the runtime dependencies of pyproject.toml for CPython 3.11 on aarch64 Linux
(Raspberry Pi OS Bookworm, glibc 2.36) with binary wheels only, the way `pip install`
on the Pi would, without running there:

    pip download --only-binary=:all: --platform manylinux2014_aarch64 \\
        --platform manylinux_2_28_aarch64 ... --python-version 3.11 ...

By default the whole dependency tree is resolved (--no-deps: the direct dependencies
only). Environment markers are evaluated for the target (tflite-runtime, not LiteRT).
The `alsa` extra (pyalsaaudio, the Pi-inline source) has no wheels: it is checked to
exist as a source distribution, which `pip install 'seatwatch[alsa]'` compiles on the
Pi against libasound2-dev.

Needs the package index (PyPI); downloads go to a temporary folder (pip's cache keeps
repeated runs fast). Exit status 0 when everything resolves.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
MACHINE = "aarch64"
GLIBC = (2, 36)                 # Raspberry Pi OS Bookworm (Debian 12)
SOURCE_ONLY_EXTRAS = ("alsa",)  # extras that compile on the target (no wheels exist)


def target_environment() -> dict[str, str]:
    env = dict(default_environment())
    env.update(python_version=PYTHON, python_full_version=f"{PYTHON}.2", platform_machine=MACHINE,
               sys_platform="linux", platform_system="Linux", os_name="posix",
               implementation_name="cpython", platform_python_implementation="CPython")
    return env


def requirements(pyproject: Path, extras: tuple[str, ...] = ()) -> list[str]:
    """Runtime dependencies (and those of `extras`) whose markers hold on the target."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    raw = list(project["dependencies"])
    for extra in extras:
        raw += project.get("optional-dependencies", {}).get(extra, [])
    env = target_environment()
    out = []
    for text in raw:
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            out.append(str(req))
    return out


def platforms() -> list[str]:
    tags = [f"manylinux2014_{MACHINE}"]
    tags += [f"manylinux_2_{minor}_{MACHINE}" for minor in range(17, GLIBC[1] + 1)]
    return tags + [f"linux_{MACHINE}"]


def pip_download(reqs: list[str], dest: Path, *, binary: bool,
                 deps: bool) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
           "--dest", str(dest), "--python-version", PYTHON, "--implementation", "cp"]
    for tag in platforms():
        cmd += ["--platform", tag]
    if binary:
        cmd += ["--only-binary=:all:"]
    if not deps or not binary:
        cmd += ["--no-deps"]
    return subprocess.run([*cmd, *reqs], capture_output=True, text=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-deps", action="store_true", help="direct dependencies only")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="seatwatch-deps-") as tmp:
        wheels = Path(tmp) / "wheels"
        reqs = requirements(args.pyproject)
        print(f"runtime dependencies for CPython {PYTHON} on {MACHINE} (glibc "
              f"{GLIBC[0]}.{GLIBC[1]}), wheels only{'' if args.no_deps else ', whole tree'}:")
        done = pip_download(reqs, wheels, binary=True, deps=not args.no_deps)
        if done.returncode != 0:
            ok = False
            print(done.stdout + done.stderr)
        for file in sorted(wheels.glob("*")) if wheels.exists() else []:
            print(f"  {file.name}")
        for extra in SOURCE_ONLY_EXTRAS:
            sources = Path(tmp) / extra
            extra_reqs = [r for r in requirements(args.pyproject, (extra,)) if r not in reqs]
            done = pip_download(extra_reqs, sources, binary=False, deps=False)
            names = sorted(f.name for f in sources.glob("*")) if sources.exists() else []
            print(f"extra [{extra}] (compiled on the target; needs libasound2-dev): "
                  + (", ".join(names) or "nothing"))
            if done.returncode != 0:
                ok = False
                print(done.stdout + done.stderr)
    print("deps-check: " + ("every runtime dependency resolves" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
