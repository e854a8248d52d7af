"""Scenario files parse strictly and render onto the right channels at the right times."""

from __future__ import annotations

import numpy as np
import pytest

from seatwatch.edge.sim.scenario import (
    RATE,
    ScenarioError,
    list_scenarios,
    load_scenario,
    parse_scenario,
    render,
)


def burst_speaker(text: str, *, voice: str, speed: int, pitch: int, gap: int = 0) -> np.ndarray:
    """A stand-in voice for timeline tests: 0.2 s of tone per character."""
    t = np.arange(int(0.2 * RATE * len(text))) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_every_shipped_scenario_parses_and_the_library_covers_the_norms() -> None:
    expected: set[str] = set()
    for path in list_scenarios():
        expected |= set(load_scenario(path).expect)
    for norm_event in ("answer_late", "greeting_missing", "forbidden_phrase", "speech_rate_high",
                       "speech_rate_low", "agent_volume_high", "agent_volume_low",
                       "hold_checkin_missed", "overtalk", "dead_air", "call_too_long",
                       "closing_missing", "agent_hung_up_first", "acoustic_shock",
                       "assist_requested"):
        assert norm_event in expected, norm_event
    assert any(not load_scenario(p).expect for p in list_scenarios()), "a compliant call"


@pytest.mark.parametrize("text,message", [
    ('expect = ["nope"]\n[[step]]\non_hook = true', "unknown event type"),
    ('[[step]]\nagent = "您好"\ncaller = "你好"\n[[step]]\non_hook = true', "exactly one"),
    ('[[step]]\nagent = "您好"', "last step"),
    ('colour = "red"\n[[step]]\non_hook = true', "unknown key"),
    ('[[step]\n', "x.toml"),
])
def test_bad_scenarios_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(text, "x.toml")


def test_render_places_turns_signals_and_tones() -> None:
    scenario = parse_scenario("""
seed = 3
[[step]]
ring = 2
[[step]]
off_hook = true
[[step]]
agent = "您好您好"
[[step]]
caller = "你好"
[[step]]
agent = "请说"
overlap = 0.2
gain_db = 6
[[step]]
pause = 1.0
[[step]]
far_end_hangup = true
[[step]]
pause = 1.0
[[step]]
on_hook = true
""", "t")
    out = render(scenario, burst_speaker)
    kinds = [(c["type"], c["t"]) for c in out.controls]
    assert kinds == [("ring", 0.5), ("ring", 3.5), ("off_hook", 5.0), ("far_end_hangup", 7.4),
                     ("on_hook", 8.4)]
    agent1, caller, agent2 = out.utterances
    assert (agent1["who"], agent1["start"], agent1["end"], agent1["chars"]) == ("agent", 5.0, 5.8, 4)
    assert (caller["start"], caller["end"]) == (5.8, 6.2)
    assert agent2["start"] == pytest.approx(6.0)  # starts 0.2 s before the caller ends

    def rms(channel: int, start: float, end: float) -> float:
        part = out.pcm[int(start * RATE):int(end * RATE), channel].astype(np.float64)
        return float(20 * np.log10(np.sqrt((part ** 2).mean())))

    assert rms(0, 5.1, 5.7) == pytest.approx(-22.0, abs=0.5)     # nominal speech level
    assert rms(0, 6.05, 6.35) == pytest.approx(-16.0, abs=0.5)   # +6 dB
    assert rms(1, 5.85, 6.15) == pytest.approx(-22.0, abs=0.5)   # caller on the earpiece
    assert rms(0, 6.5, 7.3) < -60                                # pause: noise floor only
    busy = out.pcm[int(7.6 * RATE):int(7.95 * RATE), 1]
    spectrum = np.abs(np.fft.rfft(busy))
    assert abs(np.argmax(spectrum) * RATE / len(busy) - 450) < 5   # 450 Hz busy tone
    assert out.duration_s == pytest.approx(8.9)
