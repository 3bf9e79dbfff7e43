"""The bot's HTTP surface: POST /api/messages, behind the JWT middleware, on the SDK's
CloudAdapter. Malformed requests are answered 400 with a reason before the SDK sees them, and a
failure inside a turn never shows the user anything but a polite, localized message."""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from yarl import URL

from bot.admin_desk import SyncNow
from bot.agent import JunoBot, tenant_of
from bot.auth import jwt_middleware
from bot.config import BotConfig
from bot.i18n import pick_locale, t
from bot.kpi import KpiRecorder
from bot.outbound import close_adapter, connector_adapter
from bot.proactive import Notifier
from bot.throttle import ConnectorThrottled

MAX_ACTIVITY_BYTES = 256 * 1024
BOT = web.AppKey("juno_bot", JunoBot)


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "activity"
    return f"invalid activity: {where}: {first['msg']}"


def _service_url_matches(claims: dict[str, Any] | None, service_url: str | None) -> bool:
    if not claims or "serviceurl" not in claims:
        return True
    claimed, actual = URL(str(claims["serviceurl"])), URL(service_url or "")
    return (claimed.host or "").casefold() == (actual.host or "").casefold() and (
        claimed.port == actual.port
    )


def build_bot_app(
    db: AsyncDatabase[dict[str, Any]],
    config: BotConfig,
    log: Any,
    *,
    sync_now: SyncNow | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[jwt_middleware(config, log)], client_max_size=MAX_ACTIVITY_BYTES
    )
    adapter = connector_adapter(config, log, pooled=True)  # closed in stop_kpis
    if config.anonymous:
        # Without an app id the SDK warns on every turn that its user-token client has none;
        # in dev mode that is expected, not news.
        logging.getLogger(
            "microsoft_agents.hosting.core.connector.client.user_token_client"
        ).setLevel(logging.ERROR)
    kpis = KpiRecorder(db, log)
    notifier = Notifier(adapter, config.app_id, db, log)
    agent = JunoBot(
        db,
        default_locale=config.default_locale,
        log=log,
        kpis=kpis,
        notifier=notifier,
        export=config,
        sync_now=sync_now,
    )
    app[BOT] = agent

    async def start_kpis(_: web.Application) -> None:
        kpis.start()

    async def stop_kpis(_: web.Application) -> None:
        await agent.drain()
        await kpis.stop()
        await close_adapter(adapter)  # the connection pool replies share

    app.on_startup.append(start_kpis)
    app.on_cleanup.append(stop_kpis)

    async def on_turn_error(context: TurnContext, error: Exception) -> None:
        if isinstance(error, aiohttp.ClientResponseError | ConnectorThrottled):
            # The connector refused a reply (after any retries): its answer, not a bug of ours.
            log.warning(
                "reply not delivered",
                tenant=tenant_of(context.activity),
                error=type(error).__name__,
                status=getattr(error, "status", None),
            )
        else:
            log.error(
                "turn failed",
                tenant=tenant_of(context.activity),
                error=type(error).__name__,
                exc_info=error,
            )
        if context.activity.type != "message":
            return
        locale = pick_locale(context.activity.locale, config.default_locale)
        try:
            await context.send_activity(MessageFactory.text(t(locale, "error")))
        except Exception as exc:  # the connector itself may be what failed
            log.warning("could not tell the user about the failure", error=type(exc).__name__)

    adapter.on_turn_error = on_turn_error

    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "the body must be a JSON activity"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        try:
            activity = Activity.model_validate(body)
        except ValidationError as exc:
            return web.json_response({"error": _reason(exc)}, status=400)
        if not activity.conversation or not activity.conversation.id:
            return web.json_response({"error": "invalid activity: conversation.id"}, status=400)
        missing = [
            name
            for name, present in (
                ("serviceUrl", activity.service_url),
                ("from", activity.from_property and activity.from_property.id),
                ("recipient", activity.recipient and activity.recipient.id),
            )
            if not present
        ]
        if missing:
            return web.json_response(
                {"error": f"invalid activity: missing {', '.join(missing)}"}, status=400
            )
        if not _service_url_matches(request.get("jwt_claims"), activity.service_url):
            # Bot Framework binds a token to one serviceUrl; replies must not go elsewhere.
            return web.json_response({"error": "serviceUrl does not match the token"}, status=401)
        try:
            response = await adapter.process(request, agent)
        except Exception as exc:
            log.error("activity processing failed", error=type(exc).__name__, exc_info=exc)
            return web.json_response({"error": "the activity could not be processed"}, status=502)
        return response or web.Response(status=202)

    app.router.add_post("/messages", messages)
    return app
