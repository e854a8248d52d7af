"""`seatwatch provision`: ACL text (pure) and the command's files (real mosquitto_passwd)."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from seatwatch.cli import main
from seatwatch.edge.security import acl
from seatwatch.edge.security.ca import CaError, subject_alt_names

ROOT = Path(__file__).resolve().parents[2]


def test_device_block_grants_exactly_its_seats() -> None:
    block = acl.device_block("edge-1", "hq", ["A01", "A02", "A01"])
    assert block.lines == (
        "topic write seatwatch/v1/hq/A01/events", "topic write seatwatch/v1/hq/A01/status",
        "topic write seatwatch/v1/hq/A01/metrics", "topic read seatwatch/v1/hq/A01/cmd",
        "topic write seatwatch/v1/hq/A02/events", "topic write seatwatch/v1/hq/A02/status",
        "topic write seatwatch/v1/hq/A02/metrics", "topic read seatwatch/v1/hq/A02/cmd")
    assert not any("#" in line or "+" in line for line in block.lines)


@pytest.mark.parametrize("user,site,seats,bad", [
    ("edge 1", "hq", ["A01"], "user"), ("edge-1", "h/q", ["A01"], "site"),
    ("edge-1", "hq", ["_consoles"], "seat"), ("edge-1", "hq", ["+"], "seat"),
    ("edge-1", "hq", ["#"], "seat"), ("", "hq", ["A01"], "user"), ("edge-1", "hq", [], "seat")])
def test_bad_names_are_refused(user: str, site: str, seats: list[str], bad: str) -> None:
    with pytest.raises(acl.AclError, match=bad):
        acl.device_block(user, site, seats)


def test_console_block_reads_all_writes_acks_and_cmd() -> None:
    assert acl.console_block("c1").lines == ("topic read seatwatch/v1/#",
                                             "topic write seatwatch/v1/+/_consoles/acks",
                                             "topic write seatwatch/v1/+/+/cmd")
    assert acl.console_block("c1", ["hq"]).lines[0] == "topic read seatwatch/v1/hq/#"


def test_merge_replaces_only_that_users_block() -> None:
    text = acl.merge("", acl.device_block("e1", "hq", ["A01"]))
    text = acl.merge(text, acl.console_block("c1"))
    text = acl.merge(text, acl.device_block("e1", "hq", ["A09"]))
    head, blocks = acl.parse_blocks(text)
    assert [b.user for b in blocks] == ["c1", "e1"]
    assert "A01" not in text and "seatwatch/v1/hq/A09/events" in text
    assert text.startswith(acl.HEADER)


def test_merge_refuses_rules_outside_a_user_block() -> None:
    with pytest.raises(acl.AclError, match="outside a user block"):
        acl.merge("topic readwrite #\n", acl.console_block("c1"))
    with pytest.raises(acl.AclError, match="line 2"):
        acl.merge("# hi\npattern write %u/#\n", acl.console_block("c1"))


def test_shipped_example_is_what_the_code_generates() -> None:
    text = ""
    for block in (acl.device_block("edge-pi-floor2", "hq", ["A01", "A02"]),
                  acl.device_block("edge-pi-floor3", "hq", ["B01"]),
                  acl.console_block("console-floor2"), acl.console_block("console-hq-only", ["hq"])):
        text = acl.merge(text, block)
    assert (ROOT / "deploy" / "mosquitto" / "acl.example").read_text() == text


def test_subject_alt_names() -> None:
    assert subject_alt_names(["localhost", "127.0.0.1", "::1", "localhost"]) == \
        "DNS:localhost,IP:127.0.0.1,IP:::1"
    with pytest.raises(CaError):
        subject_alt_names(["bad,host"])
    with pytest.raises(CaError):
        subject_alt_names([])


def provision(tmp_path: Path, *args: str) -> int:
    return main(["provision", *args, "--passwd-file", str(tmp_path / "passwd"),
                 "--acl-file", str(tmp_path / "acl")])


def test_cli_device_console_and_rotation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "out" / "edge-1.pass"
    assert provision(tmp_path, "device", "--site", "hq", "--seat", "A01", "--seat", "A02",
                     "--user", "edge-1", "--secret-out", str(secret)) == 0
    assert str(secret) in capsys.readouterr().out
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    first = secret.read_text().strip()
    assert len(first) >= 32
    lines = (tmp_path / "passwd").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edge-1:$7$") and first not in lines[0]
    assert stat.S_IMODE((tmp_path / "passwd").stat().st_mode) == 0o600
    assert provision(tmp_path, "console", "--user", "sup-1",
                     "--secret-out", str(tmp_path / "sup-1.pass")) == 0
    assert provision(tmp_path, "device", "--site", "hq", "--seat", "A03", "--user", "edge-1",
                     "--secret-out", str(secret)) == 0
    assert secret.read_text().strip() != first          # re-provisioning rotates
    users = [line.split(":")[0] for line in (tmp_path / "passwd").read_text().splitlines()]
    assert sorted(users) == ["edge-1", "sup-1"]
    text = (tmp_path / "acl").read_text()
    assert list(acl.users(text)) == ["sup-1", "edge-1"] and "A01" not in text and "A03" in text


def test_cli_bad_seat_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert provision(tmp_path, "device", "--site", "hq", "--seat", "A01", "--user", "edge-1",
                     "--secret-out", str(tmp_path / "e.pass")) == 0
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert provision(tmp_path, "device", "--site", "hq", "--seat", "_consoles", "--user", "edge-1",
                     "--secret-out", str(tmp_path / "e.pass")) == 2
    assert "seat '_consoles' is not a valid identifier" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_cli_ca_then_renewal_keeps_the_ca(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki = tmp_path / "pki"
    assert main(["provision", "ca", "--out", str(pki), "--host", "broker.example"]) == 0
    assert "(new;" in capsys.readouterr().out
    for name in ("ca.crt", "server.crt"):
        assert (pki / name).read_text().startswith("-----BEGIN CERTIFICATE-----")
    for name in ("ca.key", "server.key"):
        assert stat.S_IMODE((pki / name).stat().st_mode) == 0o600
    ca_before, server_before = (pki / "ca.crt").read_bytes(), (pki / "server.crt").read_bytes()
    assert main(["provision", "ca", "--out", str(pki), "--host", "broker.example",
                 "--host", "10.0.0.5"]) == 0
    assert "existing, kept" in capsys.readouterr().out
    assert (pki / "ca.crt").read_bytes() == ca_before
    assert (pki / "server.crt").read_bytes() != server_before
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(pki / "ca.crt"),
                             str(pki / "server.crt")], capture_output=True, text=True, check=False)
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(pki / "server.crt"), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert "DNS:broker.example" in text and "IP Address:10.0.0.5" in text
