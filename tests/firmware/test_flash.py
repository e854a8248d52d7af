"""`seatwatch firmware flash/info` against software devices: a raw-REPL device on a pty
(driven through mpremote's own transport) and the simulated monitor of tests/link."""

from __future__ import annotations

import json

import pytest

from edge.cli import main as seatwatch
from edge.flashing.build import BuildError, build, config_artifact, firmware_version
from edge.flashing.device import DeviceError, RawRepl, flash
from edge.link.framing import protocol as P
from tests.firmware.repl_device import RawReplDevice
from tests.firmware.runner import run_micropython
from edge.sim.device import PtyDevice, stereo_signal


@pytest.fixture(scope="module")
def image():
    return build("A12")


@pytest.fixture
def device(tmp_path):
    """A board already at the REPL (the maintenance path is covered by `flashed`)."""
    (tmp_path / "flash").mkdir()
    dev = RawReplDevice(tmp_path / "flash", monitor=False).start()
    yield dev
    dev.stop()


@pytest.fixture(scope="module")
def flashed(tmp_path_factory, image):
    """One flash of a device that starts out running the monitor."""
    root = tmp_path_factory.mktemp("board")
    (root / "flash").mkdir()
    dev = RawReplDevice(root / "flash").start()
    seen: dict[str, tuple[int, int]] = {}
    try:
        report = flash(dev.port, image, firmware_version(),
                       progress=lambda name, done, total: seen.__setitem__(name, (done, total)))
    finally:
        dev.stop()
    return dev, report, seen


def test_flash_copies_verifies_and_resets(flashed, image):
    device, report, seen = flashed
    names = [a.name for a in image]
    assert report.verified == names and report.version == "0.1.0"
    for artifact in image:
        assert (device.flash / artifact.name).read_bytes() == artifact.data
        assert seen[artifact.name] == (len(artifact.data), len(artifact.data))
    assert json.loads((device.flash / "seatwatch.json").read_text())["seat"] == "A12"
    assert device.resets == 1 and device.mode == "monitor"
    assert "hal_sim.mpy" not in names and names[-1] == "main.py"
    assert any("hashlib" in code for code in device.executed)     # hashes read on the device


def test_the_flashed_image_runs_on_micropython(flashed):
    device, _, _ = flashed
    code = ("import config, protocol\n"
            "c = config.load('/input/seatwatch.json')\n"
            "print(c.seat, c.problem)\n"
            "print(protocol.encode_frame(protocol.T_CONTROL, 3, 99, protocol.pack_control(1, 1, 90)).hex())\n"
            "import app\nprint(app.VERSION)\n")
    out = run_micropython(code, directory=device.flash).stdout.split()
    assert out[:2] == ["A12", "None"]
    assert out[2] == P.encode_frame(P.T_CONTROL, 3, 99, P.pack_control(1, 1, 90)).hex()
    assert out[3] == "0.1.0"
    assert all(not (device.flash / name).exists() for name in ("protocol.py", "app.py"))


def test_a_corrupted_write_fails_verification_naming_the_file(tmp_path, image):
    (tmp_path / "flash").mkdir()
    dev = RawReplDevice(tmp_path / "flash", monitor=False, corrupt="protocol.mpy").start()
    try:
        with pytest.raises(DeviceError, match="protocol.mpy: hash on the device differs"):
            flash(dev.port, image, firmware_version())
    finally:
        dev.stop()
    assert dev.resets == 0


def test_a_silent_port_is_reported(tmp_path, image):
    (tmp_path / "flash").mkdir()
    dev = RawReplDevice(tmp_path / "flash")
    dev.mode = "dead"                                # never answers anything
    dev.start()
    try:
        with pytest.raises(DeviceError, match="no raw REPL"):
            RawRepl(dev.port, attempts=2, wait_s=0.3)
    finally:
        dev.stop()


def test_bad_seat_ids_are_refused():
    with pytest.raises(BuildError, match="seat id"):
        config_artifact("A 12; rm")


def test_cli_flash_shows_progress(device, capsys):
    assert seatwatch(["firmware", "flash", "--port", device.port, "--seat", "B7"]) == 0
    out = capsys.readouterr().out
    assert "protocol.mpy" in out and "verified 15 files" in out and "firmware 0.1.0, seat B7" in out
    assert json.loads((device.flash / "seatwatch.json").read_text())["seat"] == "B7"


def test_cli_info_reads_a_running_monitor(tmp_path, capsys):
    dev = PtyDevice(tmp_path, stereo_signal(3.0), speed=1.0).start()
    try:
        assert seatwatch(["firmware", "info", "--port", dev.port, "--json"]) == 0
    finally:
        dev.stop()
    info = json.loads(capsys.readouterr().out)
    assert info["serial"] == "SIM-0001" and info["firmware"] == "0.1.0" and info["seat"] == "S1"
    assert info["heartbeat"]["uptime_ms"] >= 1000


def test_cli_info_on_a_dead_port_fails_clearly(tmp_path, capsys):
    assert seatwatch(["firmware", "info", "--port", str(tmp_path / "none")]) == 1
    assert "cannot open" in capsys.readouterr().err
