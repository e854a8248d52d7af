"""A small certificate authority and a broker certificate, made with the openssl tool.

For tests, demos and a site without its own PKI. The CA key signs the broker's
certificate; edges and consoles trust the CA certificate (`tls_ca`). Keys are EC P-256
and written 0600. Production sites with a corporate CA use theirs instead.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from seatwatch.edge.security.credentials import write_private

CA_DAYS = 3650       # the CA outlives the broker certificates it signs (days)
SERVER_DAYS = 825    # the longest validity clients accept for a server certificate (days)


class CaError(RuntimeError):
    pass


@dataclass(frozen=True)
class CaFiles:
    ca_cert: Path       # give to every edge and console (tls_ca)
    ca_key: Path        # keep offline: it can sign a broker certificate
    server_cert: Path   # mosquitto certfile
    server_key: Path    # mosquitto keyfile


def subject_alt_names(hosts: Sequence[str]) -> str:
    """`DNS:name` or `IP:addr` for each host, as openssl's subjectAltName wants them."""
    if not hosts:
        raise CaError("the broker certificate needs at least one host name or address")
    names = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(f"IP:{ipaddress.ip_address(host)}")
        except ValueError:
            if not host or any(c in host for c in ",/= \t\n"):
                raise CaError(f"host {host!r} is not a DNS name or an IP address") from None
            names.append(f"DNS:{host}")
    return ",".join(names)


def _openssl(*args: str) -> None:
    tool = shutil.which("openssl")
    if tool is None:
        raise CaError("openssl not found (install the openssl package)")
    result = subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise CaError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def _new_key(path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "key.pem"
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", str(raw))
        write_private(path, raw.read_text())


def make_ca(out: Path, hosts: Sequence[str] = ("localhost", "127.0.0.1"),
            name: str = "seatwatch") -> tuple[CaFiles, bool]:
    """ca.crt/ca.key and a new server.crt/server.key in `out`; (files, CA was created).

    An existing CA in `out` is kept and only the broker certificate is issued again
    (renewal, new host names): replacing the CA would cut off every edge and console
    that trusts it.
    """
    sans = subject_alt_names(hosts)
    out.mkdir(parents=True, exist_ok=True)
    files = CaFiles(out / "ca.crt", out / "ca.key", out / "server.crt", out / "server.key")
    created = not (files.ca_cert.exists() and files.ca_key.exists())
    if created:
        _new_key(files.ca_key)
        _openssl("req", "-x509", "-new", "-key", str(files.ca_key), "-out", str(files.ca_cert),
                 "-days", str(CA_DAYS), "-subj", f"/CN={name} broker CA",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    _new_key(files.server_key)
    with tempfile.TemporaryDirectory() as tmp:
        csr, ext = Path(tmp) / "server.csr", Path(tmp) / "server.ext"
        first = next(iter(dict.fromkeys(hosts)))
        _openssl("req", "-new", "-key", str(files.server_key), "-out", str(csr),
                 "-subj", f"/CN={first}")
        ext.write_text("basicConstraints=critical,CA:FALSE\n"
                       "keyUsage=critical,digitalSignature,keyAgreement\n"
                       "extendedKeyUsage=serverAuth\n"
                       "subjectKeyIdentifier=hash\n"
                       "authorityKeyIdentifier=keyid,issuer\n"
                       f"subjectAltName={sans}\n")
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(files.ca_cert),
                 "-CAkey", str(files.ca_key), "-set_serial", str(secrets.randbits(63)),
                 "-days", str(SERVER_DAYS), "-extfile", str(ext), "-out", str(files.server_cert))
    return files, created
