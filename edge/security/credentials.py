"""Broker accounts: random passwords, mosquitto's password file, the edge's secret file.

The password file holds salted hashes written by mosquitto's own tool
(`mosquitto_passwd`), so the broker reads exactly the format it expects. The plain
password goes only into a 0600 file for the edge's `password_file` setting.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from pathlib import Path

MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
PASSWORD_BYTES = 24        # 192 bits of randomness, 32 URL-safe characters


class CredentialError(RuntimeError):
    pass


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def passwd_tool() -> str:
    found = MOSQUITTO_PASSWD if os.access(MOSQUITTO_PASSWD, os.X_OK) else shutil.which("mosquitto_passwd")
    if not found:
        raise CredentialError(f"{MOSQUITTO_PASSWD} not found (install the mosquitto package)")
    return found


def set_password(passwd_file: Path, user: str, password: str) -> None:
    """Add or replace `user` in mosquitto's password file (created 0600 if missing).

    `-b` puts the password on the tool's command line for the instant it runs; the
    provisioning host is trusted, and the password is random and single-use.
    """
    create = not passwd_file.exists()
    if create:
        passwd_file.parent.mkdir(parents=True, exist_ok=True)
        write_private(passwd_file, "")
    result = subprocess.run([passwd_tool(), "-b", str(passwd_file), user, password],
                            capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise CredentialError(f"mosquitto_passwd failed for {passwd_file}: "
                              f"{(result.stderr or result.stdout).strip()}")


def write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner can read, mode set before any byte lands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)          # an existing file keeps its old mode otherwise
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)
