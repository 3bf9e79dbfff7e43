"""aiohttp apps served on their own event loop in a daemon thread, so a `juno serve` subprocess
(or the service's own client code) can call them while a test waits on something else."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Sequence

from aiohttp import web


class ThreadedSites:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, apps: Sequence[tuple[web.Application, ssl.SSLContext | None]]) -> list[int]:
        """Serve each app on a free port (TLS when given a context); returns the ports."""
        ready = threading.Event()
        ports: list[int] = []

        async def main() -> None:
            self._stop = asyncio.Event()
            runners = []
            for app, context in apps:
                runner = web.AppRunner(app, access_log=None)
                await runner.setup()
                site = web.TCPSite(runner, self.host, 0, ssl_context=context)
                await site.start()
                ports.append(runner.addresses[0][1])
                runners.append(runner)
            ready.set()
            await self._stop.wait()
            for runner in runners:
                await runner.cleanup()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(main())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("test servers did not start")
        return ports

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)
