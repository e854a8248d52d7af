# Which firmware runs: two slots, /fw/a and /fw/b, and a rollback (docs/firmware.md,
# "Updates and rollback").
#
# `seatwatch firmware flash` copies a new version into the slot that is not running,
# manifest.json last (version; every file's name, size and SHA-256), checks every file
# on the device, and only then commits by renaming a one-word pointer onto /fw/active.
# The version that was running stays untouched in the other slot. At every boot,
# boot.py asks `activate` which slot to run: the committed one if its files are
# exactly those of its manifest, else the other one if its files are (a copy cut
# short, flash gone bad, a file changed by hand), else none and main.py leaves the
# REPL open. Nothing here writes to flash: the next flash reuses the slot that failed.
# The hashes catch damage and stray files, not someone who rewrites the manifest too.

import hashlib
import json
import os
import sys
from binascii import hexlify

SLOTS = ("a", "b")
ACTIVE = "fw/active"        # the committed slot's name; written last, by rename
MANIFEST = "manifest.json"
FORMAT = 1
CHUNK = 512


class Choice:
    def __init__(self):
        self.chosen = False
        self.pointer = None     # what /fw/active says (None: no slot ever committed)
        self.slot = None        # the slot to run; None: no verified slot
        self.directory = None   # where its modules are; None: nothing to run
        self.version = None     # from its manifest
        self.previous = None    # version in the other slot, kept for rollback (if it verifies)
        self.problem = None     # why the committed slot did not run, or None
        self.checks = {}        # slot -> (version or None, problem or None)


CHOSEN = Choice()           # what boot.py chose; main.py reads it (same interpreter)


def join(root, name):
    return root.rstrip("/") + "/" + name


def slot_dir(root, slot):
    return join(root, "fw/" + slot)


def other(slot):
    return SLOTS[1] if slot == SLOTS[0] else SLOTS[0]


def sha256_hex(path, buf):
    h = hashlib.sha256()
    view = memoryview(buf)
    with open(path, "rb") as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return hexlify(h.digest()).decode()


def _plain_name(name):
    # a file directly in the slot: a manifest naming "../boot.py" must not reach out
    return isinstance(name, str) and name != "" and name != MANIFEST and "/" not in name \
        and name[0] != "."


def load_manifest(directory):
    """The slot's manifest as a dict; ValueError saying what is wrong with it."""
    try:
        with open(join(directory, MANIFEST), "rb") as f:
            data = f.read()
    except OSError:
        raise ValueError(MANIFEST + ": missing")
    try:
        manifest = json.loads(data)
    except ValueError:              # also bad UTF-8 (UnicodeError is a ValueError)
        raise ValueError(MANIFEST + ": not valid JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(MANIFEST + ": not a format %d manifest" % FORMAT)
    version = manifest.get("version")
    files = manifest.get("files")
    if not isinstance(version, str) or version == "" or not isinstance(files, list) or not files:
        raise ValueError(MANIFEST + ": no version or no files")
    for entry in files:
        if not isinstance(entry, dict) or not _plain_name(entry.get("name")) \
                or not isinstance(entry.get("size"), int) or not isinstance(entry.get("sha256"), str):
            raise ValueError(MANIFEST + ": malformed file entry")
    return manifest


def check(directory):
    """(version, None) when the slot holds exactly the files of its manifest, each with
    its size and SHA-256; else (version or None, what is wrong, naming the file)."""
    try:
        manifest = load_manifest(directory)
    except ValueError as exc:
        return None, exc.args[0]
    version = manifest["version"]
    present = os.listdir(directory)
    listed = [MANIFEST]
    buf = bytearray(CHUNK)
    for entry in manifest["files"]:
        name = entry["name"]
        listed.append(name)
        if name not in present:
            return version, name + ": missing"
        path = join(directory, name)
        size = os.stat(path)[6]
        if size != entry["size"]:
            return version, "%s: %d B, manifest says %d B" % (name, size, entry["size"])
        if sha256_hex(path, buf) != entry["sha256"]:
            return version, name + ": SHA-256 differs from the manifest"
    # a stray app.py would be imported before the verified app.mpy
    for name in present:
        if name not in listed:
            return version, name + ": not in the manifest"
    return version, None


def _check(directory):
    # at boot nothing may stop the choice: an unexpected error marks the slot bad
    try:
        return check(directory)
    except Exception as exc:
        return None, "unreadable (%s %s)" % (type(exc).__name__, exc)


def read_pointer(root):
    """The text of /fw/active, or None when there is none (no slot ever committed)."""
    try:
        with open(join(root, ACTIVE), "rb") as f:
            data = f.read()
    except OSError:
        return None
    try:
        return data.decode().strip()
    except ValueError:
        return "?"


def select(root="/", choice=None):
    """Decide which slot runs (does not touch sys.path)."""
    if choice is None:
        choice = Choice()
    choice.chosen = True
    for slot in SLOTS:
        choice.checks[slot] = _check(slot_dir(root, slot))
    pointer = read_pointer(root)
    choice.pointer = pointer
    if pointer is None:
        # flashed before slots existed (or a first slot copy never committed): the
        # files at the root are the ones that last ran, unverified
        choice.directory = root
        choice.problem = "no committed slot: running the files at the root"
        return choice
    problems = []
    if pointer in SLOTS:
        order = (pointer, other(pointer))
    else:
        order = SLOTS
        problems.append(ACTIVE + ": names no slot")
    for slot in order:
        version, problem = choice.checks[slot]
        if problem is None:
            choice.slot = slot
            choice.directory = slot_dir(root, slot)
            choice.version = version
            rest = choice.checks[other(slot)]
            if rest[1] is None:
                choice.previous = rest[0]
            break
        problems.append("slot %s: %s" % (slot, problem))
    if problems:
        choice.problem = "; ".join(problems)
    return choice


def activate(root="/"):
    """Choose (once per boot) and put the chosen slot first on the import path."""
    if not CHOSEN.chosen:
        select(root, CHOSEN)
        directory = CHOSEN.directory
        if CHOSEN.slot is not None and directory is not None:     # else: root or nothing
            sys.path.insert(0, directory)
    return CHOSEN


def status(root="/"):
    """The choice as plain data (for `seatwatch firmware flash` over the REPL)."""
    c = select(root)
    slots = {}
    for slot in SLOTS:
        slots[slot] = [c.checks[slot][0], c.checks[slot][1]]
    return {"pointer": c.pointer, "running": c.slot, "version": c.version,
            "previous": c.previous, "problem": c.problem, "slots": slots}
