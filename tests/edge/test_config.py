"""The shipped example config loads (with its secrets in place); mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from seatwatch.edge.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_describes_two_serial_seats(tmp_path: Path) -> None:
    (tmp_path / "broker.pass").write_text("s3cret\n")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    text = (ROOT / "deploy" / "edge.example.toml").read_text().replace("/etc/seatwatch", str(tmp_path))
    (tmp_path / "edge.toml").write_text(text)
    config = load_config(tmp_path / "edge.toml")
    assert [seat.id for seat in config.seats] == ["A01", "A02"]
    assert all(seat.source.startswith("serial:") for seat in config.seats)
    assert config.site == "hq" and config.state_dir == Path("/var/lib/seatwatch")


@pytest.mark.parametrize("edit, key", [
    ('site = "hq"', "site"), ("metrics_interval_s = 5.0", "metrics_interval_s"),
    ('id = "A01"', "id"), ("[[seat]]", r"line \d+")])
def test_a_broken_config_names_the_key(tmp_path: Path, edit: str, key: str) -> None:
    (tmp_path / "broker.pass").write_text("s3cret\n")
    (tmp_path / "ca.crt").write_text("x")
    text = (ROOT / "deploy" / "edge.example.toml").read_text().replace("/etc/seatwatch", str(tmp_path))
    broken = {'site = "hq"': 'site = "_bad site"', "metrics_interval_s = 5.0": "metrics_interval_s = -1",
              'id = "A01"': 'id = "A02"', "[[seat]]": "[seat]"}[edit]
    (tmp_path / "edge.toml").write_text(text.replace(edit, broken, 1))
    with pytest.raises(ConfigError, match=key):
        load_config(tmp_path / "edge.toml")


@pytest.mark.parametrize("text, message", [
    ('broker = "mqtt://h"\n[[seat]]\nid = "A1"\nsource = "wav:x"',
     'site: missing (the site id, e.g. site = "hq")'),
    ('site = "hq"\n[[seat]]\nid = "A1"\nsource = "wav:x"', "broker: missing (e.g. broker = "),
    ('site = "hq"\nbroker = "not a url"\n[[seat]]\nid = "A1"\nsource = "wav:x"',
     "broker: broker URL 'not a url': contains spaces"),
    ('site = "hq"\nbroker = "mqtt://h"\nseats = 1', "seats: unknown key (did you mean seat?)"),
    ('site = "hq"\nbroker = "mqtt://h"\n[seat]\nid = "A1"', "write [[seat]] (one table per seat)"),
    ('site = "hq"\nbroker = "mqtt://h"\n[[seat]]\nid = "A1"\nsource = "serial:"',
     "seat[0].source: 'serial:' names no port"),
    ('site = "hq"\nbroker = "mqtt://h"\n[[seat]]\nid = "A1"\nsorce = "wav:x"',
     "seat[0].sorce: unknown key (did you mean source?)"),
    ('site = "hq"\nbroker = "mqtt://h"\n[[seat]]\nid = "A_1"\nsource = "wav:x"',
     "seat[0].id: seat id 'A_1' is not a valid id (1 to 64 characters"),
])
def test_config_errors_say_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "edge.toml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "edge.toml")
    assert message in str(caught.value) and str(caught.value).startswith(str(tmp_path))
