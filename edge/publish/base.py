"""What the pipeline hands its events to. The daemon's MQTT publisher, analyze's stdout
printer and tests' collectors all implement this."""

from __future__ import annotations

from typing import Protocol

from seatwatch.contracts.events import Event


class Publisher(Protocol):
    def publish(self, event: Event) -> None:
        """Accept an event durably (or raise); delivery may happen later."""
        ...

    def close(self) -> None:
        ...
