"""The real edge daemon (`seatwatch edge run --config`) through the shipped broker config:
one provisioned account for a group of two seats, TLS with the test CA, password file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import soundfile as sf

from tests.security.conftest import SITE, Client, SecureBroker, connect

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "scenarios" / "rendered" / "compliant.ogg"


def short_call(folder: Path) -> tuple[Path, Path]:
    """The first 14 s of a rendered call, hung up at 12 s: rings, off-hook, a greeting."""
    audio, rate = sf.read(CALL, dtype="int16", always_2d=True)
    wav = folder / "short.wav"
    sf.write(wav, audio[: 14 * rate], rate, subtype="PCM_16")
    control = folder / "short.json"
    control.write_text(json.dumps({"events": [
        {"t": 0.5, "type": "ring"}, {"t": 3.5, "type": "ring"}, {"t": 5.0, "type": "off_hook"},
        {"t": 12.0, "type": "on_hook"}]}))
    return wav, control


def test_edge_daemon_over_tls_with_a_provisioned_seat_group(
        tmp_path: Path, secure_broker: SecureBroker, clients: list[Client]) -> None:
    console = connect(secure_broker, "console-1")
    clients.append(console)
    console.subscribe(f"seatwatch/v1/{SITE}/+/events")
    wav, control = short_call(tmp_path)
    secret = tmp_path / "broker.pass"
    secret.write_text(secure_broker.passwords["edge-a"] + "\n")
    seats = "".join(f'\n[[seat]]\nid = "{seat}"\nsource = "wav:{wav}"\ncontrol = "{control}"\n'
                    f"realtime = false\n" for seat in ("A01", "A02"))
    config = tmp_path / "edge.toml"
    config.write_text(f'site = "{SITE}"\nedge = "pi-test"\n'
                      f'broker = "mqtts://edge-a@127.0.0.1:{secure_broker.port}"\n'
                      f'password_file = "{secret}"\ntls_ca = "{secure_broker.ca.ca_cert}"\n'
                      f'state_dir = "{tmp_path / "state"}"\n{seats}')
    result = subprocess.run([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config", str(config)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused" not in result.stderr
    for seat in ("A01", "A02"):
        assert console.wait_for(lambda seat=seat: any(
            json.loads(p)["type"] == "call_ended" for p in console.received(f"/{seat}/events")))
