"""JUNO on the Agents SDK's `AgentApplication`: which route answers which activity.

- `before_turn`: the gate (bot.gate): trusted identity, enabled tenant, de-duplication, the
  caller's `Turn`, the conversation reference.
- a card's Action.Submit (`adaptive_card.action_submit` on the cards' `juno` field) and any
  other message: parsed by bot.commands, checked against the consent gate, and answered by
  the flow that declares the command (bot.flows).
- the bot added to a conversation or installed: the welcome.
- invokes: a file consent answer, the compose-box search, and an empty answer to the rest.
- `error`: one log line, and a polite message in the user's language (never a trace).

The SDK's own state is configured off (bot.turn.JunoState, bot.state.NoStorage): JUNO's
state lives in tenant-scoped MongoDB stores. So is its typing indicator, which would add a
reply per turn.
"""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from microsoft_agents.activity import ActivityTypes
from microsoft_agents.hosting.core import (
    AgentApplication,
    ApplicationOptions,
    MessageFactory,
    RouteRank,
    TurnContext,
    TurnState,
)
from pymongo.asynchronous.database import AsyncDatabase

from bot.admin_alerts import AdminAlerts
from bot.commands import ALWAYS_ALLOWED, Command, Request, parse
from bot.config import BotConfig
from bot.delivery import ExportDelivery
from bot.flows import Routes, consent, directory, welcome
from bot.flows.admin import AdminDesk, SyncNow
from bot.flows.export import ExportFlow
from bot.flows.rectification import RectificationFlow
from bot.flows.rights import RightsFlow
from bot.gate import TurnGate, answer_invoke
from bot.i18n import pick_locale, t
from bot.identity import tenant_of
from bot.kpi import KpiRecorder
from bot.outbound import BotConnections, OutboundTokenError
from bot.proactive import Notifier
from bot.state import NoStorage
from bot.tasks import BackgroundTasks
from bot.tenants import TenantCache
from bot.throttle import ConnectorThrottled
from bot.turn import JunoState, Turn
from privacy.consent import standing

# Every card button's verb: bot.commands.parse maps it (an unknown one to Command.UNKNOWN).
_ANY_VERB = re.compile("")
_ROUTED_TYPES = (ActivityTypes.message, ActivityTypes.invoke)
_DELIVERY = aiohttp.ClientError | ConnectorThrottled | OutboundTokenError | TimeoutError


class Commands:
    """Sends a parsed request to the flow that declares its command, behind the consent gate:
    until the user has acknowledged the notice and accepted the terms, only the always-allowed
    commands run."""

    def __init__(self, *flows: Routes) -> None:
        self._routes: Routes = {}
        for routes in flows:
            twice = self._routes.keys() & routes.keys()
            if twice:
                raise ValueError(f"commands with two flows: {sorted(twice)}")
            self._routes.update(routes)
        missing = set(Command) - self._routes.keys()
        if missing:
            raise ValueError(f"commands without a flow: {sorted(missing)}")

    async def run(self, turn: Turn, request: Request) -> None:
        if request.command not in ALWAYS_ALLOWED:
            current = await standing(turn.store, turn.user_id)
            if not current.complete:
                await turn.say(t(turn.locale, "needs_consent"))
                await consent.send_documents(turn, current)
                await turn.kpi("gated")
                return
        await self._routes[request.command](turn, request)
        await turn.kpi(request.command.value)


def build_application(
    db: AsyncDatabase[dict[str, Any]],
    config: BotConfig,
    log: Any,
    *,
    connections: BotConnections,
    kpis: KpiRecorder,
    notifier: Notifier | None,
    tasks: BackgroundTasks,
    sync_now: SyncNow | None = None,
) -> AgentApplication[JunoState]:
    tenants = TenantCache(db)
    delivery = ExportDelivery(db, config, notifier, tasks, log)
    alerts = AdminAlerts(db, notifier)
    export = ExportFlow(delivery)
    desk = AdminDesk(
        db,
        notifier=notifier,
        delivery=delivery,
        tasks=tasks,
        tenants=tenants,
        sync_now=sync_now,
        pseudonym_key=config.pseudonym_key,
        authority_host=config.authority_host,
        deployment=config.deployment,
        subprocessors=config.subprocessors,
    )
    commands = Commands(
        welcome.ROUTES,
        consent.ROUTES,
        directory.ROUTES,
        export.routes(),
        RightsFlow(alerts).routes(),
        RectificationFlow(alerts).routes(),
        desk.routes(),
    )
    app = AgentApplication[JunoState](
        ApplicationOptions(
            storage=NoStorage(),
            turn_state_factory=JunoState,
            start_typing_timer=False,
        ),
        connection_manager=connections,
    )
    app.before_turn(
        TurnGate(
            db,
            tenants,
            kpis,
            channels=config.channels,
            default_locale=config.default_locale,
            log=log,
        )
    )

    @app.adaptive_card.action_submit(_ANY_VERB, submit_filter="juno")
    async def on_card_submit(context: TurnContext, state: TurnState, data: object) -> None:
        # The SDK types this handler's state as its base class; it is the factory's JunoState.
        if not isinstance(state, JunoState):
            raise TypeError("turn state is not JUNO's")
        await commands.run(state.turn, parse(None, data))

    @app.message()
    async def on_message(context: TurnContext, state: JunoState) -> None:
        # The SDK has already taken the bot's @mention out of the text.
        await commands.run(state.turn, parse(context.activity.text, context.activity.value))

    @app.members_added()
    async def on_members_added(context: TurnContext, state: JunoState) -> None:
        recipient = context.activity.recipient.id if context.activity.recipient else None
        if any(m.id == recipient for m in context.activity.members_added or []):
            await welcome.first_contact(state.turn)

    @app.installation_update()
    async def on_installed(context: TurnContext, state: JunoState) -> None:
        if (context.activity.action or "").startswith("add"):
            await welcome.first_contact(state.turn)

    @app.invoke("fileConsent/invoke")
    async def on_file_consent(context: TurnContext, state: JunoState) -> None:
        await export.file_consent(state.turn)
        await answer_invoke(context, {})

    @app.invoke("composeExtension/query")
    async def on_compose_query(context: TurnContext, state: JunoState) -> None:
        await answer_invoke(context, await directory.compose_query(state.turn))

    @app.invoke()
    async def on_other_invoke(context: TurnContext, state: JunoState) -> None:
        await answer_invoke(context, {})

    async def ignore(context: TurnContext, state: JunoState) -> None:
        """Typing, reactions, members leaving: nothing to answer."""

    app.add_route(
        lambda context: context.activity.type not in _ROUTED_TYPES, ignore, rank=RouteRank.LAST
    )

    @app.error
    async def on_error(context: TurnContext, error: Exception) -> None:
        if isinstance(error, _DELIVERY):
            # The connector refused a reply (after any retries), the chat is gone (deleted, a
            # client that went away), or Entra gave no token for it: their answer or an outage,
            # not a bug of ours; one line, no traceback.
            log.warning(
                "reply not delivered",
                tenant=tenant_of(context.activity),
                error=type(error).__name__,
                status=getattr(error, "status", None),
            )
            gone = isinstance(error, aiohttp.ClientConnectionError) or (
                getattr(error, "status", None) == 404
            )
            if gone:
                return  # the chat no longer exists: telling the user would go the same way
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

    return app
