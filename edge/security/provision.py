"""Create or rotate one broker account: its secret, its password hash, its ACL block.

Order matters so a failure leaves nothing half-done that was working before: the ACL
text is built (and every name checked) before anything is written, the edge's secret
file next, then the broker's password file, and the ACL file last, replaced atomically.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from seatwatch.edge.security import acl
from seatwatch.edge.security.credentials import new_password, set_password, write_private


@dataclass(frozen=True)
class Provisioned:
    user: str
    secret_file: Path    # the plain password, 0600: copy to the client, then delete
    passwd_file: Path
    acl_file: Path


def write_acl(path: Path, text: str) -> None:
    """Replace the ACL file in one rename, so the broker never reads half a file."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o640
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".acl-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def provision(block: acl.AclBlock, *, passwd_file: Path, acl_file: Path,
              secret_file: Path, password: str | None = None) -> Provisioned:
    """Give `block.user` a new password (random unless given) and exactly `block`'s rights."""
    current = acl_file.read_text(encoding="utf-8") if acl_file.exists() else ""
    merged = acl.merge(current, block)     # raises AclError before any write
    password = password or new_password()
    write_private(secret_file, password + "\n")
    set_password(passwd_file, block.user, password)
    write_acl(acl_file, merged)
    return Provisioned(block.user, secret_file, passwd_file, acl_file)
