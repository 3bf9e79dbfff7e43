"""`juno serve`: start the database, the HTTP app and (later) the scheduler; stop cleanly on
SIGTERM/SIGINT so in-flight requests finish and the embedded database closes its files."""

from __future__ import annotations

import asyncio
import ipaddress
import signal

from aiohttp import web

from bot.http import MAX_ACTIVITY_BYTES, READINESS, build_bot_app
from juno.api.app import MAX_BODY_BYTES
from juno.bot_wiring import bot_config
from juno.errors import OperationError, UserError
from juno.logs import get_logger
from juno.metrics import Metrics
from juno.processor import attach_processor_notices
from juno.rights import API_PREFIX, attach_rights
from juno.runtime import open_db
from juno.settings import Settings
from juno.sync_wiring import attach_sync, build_scheduler
from juno.web import Limits, ServiceState, build_app
from privacy.datamap import validate

log = get_logger("juno.serve")
BOT_PREFIX = "/api/messages"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(settings: Settings, *, started: asyncio.Event | None = None) -> None:
    validate()
    if settings.bot_dev_mode and not is_loopback(settings.host):
        raise UserError(
            f"JUNO_BOT_DEV_MODE=1 accepts unauthenticated activities, so it only binds to "
            f"loopback; refusing JUNO_HOST={settings.host}"
        )
    config = bot_config(settings)
    metrics = Metrics()
    db = await open_db(settings, listeners=[metrics.db])
    if settings.embedded:
        log.warning(
            "no MONGODB_URI configured: using the embedded database, for trying JUNO only",
            server=db.server_name,
            data_dir=str(settings.data_dir),
        )
    limits = Limits(
        bodies=((BOT_PREFIX, MAX_ACTIVITY_BYTES), (API_PREFIX, MAX_BODY_BYTES)),
        body_timeout=settings.body_timeout_seconds,
    )
    state = ServiceState(
        db=db,
        metrics=metrics,
        log=get_logger("juno.web"),
        limits=limits,
        metrics_token=(
            settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
    )
    app = build_app(state)
    scheduler = build_scheduler(db, settings, get_logger("juno.sync"))
    if config is None:
        log.warning(
            "no bot identity (JUNO_BOT_APP_ID) and dev mode off: /api/messages is not served"
        )
    else:
        if config.anonymous:
            log.warning("bot dev mode: /api/messages accepts unauthenticated activities")
        try:
            bot_app = build_bot_app(
                db.db, config, get_logger("juno.bot"), sync_now=scheduler.run_now
            )
            app.add_subapp("/api", bot_app)
            bot_missing = bot_app[READINESS]

            async def bot_ready() -> str | None:
                found = await bot_missing()
                return "; ".join(found) if found else None

            state.checks.append(bot_ready)
        except ValueError as exc:
            await db.close()
            raise UserError(str(exc)) from exc
    # Data-subject rights: /api/v1 and the daily retention job (juno/rights.py).
    try:
        attach_rights(app, db, settings, get_logger("juno.rights"))
    except (UserError, OperationError):
        await db.close()
        raise
    # Graph sync: the per-tenant schedule, and the demo tenant while none has credentials.
    attach_sync(app, db, scheduler, get_logger("juno.sync"), settings)
    # Processor duties: a changed sub-processor list is told to every tenant's admins.
    attach_processor_notices(app, db.db, settings, config, get_logger("juno.processor"))
    # keepalive_timeout doubles as the header timeout: aiohttp closes a connection that has
    # not completed a request's headers this long after it opened or after its last response
    # (slowloris); the default would be an hour. Bodies get JUNO_BODY_TIMEOUT_SECONDS.
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        keepalive_timeout=settings.header_timeout_seconds,
    )
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
