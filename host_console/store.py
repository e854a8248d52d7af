"""The console's history in SQLite: a restart loses nothing the console showed before.

Written before shown: the app records each drained batch in one transaction, then
applies it to the floor model. On start the model is rebuilt by replaying the journal
through `FloorState.handle`, the very code path live messages take, so a restored
floor cannot drift from a live one. The structured tables (events, scorecards, acks)
serve the reports.

Only well-formed messages are kept: a malformed one is counted by the floor model and
never becomes history. Duplicates (QoS 1 redelivery, our own ack echoed by the broker)
are stored once. Metrics arrive every second from every seat, so only the window the
seat detail's sparklines show is kept.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from seatwatch.console.reports import NORM_OF, CardRow, ViolationRow
from seatwatch.console.state import HISTORY_POINTS, FloorState, check
from seatwatch.contracts import payloads, topics
from seatwatch.contracts.events import Event, EventError

log = logging.getLogger(__name__)

Message = tuple[str, bytes, float]          # topic, payload, received (epoch seconds)

SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, received REAL NOT NULL, kind TEXT NOT NULL,
    site TEXT NOT NULL, seat TEXT, topic TEXT NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS journal_kind ON journal(kind, seq);
CREATE INDEX IF NOT EXISTS journal_received ON journal(kind, received);
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY, t REAL NOT NULL, ts TEXT NOT NULL,
    site TEXT NOT NULL, seat TEXT NOT NULL, agent TEXT, call TEXT, type TEXT NOT NULL,
    severity TEXT NOT NULL, t_call REAL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_t ON events(t);
CREATE TABLE IF NOT EXISTS scorecards (
    event TEXT PRIMARY KEY, t REAL NOT NULL, site TEXT NOT NULL, seat TEXT NOT NULL,
    agent TEXT, call TEXT, score REAL, duration_s REAL, violations TEXT NOT NULL,
    card TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS scorecards_t ON scorecards(t);
CREATE TABLE IF NOT EXISTS acks (
    received REAL NOT NULL, site TEXT NOT NULL, seat TEXT NOT NULL,
    event TEXT NOT NULL, action TEXT NOT NULL, by_user TEXT NOT NULL, ts TEXT NOT NULL,
    note TEXT, UNIQUE(event, action, by_user, ts));
"""


@dataclass(frozen=True)
class StoreConfig:
    metrics_keep_s: float = float(HISTORY_POINTS)
    """Metrics kept for the sparklines after a restart (seconds): the seat detail's window."""
    replay_events: int = 100_000
    """Newest events and acks replayed on start (rows): more than the feed can hold."""
    prune_every_s: float = 60.0
    """How often old metrics are deleted (seconds): pruning is a scan, not per batch."""


def epoch(ts: str) -> float:
    """ISO-8601 UTC (as events carry it) to epoch seconds; ValueError when it is not."""
    return datetime.fromisoformat(ts).timestamp()


class HistoryStore:
    def __init__(self, path: str | Path, *, roster: dict[str, dict[str, str]] | None = None,
                 config: StoreConfig | None = None) -> None:
        self.path, self.config = Path(path), config or StoreConfig()
        # One connection shared by the ingest thread and the UI, serialised by a lock.
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self._lock = threading.RLock()
        self._latest = 0.0
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last batch, never corrupt the file.
        self.db.execute("PRAGMA synchronous=NORMAL")
        # Checkpoints (the only fsyncs in WAL + NORMAL) run from `checkpoint()`, called by the
        # ingest thread outside the floor model's lock, never inside a batch the UI waits for.
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self._last_checkpoint = 0.0
        self.db.executescript(SCHEMA)
        self.roster = roster or {}
        self.written = 0
        self._agents: dict[tuple[str, str], str] = {}
        self._last_prune = 0.0
        for site, seat, payload in self.db.execute(
                "SELECT site, seat, payload FROM journal WHERE seq IN "
                "(SELECT MAX(seq) FROM journal WHERE kind = 'status' GROUP BY site, seat)"):
            agent = json.loads(payload).get("agent")
            if agent:
                self._agents[(site, seat)] = agent

    def close(self) -> None:
        with self._lock:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.db.close()

    def agent(self, site: str, seat: str) -> str | None:
        return self._agents.get((site, seat)) or self.roster.get(seat, {}).get("agent")

    # --- writing -------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One commit for a batch; `keep` calls inside it (from FloorState.recorder) join it."""
        with self._lock:
            self._latest = 0.0
            with self.db:
                yield
            if self._latest - self._last_prune >= self.config.prune_every_s:
                self.prune(self._latest)

    def record(self, batch: Iterable[Message]) -> int:
        """Validate and store a batch in one transaction; returns how many messages were new.
        (The console itself stores through `keep`, with what the floor model parsed.)"""
        before = self.written
        with self.transaction():
            for topic, payload, received in batch:
                try:
                    where = topics.parse_topic(topic)
                    obj = check(where, payload)
                except (topics.TopicError, EventError, payloads.PayloadError, TypeError) as exc:
                    # The floor model counts it as malformed; history keeps what it can show.
                    log.debug("not stored: %s: %s", topic, exc)
                    continue
                self.keep(where.kind, where.site, where.seat, topic, payload, received, obj)
        self.checkpoint(time.monotonic())
        return self.written - before

    def keep(self, kind: str, site: str, seat: str | None, topic: str, payload: bytes,
             received: float, obj: Event | dict[str, Any]) -> None:
        """Store one well-formed message (inside `transaction()`)."""
        self._latest = max(self._latest, received)
        if isinstance(obj, Event):
            if self._keep_event(obj, topic, payload, received):
                self.written += 1
            return
        if kind == "acks":
            cur = self.db.execute("INSERT OR IGNORE INTO acks VALUES (?,?,?,?,?,?,?,?)",
                                  (received, site, obj["seat"], obj["event"], obj["action"],
                                   obj["by"], obj["ts"], obj.get("note")))
            if not cur.rowcount:
                return        # our own ack, echoed back by the broker
            seat = obj["seat"]
        elif kind == "status" and obj.get("agent"):
            self._agents[(site, obj["seat"])] = obj["agent"]
        self.db.execute("INSERT INTO journal (received, kind, site, seat, topic, payload) "
                        "VALUES (?,?,?,?,?,?)", (received, kind, site, seat, topic, payload))
        self.written += 1

    def _keep_event(self, event: Event, topic: str, payload: bytes, received: float) -> bool:
        agent = self.agent(event.site, event.seat)
        t = epoch(event.ts)
        cur = self.db.execute(
            "INSERT OR IGNORE INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (event.id, t, event.ts, event.site, event.seat, agent, event.call, event.type,
             event.severity, event.t_call, json.dumps(event.data, ensure_ascii=False)))
        if not cur.rowcount:
            return False      # a QoS 1 redelivery
        self.db.execute("INSERT INTO journal (received, kind, site, seat, topic, payload) "
                        "VALUES (?,?,?,?,?,?)",
                        (received, "events", event.site, event.seat, topic, payload))
        card = event.data.get("scorecard")
        if event.type == "call_ended" and isinstance(card, dict):
            violations = card.get("violations") if isinstance(card.get("violations"), dict) else {}
            score, duration = card.get("score"), card.get("duration_s")
            self.db.execute(
                "INSERT INTO scorecards VALUES (?,?,?,?,?,?,?,?,?,?)",
                (event.id, t, event.site, event.seat, agent, event.call,
                 score if isinstance(score, (int, float)) else None,
                 duration if isinstance(duration, (int, float)) else None,
                 json.dumps(violations, ensure_ascii=False), json.dumps(card, ensure_ascii=False)))
        return True

    def checkpoint(self, now: float, every_s: float = 5.0) -> bool:
        """Fold the WAL into the database file, at most every `every_s` seconds."""
        if now - self._last_checkpoint < every_s:
            return False
        self._last_checkpoint = now
        with self._lock:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        return True

    def prune(self, now: float) -> int:
        """Delete metrics older than the sparkline window."""
        self._last_prune = now
        with self._lock, self.db:
            cur = self.db.execute("DELETE FROM journal WHERE kind = 'metrics' AND received < ?",
                                  (now - self.config.metrics_keep_s,))
        return cur.rowcount

    # --- reading -------------------------------------------------------------------------
    def replay(self, now: float) -> Iterator[Message]:
        """The history to rebuild a floor from, oldest first: the newest events and acks,
        each seat's last status, and the recent metrics."""
        with self._lock:
            rows = self.db.execute(
                """
                WITH recent AS (SELECT seq FROM journal WHERE kind IN ('events', 'acks')
                                ORDER BY seq DESC LIMIT :n),
                     status AS (SELECT MAX(seq) AS seq FROM journal WHERE kind = 'status'
                                GROUP BY site, seat)
                SELECT topic, payload, received FROM journal
                WHERE seq IN (SELECT seq FROM recent) OR seq IN (SELECT seq FROM status)
                   OR (kind = 'metrics' AND received >= :since)
                ORDER BY seq""",
                {"n": self.config.replay_events, "since": now - self.config.metrics_keep_s},
            ).fetchall()
        for topic, payload, received in rows:
            yield topic, bytes(payload), received

    def restore(self, state: FloorState, now: float) -> int:
        """Rebuild `state` from the history; seats silent since are then shown offline."""
        count = 0
        for topic, payload, received in self.replay(now):
            state.handle(topic, payload, received)
            count += 1
        state.mark_stale(now)
        return count

    def report_rows(self, since: float, until: float) -> tuple[list[CardRow], list[ViolationRow]]:
        """Scorecards and norm events of a period, for `reports.build`."""
        with self._lock:
            return self._report_rows(since, until)

    def _report_rows(self, since: float, until: float) -> tuple[list[CardRow], list[ViolationRow]]:
        cards = [CardRow(*row) for row in self.db.execute(
            "SELECT t, seat, agent, call, score FROM scorecards WHERE t >= ? AND t < ? ORDER BY t",
            (since, until))]
        marks = ",".join("?" * len(NORM_OF))
        violations = [ViolationRow(*row) for row in self.db.execute(
            f"SELECT t, seat, agent, call, type FROM events WHERE t >= ? AND t < ? "
            f"AND type IN ({marks}) ORDER BY t", (since, until, *NORM_OF))]
        return cards, violations

    def query(self, sql: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only access for the reports."""
        with self._lock:
            return list(self.db.execute(sql, params))
