"""`seatwatch analyze`: run the seat pipeline over a recorded call and print its events.

The contract (docs/analyze.md) is used by acceptance checks: keep it stable.
"""

from __future__ import annotations

import argparse
import ctypes
import sys
from pathlib import Path

from seatwatch.contracts.events import Event, ident_error
from seatwatch.edge.hearing.calibration import CalibrationError
from seatwatch.edge.models.agent_channel import AgentChannel, ModelPaths
from seatwatch.edge.models.loader import ModelError
from seatwatch.edge.pipeline import SeatContext, SeatPipeline
from seatwatch.edge.policy import PolicyError, load_policy
from seatwatch.edge.sources.base import FRAME_SAMPLES
from seatwatch.edge.sources.control import ControlFileError
from seatwatch.edge.sources.wavfile import AudioFileError, WavSource

# Blocks of 10 s: the pipeline gives the events of 100 ms blocks (controls still apply
# on the 100 ms grid, see WavSource) at a fraction of the per-block cost, and the
# keyword spotter runs a block's windows as batches.
BLOCK = FRAME_SAMPLES * 1000
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3      # glibc mallopt options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("audio", type=Path, help="stereo WAV/FLAC: ch0 agent mic, ch1 earpiece")
    parser.add_argument("--control", type=Path, help="JSON call-control signals (docs/analyze.md)")
    parser.add_argument("--policy", type=Path, help="policy TOML (default: policies/default.toml)")
    parser.add_argument("--seat", default="S1", help="seat id put on the events")
    parser.add_argument("--site", default="local", help="site id put on the events")
    parser.add_argument("--models", type=Path, help="folder with kws/rate .tflite + .json (default: models/)")


def analyze(audio: Path, control: Path | None, policy_path: Path | None, seat: str,
            site: str = "local", models: Path | None = None) -> list[Event]:
    """The events of one recording, in order. Raises the input errors for the CLI to print."""
    policy = load_policy(policy_path)
    source = WavSource(audio, control, block=BLOCK, stream=True)
    ctx = SeatContext(site=site, seat=seat, device="replay", file_times=True,
                      hook_known=control is not None)
    events: list[Event] = []
    channel = AgentChannel(ModelPaths(models)) if models else None
    pipeline = SeatPipeline(ctx, policy, events.append, models=channel)
    for item in source.items():
        pipeline.feed(item)
    pipeline.finish()
    return events


def truncation(path: Path) -> str | None:
    """Why a WAV file is cut short (its header promises more audio than it holds), or None.

    libsndfile reads what is there without a word, so a recording cut off by a full disk
    or a copy that stopped early would be judged as a shorter call. Other formats: None.
    """
    try:
        with open(path, "rb") as file:
            head = file.read(12)
            if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
                return None
            size = file.seek(0, 2)
            offset, rate_bytes, align = 12, 0, 1
            while offset + 8 <= size:
                file.seek(offset)
                chunk = file.read(8)
                name, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
                if name == b"fmt ":
                    fmt = file.read(16)
                    if len(fmt) == 16:
                        rate_bytes = int.from_bytes(fmt[8:12], "little")
                        align = max(1, int.from_bytes(fmt[12:14], "little"))
                elif name == b"data":
                    if head[:4] == b"RF64" or length in (0, 0xFFFFFFFF):
                        return None            # length unknown (streamed WAV, RF64)
                    held = size - offset - 8
                    if held >= length:
                        return None
                    held -= held % align
                    if rate_bytes:
                        return (f"{path} is cut short: its header declares "
                                f"{length / rate_bytes:.1f} s of audio, the file holds "
                                f"{held / rate_bytes:.1f} s (the rest is analysed as if the "
                                "call ended there)")
                    return f"{path} is cut short: {held} of its {length} audio bytes are there"
                offset += 8 + length + (length & 1)
            return None
    except OSError:
        return None                             # the reader says what is wrong


def keep_freed_memory() -> None:
    """glibc hands big freed blocks straight back to the system (mmap/munmap, heap trim),
    so every 10 s block's arrays fault their pages in again: ~2 s of system time on a
    38-minute call, 15 % of the run. Keep them for the next block instead (the peak
    memory is the same). Linux/glibc only; elsewhere nothing changes."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    for option, value in ((M_MMAP_THRESHOLD, 32 << 20), (M_TRIM_THRESHOLD, 256 << 20),
                          (M_TOP_PAD, 16 << 20)):
        libc.mallopt(option, value)


def run(args: argparse.Namespace) -> int:
    for name in ("seat", "site"):   # before the file is read: the contract's one id rule
        problem = ident_error(getattr(args, name), f"--{name}")
        if problem:
            print(f"seatwatch analyze: {problem}", file=sys.stderr)
            return 2
    keep_freed_memory()
    cut = truncation(args.audio)
    if cut:
        print(f"seatwatch analyze: warning: {cut}", file=sys.stderr)
    try:
        events = analyze(args.audio, args.control, args.policy, args.seat, args.site, args.models)
    except (AudioFileError, ControlFileError, PolicyError, ModelError, CalibrationError) as exc:
        print(f"seatwatch analyze: {exc}", file=sys.stderr)
        return 2
    for event in events:
        print(event.to_json())
    return 0
