"""An MQTT broker inside this process (amqtt, MQTT 3.1.1) for the demo: nothing to install.

Production and tests use mosquitto; the demo only needs something on localhost.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedBroker:
    """amqtt on a localhost port, served from a background thread's event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.host, self.port = host, port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _config(self) -> dict[str, Any]:
        return {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}",
                                      "max_connections": 2000}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin":
                        {"allow_anonymous": True}},
        }

    def _serve(self) -> None:
        from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        # amqtt logs a traceback for every client that hangs up mid-handshake (paho
        # probing MQTT 5, a port scan); those are not the demo's errors.
        loop.set_exception_handler(lambda loop, context: log.debug("amqtt: %s", context))
        self._loop = loop
        asyncio.set_event_loop(loop)

        async def start() -> None:
            self._broker = Broker(self._config())
            await self._broker.start()

        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to start() in the caller's thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._broker.shutdown())
        loop.close()

    def start(self, timeout: float = 10.0) -> EmbeddedBroker:
        # amqtt logs every connection at INFO; the demo's console owns the terminal.
        logging.getLogger("amqtt").setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._serve, name="amqtt", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"embedded broker did not start on {self.url}")
        if self._error is not None:
            raise RuntimeError(f"embedded broker failed on {self.url}: {self._error}")
        log.info("embedded MQTT broker on %s", self.url)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
