"""Telling a requester what became of their data-subject request, in their language, from any
process that decides it (the `juno dsr` CLI, later the admin cards)."""

from __future__ import annotations

from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.config import BotConfig
from bot.i18n import t
from bot.outbound import connector_adapter
from bot.proactive import Notifier
from privacy.dsr import DsrRequest, DsrStatus, DsrType


def notifier_for(config: BotConfig, db: AsyncDatabase[dict[str, Any]], log: Any) -> Notifier:
    return Notifier(connector_adapter(config, log), config.app_id, db, log)


def outcome_message(request: DsrRequest) -> tuple[str, dict[str, str]] | None:
    if request.status is DsrStatus.REJECTED:
        return "dsr_rejected", {"id": request.id, "reason": request.reason or "-"}
    if request.type is DsrType.RECTIFICATION and request.status is DsrStatus.COMPLETED:
        return "dsr_rectification_done", {"id": request.id}
    if request.type is DsrType.ACCESS and request.status is DsrStatus.COMPLETED:
        return "dsr_completed", {"id": request.id}
    if request.status is DsrStatus.APPROVED:
        return "dsr_approved", {"id": request.id}
    return None


async def tell_requester(
    notifier: Notifier, tenant_id: str, request: DsrRequest, key: str, values: dict[str, str]
) -> bool:
    async def compose(context: TurnContext, locale: str) -> None:
        await context.send_activity(MessageFactory.text(t(locale, key, **values)))

    return await notifier.send(tenant_id, request.user_id, compose)
