"""A/B firmware update over the raw REPL, with rollback (docs/firmware.md).

The device holds two slots, /fw/a and /fw/b, and /fw/active names the committed one
(firmware/slots.py). Each step below is ordered so that an interruption anywhere
leaves the device on the version it ran before:

1. run the new firmware/slots.py on the device and ask which slot it runs; the other
   one is the staging slot, so the running version is never written to;
2. empty the staging slot and copy the slot's files into it, manifest.json last;
3. read every file's size and SHA-256 back from the device and compare them with the
   image: a partial copy or a file changed since the copy is named and nothing switches;
4. check the staging slot the way the loader will at boot (`slots.check`);
5. replace the loader files at the root that differ, each by write, check, rename
   (rename is atomic on littlefs; the loader reads both slot layouts);
6. commit: write the slot's name to /fw/active.new and rename it onto /fw/active;
7. ask the device again: it must now choose the new slot and version.
Until step 6 /fw/active still names the old slot, whose files were never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seatwatch.edge.flashing.build import MANIFEST_NAME, Artifact, Image
from seatwatch.edge.flashing.device import DeviceError, Progress, RawRepl

SLOTS = ("a", "b")

# device-side helpers, run after firmware/slots.py has been executed in the REPL
# (they use its join, sha256_hex and CHUNK); MicroPython syntax only
_HELPERS = """
def _sw_files(d, names):
    out = {}
    for n in names:
        p = join(d, n)
        try:
            out[n] = [os.stat(p)[6], sha256_hex(p, bytearray(CHUNK))]
        except OSError:
            out[n] = None
    return out

def _sw_clear(d):
    for p in ('/fw', d):
        try:
            os.mkdir(p)
        except OSError:
            pass
    for n in os.listdir(d):
        os.remove(join(d, n))

def _sw_remove(d, names):
    gone = []
    for n in names:
        try:
            os.remove(join(d, n))
            gone.append(n)
        except OSError:
            pass
    return gone

def _sw_put(src, dst):
    os.rename(src, dst)
"""


@dataclass(frozen=True)
class SlotStatus:
    """What the device's loader would choose now (firmware/slots.py `status`)."""
    pointer: str | None                 # the committed slot (/fw/active); None: never committed
    running: str | None                 # the slot that would run; None: no verified slot
    version: str | None
    previous: str | None                # version kept in the other slot for rollback
    problem: str | None
    slots: dict[str, tuple[str | None, str | None]]     # slot -> (version, problem)

    @classmethod
    def parse(cls, data: Any) -> SlotStatus:
        try:
            slots = {name: (data["slots"][name][0], data["slots"][name][1]) for name in SLOTS}
            return cls(data["pointer"], data["running"], data["version"], data["previous"],
                       data["problem"], slots)
        except (KeyError, TypeError, IndexError):
            raise DeviceError(f"unexpected slot status from the device: {data!r}") from None

    @property
    def staging(self) -> str:
        """The slot a new version goes into: never the one running."""
        if self.running is not None:
            return "b" if self.running == "a" else "a"
        return "b" if self.pointer == "a" else "a"

    def describe(self) -> str:
        if self.running is None:
            return "no verified slot" if self.pointer else "no slot yet (files at the root)"
        return f"{self.version} from slot {self.running}"


@dataclass(frozen=True)
class FlashReport:
    files: int
    bytes: int
    version: str
    verified: list[str]                 # device paths whose size and SHA-256 were read back
    slot: str                           # now active
    previous: str | None                # kept in the other slot for rollback
    loader_written: list[str]           # root files that changed
    before: SlotStatus


def read_status(repl: RawRepl) -> SlotStatus:
    return SlotStatus.parse(repl.eval_json("status('/')"))


def _files(repl: RawRepl, directory: str, names: Sequence[str]) -> dict[str, Any]:
    found = repl.eval_json(f"_sw_files({directory!r}, {list(names)!r})")
    if not isinstance(found, dict):
        raise DeviceError(f"unexpected file listing from the device: {found!r}")
    return found


def compare(directory: str, expected: Sequence[Artifact], found: dict[str, Any]) -> list[str]:
    """Device paths whose size and SHA-256 match the image; DeviceError naming the
    first file that does not."""
    verified = []
    for artifact in expected:
        path = directory.rstrip("/") + "/" + artifact.name
        got = found.get(artifact.name)
        if got is None:
            raise DeviceError(f"{path}: missing on the device (copy interrupted?)")
        size, digest = got
        if size != len(artifact.data):
            raise DeviceError(f"{path}: {size} B on the device, {len(artifact.data)} B in the "
                              "image (partial copy)")
        if digest != artifact.sha256.hex():
            what = "manifest differs from the image's" if artifact.name == MANIFEST_NAME else \
                "SHA-256 on the device differs from the image"
            raise DeviceError(f"{path}: {what} (corrupted or changed after the copy)")
        verified.append(path)
    return verified


def _install_loader(repl: RawRepl, image: Image, progress: Progress | None) -> tuple[list[str], list[str]]:
    """Root files that differ: written beside, checked, renamed over (one at a time)."""
    names = [a.name for a in image.loader]
    present = _files(repl, "/", names)
    written = []
    for artifact in image.loader:
        got = present.get(artifact.name)
        if got == [len(artifact.data), artifact.sha256.hex()]:
            continue
        staged = artifact.name + ".new"
        repl.write_file(artifact, progress, dest="/" + staged)
        compare("/", [Artifact(staged, artifact.data)], _files(repl, "/", [staged]))
        repl.exec(f"_sw_put('/{staged}', '/{artifact.name}')")
        written.append(artifact.name)
    verified = compare("/", image.loader, _files(repl, "/", names))
    return verified, written


def install(repl: RawRepl, image: Image, progress: Progress | None = None) -> FlashReport:
    """Steps 1-7 of the module docstring on a device already in the raw REPL."""
    repl.exec(image.slots_source)
    repl.exec(_HELPERS)
    before = read_status(repl)
    slot = before.staging
    directory = f"/fw/{slot}"
    try:
        repl.exec(f"_sw_clear({directory!r})")
        for artifact in image.files:                    # manifest.json is the last one
            repl.write_file(artifact, progress, dest=f"{directory}/{artifact.name}")
        verified = compare(directory, image.files, _files(repl, directory, [a.name for a in image.files]))
        version, problem = repl.eval_json(f"check({directory!r})")
        if problem is not None or version != image.version:
            raise DeviceError(f"{directory}: the device's loader refuses the slot "
                              f"({problem or f'version {version}, image {image.version}'})")
        loader_verified, loader_written = _install_loader(repl, image, progress)
    except DeviceError as exc:
        # a slot the host refused must not become the loader's fallback later: without
        # its manifest it never verifies (best effort: the line may be gone)
        try:
            repl.exec(f"_sw_remove({directory!r}, [{MANIFEST_NAME!r}])")
        except DeviceError:
            pass
        raise DeviceError(f"{exc}; /fw/active not switched: the device keeps "
                          f"{before.describe()}") from None
    repl.exec(f"with open('/fw/active.new', 'w') as f:\n    f.write({slot!r})\n"
              "_sw_put('/fw/active.new', '/fw/active')")
    after = read_status(repl)
    if after.running != slot or after.version != image.version:
        raise DeviceError(f"after the switch the device chooses {after.describe()}, not "
                          f"{image.version} from slot {slot}: {after.problem}")
    # a device flashed before slots kept its modules at the root; the slot shadows
    # them on the import path, but they are dead weight on the flash
    repl.eval_json(f"_sw_remove('/', {[a.name for a in image.files]!r})")
    return FlashReport(len(image.files) + len(image.loader), image.size, image.version,
                       verified + loader_verified, slot, after.previous, loader_written, before)


def flash(port: str, image: Image, progress: Progress | None = None, reset: bool = True) -> FlashReport:
    """Install `image` on the device at `port` (maintenance reboot first if it runs the
    monitor), then reset it into the new version."""
    repl = RawRepl(port)
    try:
        report = install(repl, image, progress)
        if reset:
            repl.reset()
    finally:
        repl.close()
    return report
