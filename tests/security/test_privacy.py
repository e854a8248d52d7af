"""Privacy (NORMS.md N14): nothing published or stored carries audio or text.

A full rendered call goes through `seatwatch analyze` and through `seatwatch edge run`
into a real mosquitto with a subscriber on `#`. Every payload, every row of the edge's
SQLite files and every JSON file in its state dir is then searched for what would be a
leak: long numeric arrays (samples, spectra), long strings (transcripts, base64
blobs), Han characters other than the keyword labels, audio file signatures, and
files big enough to hold audio.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.fixtures.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "scenarios" / "rendered" / "compliant.ogg"
CONTROL = CALL.with_suffix(".json")
MAX_NUMBERS = 16          # a list of more numbers than this could be samples or a spectrum
MAX_STRING = 64           # labels, ids and timestamps are shorter
MAX_STATE_FILE = 256 * 1024   # 1 s of the device's stereo 16 kHz int16 audio is 64 KiB
AUDIO_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def keyword_labels() -> set[str]:
    """The keyword model's labels: the only Han text allowed to leave the audio path."""
    card = ROOT / "models" / "kws.json"
    if card.exists():
        return set(json.loads(card.read_text(encoding="utf-8"))["labels"])
    from seatwatch.models.synth.corpus import LABELS  # before trained models land in a tree
    return set(LABELS)


LABELS = keyword_labels()


def leaks(value: Any, where: str) -> list[str]:
    """Every place in a decoded JSON value that could carry audio or text."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += leaks(key, f"{where} key") + leaks(item, f"{where}.{key}")
    elif isinstance(value, list):
        numbers = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) > MAX_NUMBERS:
            found.append(f"{where}: {len(numbers)} numbers in one array")
        for index, item in enumerate(value):
            found += leaks(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            found.append(f"{where}: string of {len(value)} characters")
        if HAN.search(value) and value not in LABELS:
            found.append(f"{where}: Han text {value!r} is not a keyword label")
    return found


def payload_leaks(raw: bytes, where: str) -> list[str]:
    if raw.startswith(AUDIO_MAGIC):
        return [f"{where}: audio file signature"]
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return [f"{where}: {len(raw)} bytes that are not JSON text"] if raw else []
    return leaks(value, where)


def test_analyze_output_has_no_audio_or_text() -> None:
    result = subprocess.run([sys.executable, "-m", "seatwatch.cli", "analyze", str(CALL),
                             "--control", str(CONTROL)], capture_output=True, timeout=120,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    lines = result.stdout.splitlines()
    assert any(b'"call_started"' in line for line in lines)      # it did analyse the call
    problems = [p for n, line in enumerate(lines) for p in payload_leaks(line, f"line {n + 1}")]
    assert problems == []


def state_leaks(folder: Path) -> list[str]:
    problems: list[str] = []
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the edge stored nothing: the check would prove nothing"
    for path in files:
        raw = path.read_bytes()
        name = str(path.relative_to(folder))
        if len(raw) > MAX_STATE_FILE:
            problems.append(f"{name}: {len(raw)} bytes, audio-sized")
        if any(magic in raw for magic in (b"RIFF", b"OggS", b"fLaC")):
            problems.append(f"{name}: contains an audio file signature")
        if raw.startswith(b"SQLite format 3\0"):
            problems += sqlite_leaks(path, name)
        elif path.suffix == ".json":
            problems += payload_leaks(raw, name)
    return problems


def sqlite_leaks(path: Path, name: str) -> list[str]:
    problems: list[str] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    where = f"{name}:{table}"
                    if isinstance(cell, bytes):
                        problems += payload_leaks(cell, where)
                    elif isinstance(cell, str):
                        problems += (payload_leaks(cell.encode(), where)
                                     if cell[:1] in "{[" else leaks(cell, where))
    return problems


def test_edge_run_publishes_and_stores_no_audio_or_text(tmp_path: Path, mosquitto: Mosquitto) -> None:
    received: list[tuple[str, bytes]] = []
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="privacy-tap", protocol=mqtt.MQTTv5)
    sub.on_message = lambda c, u, msg: received.append((msg.topic, bytes(msg.payload)))
    sub.on_connect = lambda c, u, f, reason, p: c.subscribe("#", qos=1)
    sub.connect(mosquitto.host, mosquitto.port)
    sub.loop_start()
    state = tmp_path / "state"
    try:
        time.sleep(0.3)
        result = subprocess.run(
            [sys.executable, "-m", "seatwatch.cli", "edge", "run", "--source", f"wav:{CALL}",
             "--control", str(CONTROL), "--fast", "--state-dir", str(state),
             "--broker", mosquitto.url, "--site", "hq", "--seat", "A01"],
            capture_output=True, timeout=180, cwd=ROOT, check=False)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(
                t.endswith("/status") and b'"offline"' in p for t, p in received):
            time.sleep(0.05)
    finally:
        sub.disconnect()
        sub.loop_stop()
    kinds = {topic.rsplit("/", 1)[-1] for topic, _ in received}
    assert {"events", "status"} <= kinds, kinds                    # there was traffic to check
    assert any(b'"call_ended"' in p or b'"call_started"' in p for _, p in received)
    problems = [p for topic, raw in received for p in payload_leaks(raw, topic)]
    problems += [f"{topic}: {len(raw)} bytes" for topic, raw in received if len(raw) > 8192]
    assert problems == []
    assert state_leaks(state) == []


def test_the_checks_catch_a_leak(tmp_path: Path) -> None:
    """The detectors themselves: each kind of leak is reported."""
    assert payload_leaks(json.dumps({"data": {"pcm": list(range(100))}}).encode(), "e")
    assert payload_leaks(json.dumps({"data": {"text": "您好请问有什么可以帮您"}}).encode(), "e")
    assert payload_leaks(json.dumps({"data": {"blob": "QUJD" * 40}}).encode(), "e")
    assert payload_leaks(b"RIFF\x00\x00WAVEfmt ", "e")
    assert payload_leaks(b"\x00\x01\x02\x03", "e")
    assert not payload_leaks(json.dumps({"data": {"keywords": ["您好", "再见"]}}).encode(), "e")
    db = tmp_path / "s" / "x.db"
    db.parent.mkdir()
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (payload BLOB)")
        conn.execute("INSERT INTO t VALUES (?)", (bytes(range(256)) * 4,))
    assert state_leaks(db.parent)
