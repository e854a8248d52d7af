"""`seatwatch console`: connect to the broker and open the floor view."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys

from edge.publish.session import BrokerUrl, BrokerUrlError, TlsFiles


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883",
                        help="mqtt[s]://[user[:pass]@]host[:port]")
    parser.add_argument("--site", default="+", help="site to watch (default: all)")
    parser.add_argument("--tls-ca", help="CA bundle for mqtts://")
    parser.add_argument("--read-only", action="store_true", help="wall display: no acks")
    parser.add_argument("--user", default=getpass.getuser(), help="name shown on acks")
    parser.add_argument("--client-id", help="MQTT client id (persistent session key)")


def run(args: argparse.Namespace) -> int:
    from host_console.app import ConsoleApp
    from host_console.ingest import Ingest

    try:
        url = BrokerUrl.parse(args.broker)
    except BrokerUrlError as exc:
        print(f"seatwatch console: {exc}", file=sys.stderr)
        return 2
    client_id = args.client_id or f"console-{socket.gethostname()}-{args.user}"
    ingest = Ingest(url, client_id, site=args.site, tls=TlsFiles(ca=args.tls_ca)).start()
    ConsoleApp(ingest=ingest, site=args.site, user=args.user, read_only=args.read_only).run()
    return 0
