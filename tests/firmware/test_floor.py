"""Issue 15, a floor of forty: `seatwatch firmware list/map/flash --map/info --map/bootsel`,
`--json` errors, `flash` failing before any progress, `pins` not writing into the source
tree. Devices are the software boards of test_flash (raw REPL on a pty, driven by
mpremote) and the simulated monitor (tests/link), found through a by-id folder."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from seatwatch.cli import main as seatwatch
from seatwatch.edge.flashing import pinout, seatmap
from seatwatch.edge.sim.device import PtyDevice, stereo_signal
from tests.firmware.test_flash import board, flashed, image  # noqa: F401 (fixtures)


@pytest.fixture
def by_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "by-id"
    folder.mkdir()
    monkeypatch.setenv("SEATWATCH_BY_ID_DIR", str(folder))
    return folder


def plug(by_id: Path, serial: str, port: str) -> str:
    link = by_id / f"usb-MicroPython_Board_in_FS_mode_{serial}-if00"
    link.symlink_to(port)
    return str(link)


def test_list_finds_devices_with_their_serial_seat_and_firmware(tmp_path, by_id, capsys) -> None:
    devices = [PtyDevice(tmp_path, stereo_signal(4.0), speed=1.0, seat=seat, name=f"tty{seat}",
                         boot=boot).start() for boot, seat in ((1, "A01"), (2, "A02"))]
    try:
        for dev, serial in zip(devices, ("SIM-0001", "SIM-0002"), strict=True):
            plug(by_id, serial, dev.port)
        (by_id / "usb-Other_Thing_XYZ-if01").symlink_to(devices[0].port)    # not a data interface
        seatwatch(["firmware", "map", "--out", str(tmp_path / "seats.toml"), "A01=SIM-0001",
                   "A02=SIM-0002", "A03=SIM-0003"])
        capsys.readouterr()
        assert seatwatch(["firmware", "list", "--probe", "--map", str(tmp_path / "seats.toml"),
                          "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert seatwatch(["firmware", "list", "--map", str(tmp_path / "seats.toml")]) == 0
        table = capsys.readouterr().out
    finally:
        for dev in devices:
            dev.stop()
    assert [(d["serial"], d["seat"], d["device_seat"], d["firmware"]) for d in listed["devices"]] == [
        ("SIM-0001", "A01", "A01", "0.2.0"), ("SIM-0002", "A02", "A02", "0.2.0")]
    assert listed["missing"] == [{"seat": "A03", "serial": "SIM-0003"}]
    assert "seat A03: device SIM-0003 not attached" in table and "SIM-0002  A02" in table


def test_flash_a_floor_from_the_seat_map(tmp_path, by_id, flashed, capsys) -> None:  # noqa: F811
    boards = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        boards.append(board(tmp_path / name, flashed))
    try:
        plug(by_id, "E661A", boards[0].port)
        plug(by_id, "E661B", boards[1].port)
        (tmp_path / "seats.toml").write_text(seatmap.render(
            {"A01": "E661A", "A02": "E661B", "A03": "E661C"}))
        code = seatwatch(["firmware", "flash", "--map", str(tmp_path / "seats.toml"), "--no-reset"])
    finally:
        for dev in boards:
            dev.stop()
    out = capsys.readouterr().out
    assert code == 1                                     # one seat's device is not attached
    assert "[1/3] seat A01, device E661A" in out and "[2/3] seat A02, device E661B" in out
    assert "#" in out                                    # the per-file progress bars
    rows = [line.split() for line in out.splitlines() if line.startswith("A0")]
    assert rows == [["A01", "E661A", "0.2.0", "b", "ok"], ["A02", "E661B", "0.2.0", "b", "ok"],
                    ["A03", "E661C", "-", "-", "not", "attached"]]
    assert "2 of 3 seat(s) flashed" in out
    for dev, seat in zip(boards, ("A01", "A02"), strict=True):
        assert json.loads((dev.flash / "fw/b/seatwatch.json").read_text())["seat"] == seat


def test_flash_fails_before_any_progress_on_a_missing_port(tmp_path, capsys) -> None:
    assert seatwatch(["firmware", "flash", "--port", str(tmp_path / "ttyACM9"), "--seat", "A01"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "no such port" in err and "firmware list" in err


@pytest.mark.parametrize("argv", [
    ["firmware", "info", "--port", "/nonexistent/ttyACM9", "--json"],
    ["firmware", "flash", "--port", "/nonexistent/ttyACM9", "--seat", "A01", "--json"],
    ["firmware", "flash", "--port", "/nonexistent/ttyACM9", "--seat", "A_01", "--json"],
    ["firmware", "info", "--map", "/nonexistent/seats.toml", "--json"],
    ["firmware", "list", "--map", "/nonexistent/seats.toml", "--json"],
    ["firmware", "map", "--out", "/nonexistent/seats.toml", "A_1=SN", "--json"],
])
def test_json_errors_are_json(argv, capsys) -> None:
    assert seatwatch(argv) == 1
    out, err = capsys.readouterr()
    answer = json.loads(out)
    assert answer["ok"] is False and answer["error"] and err == ""


def test_seat_maps_refuse_what_would_break_a_floor(tmp_path) -> None:
    with pytest.raises(seatmap.SeatMapError, match="already seat A01"):
        seatmap.parse('[seat]\nA01 = "SN1"\nA02 = "SN1"\n')
    with pytest.raises(seatmap.SeatMapError, match="not a valid id"):
        seatmap.parse('[seat]\nA_01 = "SN1"\n')
    with pytest.raises(seatmap.SeatMapError, match="not a device serial"):
        seatmap.parse('[seat]\nA01 = "SN 1"\n')
    assert seatmap.parse(seatmap.render({"A01": "SN1"})).seats == {"A01": "SN1"}


def test_pins_prints_and_never_writes_into_the_source_tree(tmp_path, capsys) -> None:
    before = pinout.PINS_PY.stat().st_mtime_ns
    assert seatwatch(["firmware", "pins"]) == 0
    assert capsys.readouterr().out == pinout.PINS_PY.read_text()
    assert seatwatch(["firmware", "pins", "--check"]) == 0
    assert seatwatch(["firmware", "pins", "--out", str(tmp_path / "pins.py")]) == 0
    assert (tmp_path / "pins.py").read_text() == pinout.PINS_PY.read_text()
    assert pinout.PINS_PY.stat().st_mtime_ns == before


def test_help_names_only_commands_that_exist(capsys) -> None:
    with pytest.raises(SystemExit):
        seatwatch(["firmware", "--help"])
    text = capsys.readouterr().out
    assert "provision" not in text and "bootsel" in text and "list" in text


def uf2(blocks: int, family: int = 0xE48BFF56) -> bytes:
    out = b""
    for n in range(blocks):
        header = struct.pack("<8I", 0x0A324655, 0x9E5D5157, 0x2000, 0x10000000 + 256 * n, 256,
                             n, blocks, family)
        out += header + bytes(476) + struct.pack("<I", 0x0AB16F30)
    return out


def test_bootsel_copies_micropython_onto_a_blank_rp2040(tmp_path, capsys) -> None:
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\n"
                                        "Board-ID: RPI-RP2\n")
    (tmp_path / "mp.uf2").write_bytes(uf2(4))
    assert seatwatch(["firmware", "bootsel", "--uf2", str(tmp_path / "mp.uf2"), "--drive",
                      str(drive)]) == 0
    assert (drive / "mp.uf2").read_bytes() == uf2(4) and "4 blocks" in capsys.readouterr().out
    (tmp_path / "esp.uf2").write_bytes(uf2(2, family=0x1C5F21B0))
    assert seatwatch(["firmware", "bootsel", "--uf2", str(tmp_path / "esp.uf2"), "--drive",
                      str(drive), "--json"]) == 1
    assert "another chip" in json.loads(capsys.readouterr().out)["error"]
    assert seatwatch(["firmware", "bootsel", "--uf2", str(tmp_path / "mp.uf2"), "--drive",
                      str(tmp_path)]) == 1
    assert "hold BOOTSEL" in capsys.readouterr().err


def test_the_edge_config_serves_the_seat_map(tmp_path, by_id) -> None:
    from seatwatch.edge.config import load_config
    from seatwatch.edge.daemon import SeatRunner  # noqa: F401 (the daemon resolves usb:SERIAL)
    (tmp_path / "seats.toml").write_text(seatmap.render({"A01": "SN1", "A02": "SN2"}))
    (tmp_path / "edge.toml").write_text('site = "hq"\nbroker = "mqtt://127.0.0.1"\n'
                                        'seat_map = "seats.toml"\n')
    config = load_config(tmp_path / "edge.toml")
    assert [(s.id, s.source) for s in config.seats] == [("A01", "usb:SN1"), ("A02", "usb:SN2")]
    (tmp_path / "edge.toml").write_text('site = "hq"\nbroker = "mqtt://127.0.0.1"\n'
                                        'seat_map = "seats.toml"\n[[seat]]\nid = "A02"\n'
                                        'agent = "lin"\n')
    config = load_config(tmp_path / "edge.toml")
    assert [(s.id, s.source, s.agent) for s in config.seats] == [("A02", "usb:SN2", "lin")]
    (tmp_path / "dev").touch()
    plug(by_id, "SN2", str(tmp_path / "dev"))
    assert seatmap.port_of("SN2") == str(by_id / "usb-MicroPython_Board_in_FS_mode_SN2-if00")
    assert seatmap.port_of("SN1") is None


