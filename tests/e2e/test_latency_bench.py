"""bench_latency's smallest run: one seat, one call, through a device on a pty, the edge
daemon, mosquitto and the console's Ingest. Both triggers reach the console, each with a
latency that adds up (audio -> edge event -> console) and stays within what the rules
allow (the spotter fires within 1.2 s of a word's end; the volume rule at its 2 s)."""

from __future__ import annotations

from bench.bench_latency import KEYWORD, LEVEL, finite, measure


def test_one_call_reaches_the_console_with_finite_latency() -> None:
    result = measure(seats=1, calls=1, words=1)
    assert finite(result), result
    assert result["unmatched_events"] == 0
    for kind, bound_ms in ((LEVEL, 1000.0), (KEYWORD, 2000.0)):
        r = result[kind]
        e2e, algo = r["end_to_end"]["max_ms"], r["of_which_algorithmic"]["max_ms"]
        to_edge, onward = r["audio_to_edge_event"]["max_ms"], r["edge_to_console"]["max_ms"]
        assert 0 <= algo <= to_edge + 1 <= e2e + 2, r        # ts has 1 ms resolution
        assert onward >= 0 and abs(to_edge + onward - e2e) <= 1.5, r
        assert e2e < bound_ms, r
