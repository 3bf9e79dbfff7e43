"""`juno serve`: start the database, the HTTP app and (later) the scheduler; stop cleanly on
SIGTERM/SIGINT so in-flight requests finish and the embedded database closes its files."""

from __future__ import annotations

import asyncio
import ipaddress
import signal

from aiohttp import web

from bot.config import BotConfig
from bot.http import MAX_ACTIVITY_BYTES, READINESS, build_bot_app
from juno.api.app import MAX_BODY_BYTES
from juno.deployment import bot_auth_kind, bot_identity_problem
from juno.errors import OperationError, UserError
from juno.keys import pseudonym_key, signing_key
from juno.legal import deployment_subprocessors
from juno.logs import get_logger
from juno.metrics import Metrics
from juno.processor import attach_processor_notices, deployment
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


def bot_config(settings: Settings) -> BotConfig | None:
    """The bot's identity, or None when there is none and dev mode is off (then /api/messages
    is not served at all rather than served unauthenticated)."""
    if not settings.bot_app_id and not settings.bot_dev_mode:
        return None
    problem = bot_identity_problem(settings)  # juno/deployment.py: the two identity kinds
    if problem:
        raise UserError(problem)
    kind = bot_auth_kind(settings)
    secret = settings.bot_app_secret if kind == "client_secret" else None
    cert = settings.bot_cert_path if kind == "certificate" else None
    return BotConfig(
        app_id=settings.bot_app_id or None,
        app_secret=secret.get_secret_value() if secret else None,
        cert_path=str(cert) if cert else None,
        tenant_id=settings.bot_tenant_id,
        auth_type=kind,
        openid_metadata_url=settings.bot_openid_metadata_url,
        authority_host=settings.authority_host,
        dev_mode=settings.bot_dev_mode,
        # Dev mode serves only loopback clients such as `juno chat`, whose serviceUrl is local.
        validate_service_url=settings.bot_validate_service_url and not settings.bot_dev_mode,
        default_locale=settings.default_locale,
        public_base_url=settings.public_base_url or f"http://{settings.host}:{settings.port}",
        signing_key=signing_key(settings, get_logger("juno.keys")),
        pseudonym_key=pseudonym_key(settings, get_logger("juno.keys")),
        export_link_hours=settings.export_link_ttl_hours,
        channels=tuple(c.strip() for c in settings.bot_channels.split(",") if c.strip()),
        subprocessors=deployment_subprocessors(settings),
        deployment=deployment(settings),
    )


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
