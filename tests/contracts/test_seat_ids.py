"""Issue 15: one seat id rule (the event contract's, seatwatch/contracts/events.py valid_ident and
docs/events.md), applied alike by the firmware build and flash, the device's own config,
the edge config and `edge run`, `analyze --seat` and the console, each before any work
starts and each naming the rule when it refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seatwatch.cli import main as seatwatch
from seatwatch.console.config import ConfigError as ConsoleConfigError
from seatwatch.console.config import load as load_console_config
from seatwatch.contracts.events import IDENT_RULE, valid_ident
from seatwatch.edge.config import ConfigError, parse_config
from seatwatch.edge.flashing.build import BuildError, check_seat
from seatwatch.edge.link.framing import load

fw_config = load("config")
ROOT = Path(__file__).resolve().parents[2]

GOOD = ["A01", "a", "B-2.3", "9" * 64, "floor2.A-17"]
BAD = ["A_01", "_A01", "-A1", ".A1", "", "A" * 65, "A 1", "A/1", "A+1", "A#1", "Ä1", "A01\n",
       "_consoles"]


def test_the_docs_state_the_rule_the_code_applies() -> None:
    events_md = (ROOT / "docs" / "events.md").read_text()
    assert "`[A-Za-z0-9][A-Za-z0-9.-]{0,63}`" in events_md
    assert all(valid_ident(s) for s in GOOD) and not any(valid_ident(s) for s in BAD)
    # the device keeps its own copy of the words (MicroPython has no seatwatch.contracts.events)
    assert fw_config.SEAT_RULE == IDENT_RULE


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=70)
       | st.from_regex(r"[A-Za-z0-9_.\- ]{0,66}", fullmatch=True))
def test_the_device_applies_the_contract_rule(seat: str) -> None:
    assert fw_config.valid_seat(seat) == valid_ident(seat)


@pytest.mark.parametrize("seat", GOOD + BAD)
def test_every_tool_agrees(seat: str, tmp_path: Path) -> None:
    ok = valid_ident(seat)
    # firmware build / flash
    if ok:
        assert check_seat(seat) == seat
    else:
        with pytest.raises(BuildError, match=re.escape(IDENT_RULE)):
            check_seat(seat)
    # the device's config on flash
    cfg = fw_config.parse(json.dumps({"seat": seat}))
    assert (cfg.seat == seat) == ok and (cfg.problem is None) == ok
    # the edge config
    toml = (f'site = "hq"\nbroker = "mqtt://localhost"\n[[seat]]\nid = {json.dumps(seat)}\n'
            'source = "wav:x.wav"\n')
    if ok:
        assert parse_config(toml).seats[0].id == seat
    else:
        with pytest.raises(ConfigError, match=re.escape(IDENT_RULE)):
            parse_config(toml)
    # the console's roster
    console = tmp_path / "console.toml"
    console.write_text(toml_key_table(seat))
    if ok:
        assert seat in load_console_config(console).roster
    else:
        with pytest.raises(ConsoleConfigError, match=re.escape(IDENT_RULE)):
            load_console_config(console)


def toml_key_table(seat: str) -> str:
    return f'[roster.{json.dumps(seat)}]\nagent = "x"\n'


@pytest.mark.parametrize("argv", [
    ["analyze", "/nonexistent/call.wav", "--seat", "A_01"],
    ["edge", "run", "--source", "wav:/nonexistent/call.wav", "--seat", "A_01"],
    ["firmware", "build", "--out", "{tmp}/img", "--seat", "A_01"],
    ["firmware", "flash", "--port", "/nonexistent/ttyACM9", "--seat", "A_01"],
    ["console", "--site", "A_01", "--broker", "mqtt://127.0.0.1:9"],
])
def test_commands_refuse_a_bad_id_before_any_work(argv: list[str], tmp_path: Path, capsys) -> None:
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    assert seatwatch(argv) != 0
    out, err = capsys.readouterr()
    assert out == ""                                          # nothing started, no progress
    assert "'A_01' is not a valid id" in err and IDENT_RULE in err, err
    assert "nonexistent" not in err                           # the id is checked first
    assert not (tmp_path / "img").exists()
