"""The bot's HTTP surface: POST /api/messages, behind the JWT middleware, on the SDK's
CloudAdapter and the application's routes (bot.app). Malformed requests are answered 400 with
a reason before the SDK sees them, and a failure inside a turn never shows the user anything
but a polite, localized message (bot.app's error handler)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from microsoft_agents.activity import Activity
from microsoft_agents.hosting.core import AgentApplication
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase
from yarl import URL

from bot.app import build_application
from bot.auth import TokenValidator, jwt_middleware
from bot.config import BotConfig
from bot.flows.admin import SyncNow
from bot.identity import bounded, refusal, tenant_of
from bot.kpi import KpiRecorder
from bot.outbound import BotConnections, OutboundTokenError, close_adapter, connector_adapter
from bot.proactive import Notifier
from bot.tasks import BackgroundTasks
from bot.turn import JunoState
from storage.repositories import TenantStore

MAX_ACTIVITY_BYTES = 256 * 1024
BOT: web.AppKey[AgentApplication[JunoState]] = web.AppKey("juno_bot")
READINESS: web.AppKey[Callable[[], Awaitable[list[str]]]] = web.AppKey("juno_bot_readiness")


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "activity"
    return f"invalid activity: {where}: {first['msg']}"


def _normal_url(value: str) -> str:
    """A URL as compared for equality: scheme and host case-folded, default port explicit,
    one trailing slash ignored. Query and fragment are kept, so they must match too."""
    url = URL(value)
    path = url.raw_path.rstrip("/")
    rest = (f"?{url.raw_query_string}" if url.raw_query_string else "") + (
        f"#{url.raw_fragment}" if url.raw_fragment else ""
    )
    return f"{(url.scheme or '').lower()}://{(url.raw_host or '').lower()}:{url.port}{path}{rest}"


def service_url_refusal(claims: dict[str, Any] | None, service_url: str | None) -> str | None:
    """Bot Framework binds a channel token to one serviceUrl (its `serviceurl` claim); replies
    go to the activity's serviceUrl, so the two must be the same URL. None when they are, or
    when there are no claims at all (dev mode's anonymous activities)."""
    if claims is None:
        return None
    claimed = claims.get("serviceurl")
    if not isinstance(claimed, str) or not claimed:
        return "the token has no serviceurl claim"
    try:
        same = _normal_url(claimed) == _normal_url(service_url or "")
    except ValueError:
        same = False
    return None if same else "serviceUrl does not match the token"


def build_bot_app(
    db: AsyncDatabase[dict[str, Any]],
    config: BotConfig,
    log: Any,
    *,
    sync_now: SyncNow | None = None,
) -> web.Application:
    validator = None if config.anonymous else TokenValidator(config)
    # The root application's client_max_size is what aiohttp enforces (juno/web.py applies
    # MAX_ACTIVITY_BYTES to this route); this one only documents the intent.
    app = web.Application(
        middlewares=[jwt_middleware(config, log, validator)], client_max_size=MAX_ACTIVITY_BYTES
    )
    connections = BotConnections(config)
    # Replies share one connection pool to the connector, closed in stop_kpis.
    adapter = connector_adapter(config, log, connections=connections, pooled=True)

    async def readiness_gaps() -> list[str]:
        """What the bot lacks to serve turns (for /readyz); empty when ready."""
        found = [await connections.problem()]
        if validator is not None:
            found.append(await validator.keys.problem())
        return [reason for reason in found if reason is not None]

    app[READINESS] = readiness_gaps
    if config.anonymous:
        # Without an app id the SDK warns on every turn that its user-token client has none;
        # in dev mode that is expected, not news.
        logging.getLogger(
            "microsoft_agents.hosting.core.connector.client.user_token_client"
        ).setLevel(logging.ERROR)
    kpis = KpiRecorder(db, log)
    notifier = Notifier(adapter, config.app_id, db, log)
    tasks = BackgroundTasks()
    agent = build_application(
        db,
        config,
        log,
        connections=connections,
        kpis=kpis,
        notifier=notifier,
        tasks=tasks,
        sync_now=sync_now,
    )
    app[BOT] = agent

    async def start_kpis(_: web.Application) -> None:
        kpis.start()

    async def stop_kpis(_: web.Application) -> None:
        await tasks.drain()
        await kpis.stop()
        await close_adapter(adapter)  # the connection pool replies share

    app.on_startup.append(start_kpis)
    app.on_cleanup.append(stop_kpis)

    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError, RecursionError):
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
        mismatch = service_url_refusal(request.get("jwt_claims"), activity.service_url)
        if mismatch is not None:
            log.warning("activity refused", reason=mismatch)
            return web.json_response({"error": mismatch}, status=401)
        untrusted = refusal(activity, config.channels)
        if untrusted is not None:
            # A genuine connector token with an identity Teams did not vouch for (another
            # channel, a tenant only in channelData, no aadObjectId): 403, audited, bounded.
            sender = activity.from_property
            log.warning(
                "activity refused",
                reason=untrusted,
                channel=bounded(activity.channel_id or ""),
                tenant=bounded(tenant_of(activity) or ""),
            )
            await TenantStore(db, "unknown").audit_log.record(
                actor=bounded(sender.id if sender else ""),
                action="refused_identity",
                target=bounded(tenant_of(activity) or ""),
                outcome=f"refused: {untrusted}, channel " + bounded(activity.channel_id or "", 32),
            )
            return web.json_response({"error": f"activity refused: {untrusted}"}, status=403)
        try:
            response = await adapter.process(request, agent)
        except OutboundTokenError as exc:
            # The SDK builds the reply client before the turn, so with Entra unreachable (after
            # bot.outbound's retries) nothing ran: 503, and the channel may deliver it again.
            log.warning("reply not delivered", error=type(exc).__name__, reason=str(exc))
            return web.json_response(
                {"error": "the bot cannot reply right now; try again later"},
                status=503,
                headers={"Retry-After": "10"},
            )
        except Exception as exc:
            log.error("activity processing failed", error=type(exc).__name__, exc_info=exc)
            return web.json_response({"error": "the activity could not be processed"}, status=502)
        return response or web.Response(status=202)

    app.router.add_post("/messages", messages)
    return app
