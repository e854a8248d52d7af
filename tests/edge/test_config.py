"""The shipped example config loads (with its secrets in place); mistakes name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import ConfigError, load_config

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
