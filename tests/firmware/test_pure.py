"""The pure firmware modules on CPython and on real MicroPython, same checks, same vectors,
and the same bytes out of the firmware's main loop on both."""

from __future__ import annotations

import pytest

from seatwatch.edge.link.framing import protocol as P
from tests.firmware.runner import parse, run_cpython, run_micropython

CHECKS = ["crc", "cobs", "cobs_roundtrip", "frames", "frame_errors", "debounce", "led", "meter",
          "config", "app"]
RUN = "import fw_checks\nfw_checks.main()\n"


@pytest.fixture(scope="module")
def cpython():
    return parse(run_cpython(RUN))


@pytest.fixture(scope="module")
def micropython():
    result = run_micropython(RUN)
    assert "micropython" in run_micropython("import sys\nprint(sys.implementation.name)").stdout
    return parse(result.stdout)


@pytest.mark.parametrize("check", CHECKS)
def test_check_passes_on_cpython(cpython, check):
    results, _ = cpython
    assert results.get(check) == "ok", results.get(check, "did not run")


@pytest.mark.parametrize("check", CHECKS)
def test_check_passes_on_micropython(micropython, check):
    results, _ = micropython
    assert results.get(check) == "ok", results.get(check, "did not run")


def test_same_bytes_on_both_interpreters(cpython, micropython):
    _, cp_out = cpython
    _, mp_out = micropython
    assert cp_out["frame"] and cp_out["frame"] == mp_out["frame"]
    cp_packets, mp_packets = packets(cp_out["app"][0]), packets(mp_out["app"][0])
    assert len(cp_packets) > 30 and cp_packets == mp_packets
    # the free heap is the one field that differs: CPython has none, MicroPython its own
    assert {beat["mem_free"] for beat in heartbeats(cp_packets)} == {0}
    assert all(100_000 < beat["mem_free"] < 2**20 for beat in heartbeats(mp_out_beats(mp_out)))


def mp_out_beats(mp_out):
    return packets(mp_out["app"][0], keep_heap=True)


def packets(hex_stream: str, keep_heap: bool = False) -> list[tuple]:
    out = []
    for raw in P.Deframer().feed(bytes.fromhex(hex_stream)):
        version, ptype, seq, ts, payload = P.decode_frame(raw)
        if ptype == P.T_HEARTBEAT and not keep_heap:
            beat = P.unpack_heartbeat(payload)
            beat["mem_free"] = 0
            payload = tuple(sorted(beat.items()))
        out.append((version, ptype, seq, ts, payload))
    return out


def heartbeats(packet_list: list[tuple]) -> list[dict]:
    return [P.unpack_heartbeat(p[4]) if isinstance(p[4], bytes) else dict(p[4])
            for p in packet_list if p[1] == P.T_HEARTBEAT]


def test_micropython_reports_a_failing_check():
    # the harness must be able to fail: break a vector inside the guest
    code = "import vectors\nvectors.CRC[0] = (b'', 0x1234)\nimport fw_checks\nfw_checks.main(['crc'])\n"
    results, _ = parse(run_micropython(code).stdout)
    assert results["crc"].startswith("AssertionError")
