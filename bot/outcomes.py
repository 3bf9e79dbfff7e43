"""Telling a requester what became of their data-subject request, in their language, from any
process that decides it (the admin desk, the `juno dsr` CLI).

One path for all of them: a proactive message in the person's stored conversation. A process
that cannot send it itself (`juno dsr` on a host without the bot's identity, or Teams out of
reach) queues it in `outbox`, and `juno serve` delivers it (`deliver_queued`), so a decision
made anywhere reaches the requester the way the desk's do.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.config import BotConfig
from bot.i18n import t
from bot.outbound import connector_adapter
from bot.proactive import Notifier
from privacy.dsr import DsrRequest, DsrStatus, DsrType
from storage.repositories import TenantRegistry, TenantStore

QUEUED_DAYS = 7


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
    return await _tell(notifier, tenant_id, request.user_id, key, values)


async def _tell(
    notifier: Notifier, tenant_id: str, user_id: str, key: str, values: dict[str, str]
) -> bool:
    async def compose(context: TurnContext, locale: str) -> None:
        await context.send_activity(MessageFactory.text(t(locale, key, **values)))

    return await notifier.send(tenant_id, user_id, compose)


async def queue_for_requester(
    store: TenantStore, request: DsrRequest, key: str, values: dict[str, str]
) -> bool:
    """Queue the message for `juno serve` to deliver; False when the person has never talked
    to JUNO (no conversation to deliver it in, so nothing is kept)."""
    if await store.conversations.get(request.user_id) is None:
        return False
    now = datetime.now(UTC)
    await store.outbox.put_once(
        secrets.token_hex(8),
        {
            "user_id": request.user_id,
            "key": key,
            "values": values,
            "created_at": now,
            "expires_at": now + timedelta(days=QUEUED_DAYS),
        },
    )
    return True


async def deliver_queued(db: AsyncDatabase[dict[str, Any]], notifier: Notifier) -> int:
    """Send every queued message of every tenant; each one delivered is removed, the others
    wait for the next pass (or their expiry). Returns how many were delivered."""
    delivered = 0
    for record in await TenantRegistry(db).list_all():
        store = TenantStore(db, record.tenant_id)
        prefix = len(record.tenant_id) + 1
        for doc in await store.outbox.find({}):
            values = doc.get("values")
            key = doc.get("key")
            user_id = doc.get("user_id")
            if not isinstance(key, str) or not isinstance(user_id, str):
                continue
            told = await _tell(
                notifier,
                record.tenant_id,
                user_id,
                key,
                {str(k): str(v) for k, v in (values or {}).items()},
            )
            if told:
                await store.outbox.delete(str(doc["_id"])[prefix:])
                delivered += 1
    return delivered
