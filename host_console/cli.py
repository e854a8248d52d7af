"""`seatwatch console`: connect to the broker and open the floor view;
`seatwatch console report`: a period summary from the history database, as text or CSV."""

from __future__ import annotations

import argparse
import getpass
import os
import socket
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from seatwatch.contracts.events import ident_error, valid_ident
from seatwatch.contracts.session import BrokerUrl, BrokerUrlError, TlsFiles

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
DEFAULT_STALE_S = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Defaults are None here so that a flag given overrides the --config file, and a
    # flag not given does not.
    parser.add_argument("--config", help="console configuration file (TOML; flags override it)")
    parser.add_argument("--broker", help=f"mqtt[s]://[user[:pass]@]host[:port] (default {DEFAULT_BROKER})")
    parser.add_argument("--site", help="site to watch (default: all)")
    parser.add_argument("--tls-ca", help="CA bundle for mqtts://")
    parser.add_argument("--read-only", action="store_true", help="wall display: no acks")
    parser.add_argument("--user", help="name shown on acks (default: the login name)")
    parser.add_argument("--client-id", help="MQTT client id (persistent session key)")
    parser.add_argument("--stale-after", type=float, metavar="SECONDS",
                        help=f"show a seat offline after this long without a heartbeat "
                             f"(default {DEFAULT_STALE_S:g})")
    parser.add_argument("--db", help=f"SQLite history: restored on start, so a restart loses "
                                     f"nothing (default: {default_db()})")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    report = sub.add_parser("report", help="per agent and per norm summary of a period",
                            description="Per agent and per norm: calls, mean score, violations.")
    # Own dest: a subparser's defaults would overwrite the console's --db.
    report.add_argument("--db", dest="report_db", default=None,
                        help="history database (default: the console's --db)")
    report.add_argument("--since", default="8h",
                        help="start: 8h / 30m / 2d before now, or an ISO date/time (default 8h)")
    report.add_argument("--until", default=None, help="end (default: now), same forms as --since")
    report.add_argument("--csv", metavar="OUT", help="also write the table as CSV ('-': stdout)")


@dataclass(frozen=True)
class Settings:
    """Flags over the configuration file over the defaults."""
    broker: str
    site: str
    tls_ca: str | None
    read_only: bool
    user: str
    db: Path
    stale_after_s: float
    roster: dict[str, dict[str, str]]


def settings(args: argparse.Namespace) -> Settings:
    """Raises ConfigError naming the file and key."""
    from seatwatch.console.config import ConfigError, ConsoleConfig, load

    config = load(args.config) if getattr(args, "config", None) else ConsoleConfig()
    stale = args.stale_after if args.stale_after is not None else config.stale_after_s
    if stale is not None and stale <= 0:
        raise ConfigError("--stale-after must be positive")
    site = args.site or config.site or "+"
    if site != "+" and not valid_ident(site):
        raise ConfigError(f"--site: {ident_error(site, 'site id')}")
    return Settings(broker=args.broker if args.broker is not None else (config.broker or DEFAULT_BROKER),
                    site=site, tls_ca=args.tls_ca or config.tls_ca,
                    read_only=args.read_only or config.read_only,
                    user=args.user or config.user or getpass.getuser(),
                    db=Path(args.db or config.db or default_db()),
                    stale_after_s=DEFAULT_STALE_S if stale is None else float(stale),
                    roster=config.roster)


def default_db() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "seatwatch" / "console.db"


def run_report(args: argparse.Namespace) -> int:
    from seatwatch.console import reports
    from seatwatch.console.store import HistoryStore

    try:
        db = Path(args.report_db) if args.report_db else settings(args).db
    except ValueError as exc:
        print(f"seatwatch console report: {exc}", file=sys.stderr)
        return 2
    if not db.is_file():
        print(f"seatwatch console report: no history database at {db}", file=sys.stderr)
        return 2
    now = time.time()
    try:
        since = reports.parse_when(args.since, now)
        until = now if args.until is None else reports.parse_when(args.until, now)
    except reports.PeriodError as exc:
        print(f"seatwatch console report: {exc}", file=sys.stderr)
        return 2
    if until <= since:
        print("seatwatch console report: --until must be after --since", file=sys.stderr)
        return 2
    try:
        store = HistoryStore(db)
        cards, violations = store.report_rows(since, until)
        store.close()
    except sqlite3.Error as exc:
        print(f"seatwatch console report: {db}: {exc}", file=sys.stderr)
        return 2
    report = reports.build(cards, violations, since, until)
    if args.csv == "-":
        reports.write_csv(report, sys.stdout)
        return 0
    print(reports.text(report))
    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            rows = reports.write_csv(report, out)
        print(f"\n{rows} rows written to {args.csv}")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "report":
        return run_report(args)
    from seatwatch.console.app import ConsoleApp
    from seatwatch.console.ingest import Ingest
    from seatwatch.console.state import FloorState
    from seatwatch.console.store import HistoryStore

    try:
        chosen = settings(args)
        url = BrokerUrl.parse(chosen.broker)
    except (BrokerUrlError, ValueError) as exc:
        print(f"seatwatch console: {exc}", file=sys.stderr)
        return 2
    client_id = args.client_id or f"console-{socket.gethostname()}-{chosen.user}"
    try:
        chosen.db.parent.mkdir(parents=True, exist_ok=True)
        store = HistoryStore(chosen.db, roster=chosen.roster)
    except (OSError, sqlite3.Error) as exc:
        print(f"seatwatch console: history database {chosen.db}: {exc}", file=sys.stderr)
        return 2
    state = FloorState(chosen.roster, stale_after_s=chosen.stale_after_s)
    store.restore(state, time.time())
    ingest = Ingest(url, client_id, site=chosen.site, tls=TlsFiles(ca=chosen.tls_ca)).start()
    try:
        ConsoleApp(state, ingest=ingest, store=store, site=chosen.site, user=chosen.user,
                   read_only=chosen.read_only, tune_gc=True).run()
    finally:
        store.close()
    return 0
