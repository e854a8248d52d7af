"""The console's configuration file and how flags override it."""

from __future__ import annotations

from pathlib import Path

import pytest

from seatwatch import cli
from seatwatch.console import config
from seatwatch.console.cli import DEFAULT_BROKER, settings
from tests.console.test_reports import shift

GOOD = """
broker = "mqtt://broker.example:1884"
site = "hq"
user = "lin"
read_only = true
db = "{db}"
stale_after_s = 12

[roster.A01]
agent = "王芳"
team = "pension"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "console.toml"
    path.write_text(text, encoding="utf-8")
    return path


def args(*argv: str) -> object:
    full = ["console", *argv]
    return cli.build_parser(full).parse_args(full)


def test_file_then_flags_over_it(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.format(db=tmp_path / "h.db"))
    loaded = config.load(path)
    assert loaded.roster == {"A01": {"agent": "王芳", "team": "pension"}} and loaded.stale_after_s == 12
    chosen = settings(args("--config", str(path)))
    assert (chosen.broker, chosen.site, chosen.user, chosen.read_only, chosen.stale_after_s) == (
        "mqtt://broker.example:1884", "hq", "lin", True, 12.0)
    chosen = settings(args("--config", str(path), "--user", "zhou", "--stale-after", "5",
                           "--broker", "mqtt://other:1883"))
    assert (chosen.user, chosen.stale_after_s, chosen.broker) == ("zhou", 5.0, "mqtt://other:1883")
    plain = settings(args())
    assert plain.broker == DEFAULT_BROKER and plain.site == "+" and plain.roster == {}


@pytest.mark.parametrize(("text", "message"), [
    ("brokr = 'x'", "unknown key 'brokr'"),
    ("read_only = 'yes'", "read_only: expected bool"),
    ("stale_after_s = true", "stale_after_s: expected int or float"),
    ("stale_after_s = -1", "must be positive"),
    ("site = 'a/b'", "site: site id 'a/b' is not a valid id \\(1 to 64 characters"),
    ("[roster._x]\nagent = 'a'", "roster: seat id '_x' is not a valid id \\(1 to 64 characters"),
    ("[roster.A01]\nname = 'a'", "roster.A01: expected agent"),
    ("broker = ", "not TOML"),
])
def test_bad_files_name_key_and_reason(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(config.ConfigError, match=message):
        config.load(write(tmp_path, text))


def test_cli_refuses_a_bad_config_and_report_reads_its_db(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["console", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["console", "--config", str(write(tmp_path, "x = 1"))]) == 2
    assert "unknown key 'x'" in capsys.readouterr().err
    shift(tmp_path / "h.db")
    path = write(tmp_path, GOOD.format(db=tmp_path / "h.db"))
    assert cli.main(["console", "--config", str(path), "report", "--since", "2000-01-01",
                     "--csv", "-"]) == 0
    assert "王芳" in capsys.readouterr().out


@pytest.mark.parametrize(("url", "reason"), [
    ("not a url", "contains spaces"),
    ("", "is empty"),
    ("http://broker", "scheme must be mqtt:// or mqtts://"),
    ("mqtt://", "no host"),
    ("mqtt://broker..example", "is not a host name or IP address"),
    ("mqtt://broker/seatwatch", "no path, query or fragment"),
    ("mqtt://broker:70000", "bad port, 1-65535"),
    ("mqtt://[::1", "Invalid IPv6 URL"),
])
def test_a_broker_that_is_not_a_url_is_refused_with_the_reason(url: str, reason: str,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15: `console --broker "not a url"` sat on "connecting" with no reason."""
    assert cli.main(["console", "--broker", url]) == 2
    err = capsys.readouterr().err
    assert reason in err and "expected mqtt[s]://" in err or reason.startswith("scheme"), err


def test_broker_urls_a_user_would_type_are_taken() -> None:
    from seatwatch.contracts.session import BrokerUrl
    assert str(BrokerUrl.parse("broker.local")) == "mqtt://broker.local:1883"
    assert str(BrokerUrl.parse("mqtts://edge-1@10.0.0.5:8883/")) == "mqtts://edge-1@10.0.0.5:8883"
    assert BrokerUrl.parse("mqtt://[::1]:1884").port == 1884
