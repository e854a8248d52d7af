"""One seat's streaming pipeline: source items in, schema-v1 events out.

    source -> levels / VAD / features (once per channel) -> models -> conversation
    dynamics -> call state -> rules -> emit(Event), led(pattern)

Pure: no sockets, no threads, no wall clock. Time is the source's sample clock, so a
replayed file and a live device give the same events. The daemon, `analyze` and the
demo all drive this same class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edge.events import Event
from edge.policy import Policy
from edge.sources.base import PIPELINE_RATE, AudioBlock, ControlEvent, SourceGap, SourceItem

Emit = Callable[[Event], None]
Led = Callable[[str], None]


@dataclass(frozen=True)
class SeatContext:
    site: str                       # site id (topic level)
    seat: str                       # seat id (topic level)
    device: str                     # device id (serial number, or "replay")
    agent: str | None = None        # agent id, for per-agent hearing dose and reports
    headset: str = "generic"        # calibration profile name
    file_times: bool = False        # add `t` (seconds from stream start) to events (analyze)


class SeatPipeline:
    def __init__(self, ctx: SeatContext, policy: Policy, emit: Emit,
                 led: Led | None = None) -> None:
        self.ctx, self.policy, self._emit = ctx, policy, emit
        self._led = led or (lambda pattern: None)
        self.clock = 0                   # samples seen so far (sample clock)
        self.call_id: str | None = None
        self.off_hook_at: int | None = None
        self._calls = 0

    # --- input ---------------------------------------------------------------------------
    def feed(self, item: SourceItem) -> None:
        if isinstance(item, AudioBlock):
            self.clock = item.sample + len(item.pcm)
        elif isinstance(item, ControlEvent):
            self._control(item)
        elif isinstance(item, SourceGap):
            self.emit("device_fault", item.sample, {"kind": "audio_lost",
                                                    "lost_s": item.samples / PIPELINE_RATE,
                                                    "reason": item.reason})

    def finish(self) -> None:
        """End of stream: close an open call as if the agent hung up."""
        if self.call_id is not None:
            self._control(ControlEvent(self.clock, "on_hook"))

    # --- output --------------------------------------------------------------------------
    def emit(self, type_: str, sample: int, data: dict[str, object],
             severity: str | None = None) -> Event:
        t_call = None
        if self.off_hook_at is not None and self.call_id is not None:
            t_call = max(0.0, (sample - self.off_hook_at) / PIPELINE_RATE)
        event = Event.new(type_, site=self.ctx.site, seat=self.ctx.seat, device=self.ctx.device,
                          call=self.call_id, t_call=t_call, data=data, severity=severity,
                          t=sample / PIPELINE_RATE if self.ctx.file_times else None)
        self._emit(event)
        return event

    # --- call state (deepened by the rule engine) ----------------------------------------
    def _control(self, event: ControlEvent) -> None:
        if event.kind == "off_hook" and self.call_id is None:
            self._calls += 1
            self.call_id = f"{self.ctx.seat}-{event.sample // PIPELINE_RATE}-{self._calls}"
            self.off_hook_at = event.sample
            self.emit("call_started", event.sample, {})
        elif event.kind == "on_hook" and self.call_id is not None:
            assert self.off_hook_at is not None
            duration = (event.sample - self.off_hook_at) / PIPELINE_RATE
            self.emit("call_ended", event.sample, {"scorecard": {"duration_s": round(duration, 2)}})
            self.call_id, self.off_hook_at = None, None
        elif event.kind == "button":
            self.emit("assist_requested", event.sample, {})
