"""`seatwatch provision`: broker accounts for edge devices and consoles, and a test CA.

    seatwatch provision device --site hq --seat A01 --seat A02 --user edge-pi-floor2 \
        --passwd-file /etc/mosquitto/seatwatch/passwd --acl-file /etc/mosquitto/seatwatch/acl
    seatwatch provision console --user console-floor2 --passwd-file ... --acl-file ...
    seatwatch provision ca --out /etc/mosquitto/seatwatch --host broker.example

Re-running for an existing user rotates its password and replaces its ACL block.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seatwatch.edge.security import acl
from seatwatch.edge.security.ca import CaError, make_ca
from seatwatch.edge.security.credentials import CredentialError
from seatwatch.edge.security.provision import Provisioned, provision


def _account_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", required=True, help="broker user name (an identifier)")
    parser.add_argument("--passwd-file", type=Path, required=True,
                        help="mosquitto password_file to add the user to (created if missing)")
    parser.add_argument("--acl-file", type=Path, required=True,
                        help="mosquitto acl_file whose block for the user is replaced")
    parser.add_argument("--secret-out", type=Path,
                        help="where to write the plain password, mode 0600 (default ./USER.pass)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="what", metavar="WHAT", required=True)
    device = sub.add_parser("device", help="an edge daemon's account for a group of seats")
    device.add_argument("--site", required=True, help="site id")
    device.add_argument("--seat", action="append", required=True,
                        help="a seat this account may publish for (repeat for each seat)")
    _account_arguments(device)
    console = sub.add_parser("console", help="a supervisors' console account")
    console.add_argument("--site", action="append", default=[],
                         help="limit to this site (repeatable; default: every site)")
    _account_arguments(console)
    ca = sub.add_parser("ca", help="a test/demo CA and a broker certificate (openssl)")
    ca.add_argument("--out", type=Path, required=True, help="folder for ca.crt/key, server.crt/key")
    ca.add_argument("--host", action="append", default=[],
                    help="broker DNS name or IP in the certificate (repeatable; "
                         "default: localhost and 127.0.0.1)")


def _report(done: Provisioned) -> None:
    print(f"user {done.user}: password hash in {done.passwd_file}, ACL block in {done.acl_file}")
    print(f"password for the client written to {done.secret_file} (mode 0600): copy it to the "
          "client (edge: password_file), then delete it here")
    print("reload the broker to apply: systemctl reload mosquitto (or kill -HUP its pid)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.what == "ca":
            files, created = make_ca(args.out, args.host or ("localhost", "127.0.0.1"))
            state = "new" if created else "existing, kept"
            print(f"CA certificate ({state}; give to edges and consoles): {files.ca_cert}")
            print(f"CA key (keep offline): {files.ca_key}")
            print(f"broker certificate and key: {files.server_cert} {files.server_key}")
            return 0
        if args.what == "device":
            block = acl.device_block(args.user, args.site, args.seat)
        else:
            block = acl.console_block(args.user, args.site)
        secret = args.secret_out or Path(f"{args.user}.pass")
        _report(provision(block, passwd_file=args.passwd_file, acl_file=args.acl_file,
                          secret_file=secret))
        return 0
    except (acl.AclError, CredentialError, CaError, OSError) as exc:
        print(f"seatwatch provision {args.what}: {exc}", file=sys.stderr)
        return 2
