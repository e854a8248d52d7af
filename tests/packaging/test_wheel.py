"""The product as a technician installs it: `make dist`'s sdist and wheel (the wheel built
from the sdist), the wheel installed into a clean virtualenv outside the checkout, and
`seatwatch analyze`, `policy check`, `edge run` on a wav source and `console --help`
run from another folder, reading their policies, models and firmware from the wheel. The
wheel installs one top-level package, `seatwatch` (issue 14): nothing named `edge`,
`host_console` or `models` that another package could shadow or overwrite.

The clean venv gets the already-installed dependencies through a .pth line pointing at
this interpreter's site-packages (added after the wheel is installed with --no-deps, so
pip never sees them): fast and offline, while the code and data come from the wheel
alone. Building needs setuptools from the package index (build isolation), as
`make dist` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
import soundfile as sf

from seatwatch.edge.resources import DATA, PACKAGED, shipped_files
from seatwatch.edge.sources.wavfile import read_stereo
from tests.fixtures.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "scenarios" / "rendered" / "no_greeting_rude.ogg"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the wheel; returns its bin/ folder."""
    home = tmp_path_factory.mktemp("pi")
    env_dir = home / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    (wheel,) = dist.glob("seatwatch-*.whl")
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
                           "--disable-pip-version-check", str(wheel)],
                          capture_output=True, text=True, cwd=home, timeout=300)
    assert done.returncode == 0, done.stderr
    site = Path(subprocess.check_output([str(python), "-c", "import sysconfig; "
                                         "print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "zz_seatwatch_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir / "bin"


def run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def wheel_names(dist: Path) -> set[str]:
    (wheel,) = dist.glob("seatwatch-*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_wheel_carries_the_runtime_data(dist: Path) -> None:
    (sdist,) = dist.glob("seatwatch-*.tar.gz")
    assert sdist.stat().st_size > 0
    names = wheel_names(dist)
    data = f"seatwatch/edge/{PACKAGED}"
    expected = {f"{data}/{rel}" for rel, _ in shipped_files(ROOT)}
    assert expected <= names, sorted(expected - names)[:10]
    for name in DATA:                      # every data folder ships something
        assert any(n.startswith(f"{data}/{name}/") for n in names), name
    models = {f"seatwatch/models/{f.name}" for pattern in ("*.tflite", "*.json", "*.npy")
              for f in (ROOT / "models").glob(pattern)}
    assert {"seatwatch/models/kws.tflite", "seatwatch/models/rate.json"} <= models <= names, \
        sorted(models - names)
    assert {f"{data}/policies/default.toml", "seatwatch/console/console.tcss",
            "seatwatch/contracts/events.py", "seatwatch/cli.py", "seatwatch/demo.py"} <= names
    assert not any("__pycache__" in n for n in names)


def test_the_wheel_installs_only_the_seatwatch_package(dist: Path) -> None:
    names = wheel_names(dist)
    (info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in names} == {"seatwatch", info}, sorted(names)[:20]
    with zipfile.ZipFile(next(dist.glob("seatwatch-*.whl"))) as wheel:
        record = wheel.read(f"{info}/RECORD").decode()
        top_level = wheel.read(f"{info}/top_level.txt").decode() if f"{info}/top_level.txt" in names \
            else "seatwatch\n"
        entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    recorded = {line.split(",")[0].split("/")[0] for line in record.splitlines() if line}
    assert recorded == {"seatwatch", info}, recorded
    assert top_level.split() == ["seatwatch"], top_level
    assert "seatwatch = seatwatch.cli:main" in entry_points, entry_points


def test_installed_wheel_runs_from_another_folder(installed: Path, tmp_path: Path,
                                                  mosquitto: Mosquitto) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = run(installed, installed / "python", "-c",
                "import seatwatch.edge.resources as r, seatwatch.console, seatwatch.models as m; "
                "print(r.__file__); print(seatwatch.console.__file__); print(m.__file__); "
                "print(r.data_file('policies', 'default.toml')); print(r.data_dir('firmware'))",
                cwd=work)
    assert where.returncode == 0, where.stderr
    venv_root = installed.parent.resolve()
    for line in where.stdout.split():
        assert Path(line).resolve().is_relative_to(venv_root), where.stdout   # nothing from the checkout
    default_policy = where.stdout.split()[3]
    site = Path(where.stdout.split()[0]).parents[2]            # .../site-packages
    assert not {"edge", "host_console", "models"} & {p.name for p in site.iterdir()}

    call = work / "call.wav"
    sf.write(call, read_stereo(CALL), 16_000, subtype="PCM_16")
    analyzed = run(installed, "seatwatch", "analyze", call, cwd=work)
    assert analyzed.returncode == 0, analyzed.stderr
    events = [json.loads(line) for line in analyzed.stdout.splitlines() if line.strip()]
    assert {"greeting_missing", "forbidden_phrase"} <= {e["type"] for e in events}

    checked = run(installed, "seatwatch", "policy", "check", default_policy, cwd=work)
    assert checked.returncode == 0 and "is valid" in checked.stdout, checked.stderr

    console = run(installed, "seatwatch", "console", "--help", cwd=work)
    assert console.returncode == 0 and "--broker" in console.stdout, console.stderr

    edge = run(installed, "seatwatch", "edge", "run", "--source", f"wav:{call}", "--fast",
               "--broker", mosquitto.url, "--site", "hq", "--seat", "W1",
               "--state-dir", work / "state", cwd=work)
    assert edge.returncode == 0, edge.stderr
    account = json.loads((work / "state" / "last-run.json").read_text())
    assert account["W1"]["accepted"] > 0 and account["W1"]["unsent"] == 0, account
