"""Wiring for data-subject rights in `juno serve`: the /api/v1 sub-app and the retention job,
attached to the service's application so they start and stop with it. Kept here so serve.py
gains one call rather than the details."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from aiohttp import web

from bot.outcomes import deliver_queued, notifier_for
from juno.api import EntraTokens, build_api_app
from juno.bot_wiring import bot_config
from juno.jobs import RetentionJob
from juno.keys import pseudonym_key, signing_key
from juno.settings import Settings
from storage import Database

API_PREFIX = "/api/v1"


OUTBOX_EVERY_SECONDS = 15.0


def attach_outbox(app: web.Application, db: Database, settings: Settings, log: Any) -> None:
    """Deliver what `juno dsr` queued for requesters (bot.outcomes), while the service has
    the bot's identity to send it with."""
    config = bot_config(settings)
    if config is None:
        return
    notifier = notifier_for(config, db.db, log)
    task: asyncio.Task[None] | None = None

    async def loop() -> None:
        while True:
            try:
                await deliver_queued(db.db, notifier)
            except Exception as exc:  # the next pass tries again
                log.warning("queued messages not delivered", error=type(exc).__name__)
            await asyncio.sleep(OUTBOX_EVERY_SECONDS)

    async def start(_: web.Application) -> None:
        nonlocal task
        task = asyncio.create_task(loop(), name="outbox")

    async def stop(_: web.Application) -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


def attach_rights(app: web.Application, db: Database, settings: Settings, log: Any) -> None:
    """Mount the API and schedule retention sweeps. Raises UserError/OperationError (one line)
    when a key is unusable, before anything is served."""
    tokens = EntraTokens(
        db.db, authority_host=settings.authority_host, audiences=settings.api_audiences
    )
    if not tokens.audiences:
        log.warning("no JUNO_API_AUDIENCE or JUNO_BOT_APP_ID: /api/v1/me/* answers 503")
    api = build_api_app(db.db, tokens=tokens, signing_key=signing_key(settings, log), log=log)
    app.add_subapp(API_PREFIX, api)
    attach_outbox(app, db, settings, log)
    if not settings.retention_job:
        log.info("retention job off (JUNO_RETENTION_JOB=0): run `juno retention run` from cron")
        return
    job = RetentionJob(
        db.db,
        key=pseudonym_key(settings, log),
        interval=timedelta(hours=settings.retention_interval_hours),
        grace_days=settings.soft_delete_grace_days,
        log=log,
    )

    async def start(_: web.Application) -> None:
        job.start()

    async def stop(_: web.Application) -> None:
        await job.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
