"""`juno serve`: start the database, the HTTP app and (later) the scheduler; stop cleanly on
SIGTERM/SIGINT so in-flight requests finish and the embedded database closes its files."""

from __future__ import annotations

import asyncio
import ipaddress
import signal

from aiohttp import web

from juno.errors import UserError
from juno.logs import get_logger
from juno.runtime import open_db
from juno.settings import Settings
from juno.web import ServiceState, build_app
from privacy.datamap import validate

log = get_logger("juno.serve")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(settings: Settings, *, started: asyncio.Event | None = None) -> None:
    validate()
    db = await open_db(settings)
    if settings.embedded:
        log.warning(
            "no MONGODB_URI configured: using the embedded database, for trying JUNO only",
            server=db.server_name,
            data_dir=str(settings.data_dir),
        )
    state = ServiceState(db=db)
    runner = web.AppRunner(build_app(state), handle_signals=False, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, settings.host, settings.port, shutdown_timeout=10)
        try:
            await site.start()
        except OSError as exc:
            raise UserError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}"
            ) from exc
        state.ready = True
        log.info("juno serving", host=settings.host, port=settings.port, database=db.server_name)
        if started is not None:
            started.set()
        await stop.wait()
        log.info("shutting down")
        state.ready = False
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await db.close()
        log.info("stopped")
