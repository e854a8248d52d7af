"""An edge config with `source = "alsa:..."` runs a seat end to end: a scripted call is
captured through a real ALSA PCM (alsa_fixture.py), its hook and ring keys come from an
input-event FIFO, `seatwatch edge run` judges it, and its events reach a real mosquitto."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from seatwatch.edge.resources import data_dir
from seatwatch.edge.sources.base import PIPELINE_RATE
from seatwatch.edge.sources.wavfile import read_stereo
from tests.alsa.alsa_fixture import PCM_NAME, Feeder, alsa_env, make_fifo
from tests.fixtures.broker import Mosquitto

pytest.importorskip("alsaaudio", reason="pip install 'seatwatch[alsa]'")

CALL = data_dir("scenarios") / "rendered" / "no_greeting_rude"


class Collector:
    def __init__(self, broker: Mosquitto, topic: str) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="alsa-test")
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = lambda _c, _u, m: self.messages.append((m.topic, json.loads(m.payload)))
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def events(self) -> list[str]:
        return [p.get("type") for t, p in list(self.messages) if t.endswith("/events")]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_an_alsa_seat_reaches_the_broker(tmp_path: Path, mosquitto: Mosquitto) -> None:
    pcm = read_stereo(CALL.with_suffix(".ogg"))
    meta = json.loads(CALL.with_suffix(".json").read_text())
    controls = [(round(e["t"] * PIPELINE_RATE), e["type"]) for e in meta["events"]]
    assert {kind for _, kind in controls} <= {"ring", "off_hook", "on_hook"}
    audio_fifo, key_fifo = make_fifo(tmp_path / "capture"), make_fifo(tmp_path / "keys")
    config = tmp_path / "edge.toml"
    config.write_text(f'site = "hq"\nedge = "pi-inline-test"\nbroker = "{mosquitto.url}"\n'
                      f'state_dir = "{tmp_path / "state"}"\nmetrics_interval_s = 0.5\n\n'
                      f'[[seat]]\nid = "C3"\nsource = "alsa:{PCM_NAME}"\n'
                      f'control = "evdev:{key_fifo}"\nagent = "agent-0007"\n')
    collector = Collector(mosquitto, "seatwatch/v1/hq/C3/#")
    feeder = Feeder(audio_fifo, pcm, controls, key_fifo, speed=8.0)
    edge = None
    try:
        assert collector.subscribed.wait(10)
        env = {**os.environ, **alsa_env(tmp_path, audio_fifo)}
        edge = subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config",
                                 str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        feeder.start()
        assert feeder.done.wait(60), "the call was never captured (ALSA device not opened?)"
        deadline = time.monotonic() + 30
        while "agent_hung_up_first" not in collector.events() and time.monotonic() < deadline:
            assert edge.poll() is None, edge.communicate()[1]
            time.sleep(0.2)
        edge.send_signal(signal.SIGTERM)
        _, err = edge.communicate(timeout=30)
        assert edge.returncode == 0, err
    finally:
        feeder.stop()
        if edge is not None and edge.poll() is None:
            edge.kill()
        collector.close()
    events = collector.events()
    # the call the offline analysis of this recording raises (scenarios/rendered/*.json)
    assert set(meta["expect"]) <= set(events), (events, err[-2000:])
    assert "device_fault" not in events          # no audio lost on the way
    status = [p for t, p in collector.messages if t.endswith("/status")]
    assert status and status[0]["device"] == "alsa-C3"
    assert any(t.endswith("/metrics") for t, _ in collector.messages)
