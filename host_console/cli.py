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
from pathlib import Path

from edge.publish.session import BrokerUrl, BrokerUrlError, TlsFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883",
                        help="mqtt[s]://[user[:pass]@]host[:port]")
    parser.add_argument("--site", default="+", help="site to watch (default: all)")
    parser.add_argument("--tls-ca", help="CA bundle for mqtts://")
    parser.add_argument("--read-only", action="store_true", help="wall display: no acks")
    parser.add_argument("--user", default=getpass.getuser(), help="name shown on acks")
    parser.add_argument("--client-id", help="MQTT client id (persistent session key)")
    parser.add_argument("--stale-after", type=float, default=30.0, metavar="SECONDS",
                        help="show a seat offline after this long without a heartbeat")
    parser.add_argument("--db", default=str(default_db()),
                        help="SQLite history: restored on start, so a restart loses nothing "
                             "(default: %(default)s)")
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


def default_db() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "seatwatch" / "console.db"


def run_report(args: argparse.Namespace) -> int:
    from host_console import reports
    from host_console.store import HistoryStore

    db = Path(args.report_db or args.db)
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
    from host_console.app import ConsoleApp
    from host_console.ingest import Ingest
    from host_console.state import FloorState
    from host_console.store import HistoryStore

    try:
        url = BrokerUrl.parse(args.broker)
    except BrokerUrlError as exc:
        print(f"seatwatch console: {exc}", file=sys.stderr)
        return 2
    client_id = args.client_id or f"console-{socket.gethostname()}-{args.user}"
    db = Path(args.db)
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        store = HistoryStore(db)
    except (OSError, sqlite3.Error) as exc:
        print(f"seatwatch console: history database {db}: {exc}", file=sys.stderr)
        return 2
    if args.stale_after <= 0:
        print("seatwatch console: --stale-after must be positive", file=sys.stderr)
        return 2
    state = FloorState(stale_after_s=args.stale_after)
    store.restore(state, time.time())
    ingest = Ingest(url, client_id, site=args.site, tls=TlsFiles(ca=args.tls_ca)).start()
    try:
        ConsoleApp(state, ingest=ingest, store=store, site=args.site, user=args.user,
                   read_only=args.read_only, tune_gc=True).run()
    finally:
        store.close()
    return 0
