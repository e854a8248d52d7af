"""The chaos suite, short sizes (make test). `make chaos` runs the full sizes with a table.

Every fault runs against real parts: mosquitto killed with SIGKILL, the edge daemon killed
with SIGKILL, the firmware's main loop on a real pty, SQLite at its size limit. Timing is
reported, never asserted: the machine may be busy.
"""

from __future__ import annotations

from pathlib import Path

from tests.chaos import broker_restarts, clock, daemon_restarts, edge_kill, outbox_full, serial
from tests.chaos.run import table


def test_broker_killed_and_restarted_three_times_mid_stream_loses_nothing(tmp_path: Path) -> None:
    r = broker_restarts.run(tmp_path, restarts=3, seats=3, how="kill")
    assert r.expected > 100, "the seats produced too little to mean anything"
    assert r.lost == 0 and r.delivered == r.expected, table([r])
    assert r.detail["unexpected_ids"] == 0
    assert r.detail["in_order_per_seat"], "first arrivals out of production order"
    assert r.detail["recovery_timeouts"] == 0
    assert r.detail["reconnects"] >= 3 * 3     # every seat noticed every kill


def test_broker_killed_under_the_real_daemon_loses_nothing(tmp_path: Path) -> None:
    r = daemon_restarts.run(tmp_path, restarts=2, how="kill")
    assert r.detail["complete_calls_checked"] >= 3, r.detail
    assert r.lost == 0, (table([r]), r.detail["missing_by_type"])
    assert r.detail["left_in_outboxes_after_stop"] == 0 and r.detail["daemon_exit"] == 0


def test_edge_killed_with_sigkill_delivers_its_unsent_events(tmp_path: Path) -> None:
    r = edge_kill.run(tmp_path, kills=1)
    assert r.detail["unsent_at_kill"] > 0, "nothing was pending at the kill: the fault proved nothing"
    assert r.lost == 0 and r.delivered == r.expected, table([r])
    assert r.detail["left_in_outboxes"] == 0
    assert r.detail["unexpected"] == []


def test_serial_port_yanked_twice(tmp_path: Path) -> None:
    r = serial.yanks(tmp_path, 2)
    assert not r.crashed, r.detail
    assert r.detail["yanks"] == 2 and r.detail["reconnects"] == 2
    assert r.detail["gaps"] == r.detail["device_fault_events"] == 2
    assert r.lost > 0 and r.unexplained == 0, table([r])   # the outage is audio lost, reported
    assert r.detail["corrupt_samples_delivered"] == 0


def test_serial_bit_flips_at_1e_3_and_1e_2(tmp_path: Path) -> None:
    for rate in (1e-3, 1e-2):
        folder = tmp_path / f"{rate:g}"
        folder.mkdir()
        r = serial.flips(folder, rate, seconds=3.0)
        assert not r.crashed, r.detail
        assert r.detail["bad_total"] > 0 and r.detail["gaps"] > 0
        assert r.detail["device_fault_events"] == r.detail["gaps"]
        assert r.unexplained == 0, table([r])
        assert r.detail["corrupt_samples_delivered"] == 0   # the CRC let nothing damaged through
        assert "call_started" in r.detail["events"] and "call_ended" in r.detail["events"]


def test_outbox_row_bound_applies_the_drop_policy(tmp_path: Path) -> None:
    r = outbox_full.bounded(tmp_path, events=400, bound=100)
    assert r.detail["policy_ok"], r.detail
    assert r.detail["dropped"]["alert"] == 0 and r.detail["alerts_kept"] == 40
    assert r.explained == 300 and r.unexplained == 0, table([r])
    assert r.detail["in_order"]


def test_outbox_disk_full_refuses_clearly_and_loses_nothing_accepted(tmp_path: Path) -> None:
    r = outbox_full.disk_full(tmp_path)
    assert r.detail["refused_when_full"] > 0, "the small disk never filled up"
    assert r.lost == 0 and r.delivered == r.expected, table([r])
    for message in r.detail["error_messages"]:
        assert "outbox-D01.db" in message and "full" in message
    assert r.recovery_s is not None, "the outbox never accepted events again after draining"
    assert r.detail["in_order"]


def test_wall_clock_jumps_neither_lose_nor_reorder_events(tmp_path: Path) -> None:
    r = clock.run(tmp_path, ("no_greeting_rude",))
    assert len(r.detail["steps"]) == 2 and r.detail["ts_backwards_steps"] >= 1
    assert r.expected >= 5 and r.lost == 0, table([r])
    assert r.detail["same_events_and_order"] and r.detail["ids_increasing"]
