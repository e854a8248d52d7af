"""The real edge daemon (`python -m seatwatch.cli edge run --config CFG`) as a subprocess."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RENDERED = ROOT / "scenarios" / "rendered"


def write_config(folder: Path, broker_url: str, seats: dict[str, str], *, site: str = "chaos",
                 loop: bool = True, realtime: bool = False,
                 control: bool = True) -> Path:
    """`seats`: seat id -> audio file (a rendered scenario name or a path)."""
    lines = [f'site = "{site}"', f'broker = "{broker_url}"', f'state_dir = "{folder / "state"}"',
             'edge = "chaos-edge"', ""]
    for seat, audio in seats.items():
        file = Path(audio) if "/" in audio else RENDERED / f"{audio}.ogg"
        lines += ["[[seat]]", f'id = "{seat}"', f'source = "wav:{file}"',
                  f"loop = {str(loop).lower()}", f"realtime = {str(realtime).lower()}"]
        if control and file.with_suffix(".json").exists():
            lines.append(f'control = "{file.with_suffix(".json")}"')
        lines.append("")
    path = folder / "edge.toml"
    path.write_text("\n".join(lines))
    return path


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "seatwatch.cli", "edge", "run", "--config",
                                 str(config)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def outbox_rows(state: Path, seat: str) -> list[str]:
    """Event ids still stored (committed, not yet acknowledged) in a seat's outbox."""
    db = state / f"outbox-{seat}.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT event_id FROM outbox ORDER BY seq")]
