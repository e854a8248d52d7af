"""`seatwatch firmware flash/info` against software devices: a raw-REPL device on a pty
(driven through mpremote's own transport) and the simulated monitor of tests/link.

The A/B update: a first flash fills slot a; the next goes into b and keeps a for
rollback; a copy cut off mid-file, a file or a manifest changed on the device after the
copy, or a slot the loader would refuse never reaches the switch, and the device keeps
the version it ran."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest

from seatwatch.cli import main as seatwatch
from seatwatch.edge.flashing.build import BuildError, Image, build, config_artifact
from seatwatch.edge.flashing.device import DeviceError, RawRepl
from seatwatch.edge.flashing.update import flash
from seatwatch.edge.link.framing import FIRMWARE_DIR, load
from seatwatch.edge.link.framing import protocol as P
from seatwatch.edge.sim.device import PtyDevice, stereo_signal
from tests.firmware.repl_device import RawReplDevice
from tests.firmware.runner import run_micropython

slots = load("slots")


@pytest.fixture(scope="module")
def image() -> Image:
    return build("A12")


@pytest.fixture(scope="module")
def image_next(tmp_path_factory) -> Image:
    """The same firmware one version on (0.3.0), as the next release would be."""
    firmware = tmp_path_factory.mktemp("fw-next") / "firmware"
    shutil.copytree(FIRMWARE_DIR, firmware)
    app = firmware / "app.py"
    app.write_text(app.read_text().replace('VERSION = "0.2.0"', 'VERSION = "0.3.0"', 1))
    return build("A12", firmware)


@pytest.fixture(scope="module")
def flashed(tmp_path_factory, image):
    """One flash of a new device that starts out running the (0.1.x) monitor."""
    root = tmp_path_factory.mktemp("board")
    (root / "flash").mkdir()
    dev = RawReplDevice(root / "flash").start()
    seen: dict[str, tuple[int, int]] = {}
    try:
        report = flash(dev.port, image,
                       progress=lambda name, done, total: seen.__setitem__(name, (done, total)))
        rebooted(dev)
    finally:
        dev.stop()
    return dev, report, seen


def rebooted(dev: RawReplDevice, timeout: float = 3.0) -> bool:
    """The reset command was sent without waiting for the device (it drops the line on
    a board): give the device's thread a moment to act on it."""
    deadline = time.monotonic() + timeout
    while dev.mode != "monitor" and time.monotonic() < deadline:
        time.sleep(0.01)
    return dev.mode == "monitor"


def board(tmp_path: Path, flashed, **options) -> RawReplDevice:
    """A board at the REPL holding what `flashed` left (0.2.0 in slot a)."""
    shutil.copytree(flashed[0].flash, tmp_path / "flash")
    return RawReplDevice(tmp_path / "flash", monitor=False, **options).start()


def chosen(flash_dir: Path) -> tuple[str | None, str | None, str | None]:
    choice = slots.select(str(flash_dir))
    return choice.slot, choice.version, choice.previous


def active(flash_dir: Path) -> str:
    return (flash_dir / "fw" / "active").read_text()


def test_the_manifest_lists_every_file_with_size_and_sha256(image):
    manifest = json.loads(image.files[-1].data)
    assert manifest["format"] == slots.FORMAT and manifest["version"] == "0.2.0"
    for key, artifacts in (("files", image.files[:-1]), ("loader", image.loader)):
        assert manifest[key] == [{"name": a.name, "size": len(a.data), "sha256": hashlib.sha256(a.data).hexdigest()}
                                 for a in artifacts]
    assert [a.name for a in image.loader] == ["slots.mpy", "boot.py", "main.py"]
    assert not {a.name for a in image.loader} & {a.name for a in image.files}


def test_first_flash_fills_slot_a_then_commits(flashed, image):
    device, report, seen = flashed
    names = [a.name for a in image.files]
    assert names[0] == "seatwatch.json" and names[-1] == "manifest.json" and "hal_sim.mpy" not in names
    assert (report.slot, report.previous, report.version) == ("a", None, "0.2.0")
    assert report.before.pointer is None and report.before.running is None
    slot = device.flash / "fw" / "a"
    for artifact in image.files:
        assert (slot / artifact.name).read_bytes() == artifact.data
        assert seen[artifact.name] == (len(artifact.data), len(artifact.data))
    for artifact in image.loader:
        assert (device.flash / artifact.name).read_bytes() == artifact.data
    assert sorted(report.loader_written) == ["boot.py", "main.py", "slots.mpy"]
    assert report.verified == [f"/fw/a/{n}" for n in names] + [f"/{a.name}" for a in image.loader]
    assert active(device.flash) == "a" and chosen(device.flash) == ("a", "0.2.0", None)
    assert json.loads((slot / "seatwatch.json").read_text())["seat"] == "A12"
    assert json.loads((slot / "manifest.json").read_text())["version"] == "0.2.0"
    assert device.resets == 1 and device.mode == "monitor" and device.pastes > 50
    # the manifest is the last file into the slot, the pointer is renamed into place last
    opened = [code for code in device.executed if code.startswith("f=open(")]
    assert opened[len(names) - 1].startswith("f=open('/fw/a/manifest.json'")
    commit = next(i for i, code in enumerate(device.executed) if "/fw/active.new" in code)
    assert all("f=open(" not in code for code in device.executed[commit:])


def test_the_flashed_image_boots_on_micropython(flashed):
    device, _, _ = flashed
    code = ("import slots\nc = slots.activate('/input')\n"
            "import config, protocol, app\n"
            "print(c.slot, c.version, c.previous, c.problem)\n"
            "print(config.load(slots.join(c.directory, config.PATH)).seat, app.VERSION)\n"
            "print(protocol.encode_frame(protocol.T_CONTROL, 3, 99, protocol.pack_control(1, 1, 90)).hex())\n"
            "print(app.__file__ if hasattr(app, '__file__') else '-')\n")
    result = run_micropython(code, directory=device.flash)
    out = result.stdout.split()
    assert out[:4] == ["a", "0.2.0", "None", "None"], result
    assert out[4:6] == ["A12", "0.2.0"]
    assert out[6] == P.encode_frame(P.T_CONTROL, 3, 99, P.pack_control(1, 1, 90)).hex()
    assert out[7] in ("/input/fw/a/app.mpy", "-")
    assert sorted(p.name for p in device.flash.rglob("*.py")) == ["boot.py", "main.py"]
    assert all(not (device.flash / "fw" / "a" / name).exists() for name in ("protocol.py", "app.py"))


def test_next_flash_goes_to_slot_b_and_keeps_a_for_rollback(tmp_path, flashed, image, image_next, capsys):
    dev = board(tmp_path, flashed)
    try:
        report = flash(dev.port, image_next, reset=False)
        assert (report.slot, report.previous, report.version) == ("b", "0.2.0", "0.3.0")
        assert report.before.running == "a" and report.loader_written == []     # loader unchanged
        assert active(dev.flash) == "b" and chosen(dev.flash) == ("b", "0.3.0", "0.2.0")
        for artifact in image.files:                                            # a untouched
            assert (dev.flash / "fw" / "a" / artifact.name).read_bytes() == artifact.data
        # the newest slot goes bad on the board: the loader runs the previous version
        data = bytearray((dev.flash / "fw/b/protocol.mpy").read_bytes())
        data[200] ^= 0x40
        (dev.flash / "fw/b/protocol.mpy").write_bytes(bytes(data))
        assert chosen(dev.flash) == ("a", "0.2.0", None)
        assert slots.select(str(dev.flash)).problem == "slot b: protocol.mpy: SHA-256 differs from the manifest"
        # and the next flash reuses the bad slot, still keeping the one that runs
        report = flash(dev.port, image_next)
        assert (report.slot, report.previous) == ("b", "0.2.0") and report.before.running == "a"
        assert chosen(dev.flash) == ("b", "0.3.0", "0.2.0")
        # the device now boots the new version and says so
        assert rebooted(dev)
        assert seatwatch(["firmware", "info", "--port", dev.port]) == 0
        out = capsys.readouterr().out
        assert "firmware 0.3.0" in out and "running b; previous 0.2.0 kept for rollback" in out
    finally:
        dev.stop()


def test_an_interrupted_copy_leaves_the_previous_version_active(tmp_path, flashed, image_next):
    half = sum(len(a.data) for a in image_next.files) // 2
    dev = board(tmp_path, flashed, hangup_after=half)
    try:
        with pytest.raises(DeviceError) as failed:
            flash(dev.port, image_next)
    finally:
        dev.stop()
    assert dev.mode == "unplugged" and dev.cut_file and dev.cut_file.startswith("fw/b/")
    message = str(failed.value)
    assert f"writing /{dev.cut_file}" in message
    assert "/fw/active not switched: the device keeps 0.2.0 from slot a" in message
    # the cut file is partial, the manifest never arrived, the pointer never moved
    cut = dev.flash / dev.cut_file
    full = next(a for a in image_next.files if a.name == cut.name)
    assert cut.stat().st_size < len(full.data)
    assert not (dev.flash / "fw/b/manifest.json").exists()
    assert active(dev.flash) == "a" and chosen(dev.flash) == ("a", "0.2.0", None)
    # plugged back in, the same flash goes through
    again = RawReplDevice(dev.flash, monitor=False).start()
    try:
        report = flash(again.port, image_next)
    finally:
        again.stop()
    assert (report.slot, report.previous) == ("b", "0.2.0")
    assert chosen(dev.flash) == ("b", "0.3.0", "0.2.0")


def tamper_after_copy(flash_dir: Path, path: str, change):
    """A progress callback that changes `path` on the device once manifest.json is in."""
    def progress(name: str, done: int, total: int) -> None:
        if name == "manifest.json" and done == total and (flash_dir / path).exists():
            change(flash_dir / path)
    return progress


def flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_file_changed_after_the_copy_is_caught_before_the_switch(tmp_path, flashed, image_next):
    dev = board(tmp_path, flashed)
    try:
        with pytest.raises(DeviceError, match=r"^/fw/b/protocol.mpy: SHA-256 on the device differs "
                                              r"from the image .*keeps 0.2.0 from slot a$"):
            flash(dev.port, image_next, progress=tamper_after_copy(dev.flash, "fw/b/protocol.mpy", flip))
    finally:
        dev.stop()
    assert dev.resets == 0 and active(dev.flash) == "a" and chosen(dev.flash) == ("a", "0.2.0", None)


def test_a_manifest_that_does_not_match_the_image_is_refused(tmp_path, flashed, image_next):
    def bump(path: Path) -> None:
        body = json.loads(path.read_text())
        body["version"] = "9.9.9"
        path.write_text(json.dumps(body, separators=(",", ":"), sort_keys=True))
    dev = board(tmp_path, flashed)
    try:
        with pytest.raises(DeviceError, match=r"^/fw/b/manifest.json: manifest differs from the image's"):
            flash(dev.port, image_next, progress=tamper_after_copy(dev.flash, "fw/b/manifest.json", bump))
    finally:
        dev.stop()
    # the refused slot's manifest is withdrawn, so the loader never falls back to it
    assert not (dev.flash / "fw/b/manifest.json").exists()
    assert active(dev.flash) == "a" and chosen(dev.flash) == ("a", "0.2.0", None)


def test_a_slot_the_loader_would_refuse_is_not_committed(tmp_path, flashed, image_next):
    # every file of the image matches, but a stray app.py (imported before app.mpy)
    # landed in the slot: the device-side check, the same code as at boot, refuses it
    dev = board(tmp_path, flashed)
    stray = tamper_after_copy(dev.flash, "fw/b/app.mpy",
                              lambda path: (path.parent / "app.py").write_text("VERSION = 'x'\n"))
    try:
        with pytest.raises(DeviceError, match=r"loader refuses the slot \(app.py: not in the manifest\)"):
            flash(dev.port, image_next, progress=stray)
    finally:
        dev.stop()
    assert active(dev.flash) == "a"


def test_a_corrupted_write_fails_verification_naming_the_file(tmp_path, image):
    (tmp_path / "flash").mkdir()
    # also the path for boards without raw-paste mode (mpremote's paced fallback)
    dev = RawReplDevice(tmp_path / "flash", monitor=False, corrupt="protocol.mpy", paste=False).start()
    try:
        with pytest.raises(DeviceError, match="^/fw/a/protocol.mpy: SHA-256 on the device differs.*"
                                              "keeps no slot yet"):
            flash(dev.port, image)
    finally:
        dev.stop()
    assert dev.resets == 0 and dev.pastes == 0 and not (dev.flash / "fw" / "active").exists()
    assert not (dev.flash / "boot.py").exists()          # the loader waits for a good slot


def test_a_device_flashed_before_slots_is_migrated(tmp_path, image):
    flash_dir = tmp_path / "flash"
    flash_dir.mkdir()
    for name in ("app.mpy", "protocol.mpy", "seatwatch.json", "boot.py", "main.py"):
        (flash_dir / name).write_bytes(b"old " + name.encode())
    dev = RawReplDevice(flash_dir, monitor=False).start()
    try:
        report = flash(dev.port, image, reset=False)
    finally:
        dev.stop()
    assert report.before.pointer is None and report.slot == "a"
    assert sorted(report.loader_written) == ["boot.py", "main.py", "slots.mpy"]
    assert sorted(p.name for p in flash_dir.iterdir()) == ["boot.py", "fw", "main.py", "slots.mpy"]
    assert (flash_dir / "main.py").read_bytes() == (FIRMWARE_DIR / "main.py").read_bytes()
    assert chosen(flash_dir) == ("a", "0.2.0", None)


def test_a_silent_port_is_reported(tmp_path):
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


def test_cli_flash_shows_progress_and_the_slot(tmp_path, flashed, capsys):
    dev = board(tmp_path, flashed)
    try:
        assert seatwatch(["firmware", "flash", "--port", dev.port, "--seat", "B7"]) == 0
    finally:
        dev.stop()
    out = capsys.readouterr().out
    assert "protocol.mpy" in out and "verified 17 files" in out
    assert "firmware 0.2.0 active in slot b, seat B7" in out and "previous 0.2.0 kept" in out
    assert json.loads((dev.flash / "fw/b/seatwatch.json").read_text())["seat"] == "B7"
    assert json.loads((dev.flash / "fw/a/seatwatch.json").read_text())["seat"] == "A12"


def test_cli_build_writes_a_flash_tree_the_loader_accepts(tmp_path, capsys):
    assert seatwatch(["firmware", "build", "--out", str(tmp_path / "img"), "--seat", "C3"]) == 0
    assert "fw/a/manifest.json" in capsys.readouterr().out
    assert chosen(tmp_path / "img") == ("a", "0.2.0", None)


def test_cli_info_reads_a_running_monitor(tmp_path, capsys):
    dev = PtyDevice(tmp_path, stereo_signal(3.0), speed=1.0).start()
    try:
        assert seatwatch(["firmware", "info", "--port", dev.port, "--json"]) == 0
    finally:
        dev.stop()
    info = json.loads(capsys.readouterr().out)
    assert info["serial"] == "SIM-0001" and info["firmware"] == "0.2.0" and info["seat"] == "S1"
    assert info["heartbeat"]["uptime_ms"] >= 1000
    assert (info["slot"], info["previous"], info["boot_problem"]) == ("", "", "")


def test_cli_info_says_when_the_device_fell_back(tmp_path, flashed, image_next, capsys):
    # 0.3.0 committed to b, then b damaged: the monitor runs a and its hello says why
    dev = board(tmp_path, flashed)
    try:
        flash(dev.port, image_next, reset=False)
        (dev.flash / "fw/b/led.mpy").unlink()
        dev.mode = "monitor"
        assert seatwatch(["firmware", "info", "--port", dev.port]) == 0
    finally:
        dev.stop()
    out = capsys.readouterr().out
    assert "firmware 0.2.0" in out and "slots    running a; no previous version to roll back to" in out
    assert "boot     FELL BACK: slot b: led.mpy: missing" in out


def test_cli_info_on_a_dead_port_fails_clearly(tmp_path, capsys):
    assert seatwatch(["firmware", "info", "--port", str(tmp_path / "none")]) == 1
    assert "no such port" in capsys.readouterr().err
