"""Durable outbox: events are committed to SQLite (WAL) before they are sent, and removed
only once the broker acknowledged them. A crash, a power cut or a broker outage loses
nothing that was accepted; on restart the rows are replayed in order.

Bounded: past `max_events` rows the oldest *info* event is dropped first, then the
oldest *warn*, and an *alert* only when nothing else is left. Drops are counted.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from seatwatch.contracts.events import Event

_SEVERITY_RANK = {"info": 0, "warn": 1, "alert": 2}


class OutboxError(RuntimeError):
    """The outbox cannot store (disk full, corrupt or unwritable file): the message says which."""


@dataclass(frozen=True)
class Pending:
    seq: int          # insertion order
    event_id: str
    topic: str
    payload: bytes


class Outbox:
    def __init__(self, path: str | Path, max_events: int = 100_000) -> None:
        self.path = Path(path)
        self.max_events = max_events
        self.dropped = {"info": 0, "warn": 0, "alert": 0}
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # committed means on disk
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "event_id TEXT UNIQUE NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, "
                "rank INTEGER NOT NULL)")
            self._db.execute("CREATE INDEX IF NOT EXISTS outbox_rank ON outbox (rank, seq)")
            self._db.execute("SELECT count(*) FROM outbox").fetchone()
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"outbox {self.path}: cannot open ({exc})") from None

    def put(self, event: Event, topic: str) -> None:
        """Commit one event; returns once it is on disk. Raises OutboxError if it cannot be."""
        rank = _SEVERITY_RANK[event.severity]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.execute("INSERT OR IGNORE INTO outbox (event_id, topic, payload, rank) "
                                 "VALUES (?, ?, ?, ?)",
                                 (event.id, topic, event.to_json().encode(), rank))
                self._enforce_bound()
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._rollback()
                raise OutboxError(f"outbox {self.path}: cannot store event {event.id} ({exc})") from None

    def _enforce_bound(self) -> None:
        (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        excess = count - self.max_events
        while excess > 0:
            row = self._db.execute("SELECT seq, rank FROM outbox ORDER BY rank, seq LIMIT 1").fetchone()
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (row[0],))
            self.dropped[next(k for k, v in _SEVERITY_RANK.items() if v == row[1])] += 1
            excess -= 1

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass

    def pending(self, after_seq: int = 0, limit: int = 100) -> list[Pending]:
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, event_id, topic, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit)).fetchall()
        return [Pending(seq, event_id, topic, bytes(payload)) for seq, event_id, topic, payload in rows]

    def ack(self, seq: int) -> None:
        """The broker has the event: forget it."""
        with self._lock:
            try:
                self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            except sqlite3.DatabaseError as exc:
                # The row stays and is sent again later: a duplicate, never a loss.
                raise OutboxError(f"outbox {self.path}: cannot remove acknowledged row ({exc})") from None

    def depth(self) -> int:
        with self._lock:
            (count,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(count)

    def close(self) -> None:
        with self._lock:
            self._db.close()
