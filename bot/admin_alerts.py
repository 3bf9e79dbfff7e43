"""Telling a tenant's admins, each in their own language, outside their own turn: a request
waits for them, an incident, or a change of sub-processors. Composed here so every process
that decides one (`juno incident`, `juno serve` at start, the bot's turns) tells them the same
way."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.cards.blocks import attachment
from bot.cards.processor import incident_card, subprocessors_card
from bot.i18n import t
from bot.proactive import Notifier
from privacy.incidents import EventKind, Incident, record_notification
from privacy.subprocessors import SubProcessor
from storage.repositories import TenantRecord, TenantRegistry, TenantStore


class AdminAlerts:
    """A new request, told to every admin of its tenant."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], notifier: Notifier | None) -> None:
        self._registry = TenantRegistry(db)
        self._notifier = notifier

    async def tell(
        self, tenant_id: str, key: str, labels: dict[str, str] | None = None, **values: str
    ) -> None:
        """`labels` are catalog keys (a field's name), put in each admin's own language."""
        tenant = await self._registry.get(tenant_id)  # fresh: admins change
        if tenant is None or self._notifier is None:
            return

        async def compose(context: TurnContext, locale: str) -> None:
            named = {name: t(locale, label) for name, label in (labels or {}).items()}
            await context.send_activity(MessageFactory.text(t(locale, key, **values, **named)))

        for admin_id in tenant.admin_ids:
            await self._notifier.send(tenant_id, admin_id, compose)


async def tell_incident(
    notifier: Notifier | None,
    store: TenantStore,
    tenant: TenantRecord,
    incident: Incident,
    about: EventKind,
    *,
    now: datetime | None = None,
    record_failure: bool = True,
) -> Incident:
    """Tell every admin of the tenant, in their language, and record the notification (the
    first one that reaches somebody starts the controller's 72 hours); a notice that reached
    nobody is left pending for `juno serve` to retry (a retry that fails again records
    nothing, with `record_failure=False`). Returns the incident as recorded afterwards."""
    at = now or datetime.now(UTC)
    admins = tenant.admin_ids
    shown = incident.told_at(at, told=len(admins), admins=len(admins), about=about)
    key = {
        EventKind.OPENED: "incident_told_opened",
        EventKind.UPDATED: "incident_told_updated",
        EventKind.CLOSED: "incident_told_closed",
    }[about]

    async def compose(context: TurnContext, locale: str) -> None:
        await context.send_activity(MessageFactory.text(t(locale, key, id=incident.id)))
        card = incident_card(shown, locale, at)
        await context.send_activity(MessageFactory.attachment(attachment(card)))

    told = 0
    if notifier is not None:
        for admin_id in admins:
            if await notifier.send(store.tenant_id, admin_id, compose):
                told += 1
    if not told and not record_failure:
        return incident
    return await record_notification(
        store, incident.id, about=about, told=told, admins=len(admins), now=at
    )


async def tell_subprocessors(
    notifier: Notifier,
    tenant: TenantRecord,
    subprocessors: Sequence[SubProcessor],
    previous: Sequence[str] | None = None,
) -> int:
    """Tell the tenant's admins the list changed (what is new, what went, given the names they
    were told before; None: they were never told, so this is the list itself), with the list;
    returns how many were told."""
    names = [s.name for s in subprocessors]
    added = [n for n in names if previous is not None and n not in previous]
    removed = [n for n in previous or () if n not in names]

    async def compose(context: TurnContext, locale: str) -> None:
        first = previous is None
        lines = [t(locale, "subprocessors_first" if first else "subprocessors_changed")]
        if added:
            lines.append(t(locale, "subprocessors_added", names="; ".join(added)))
        if removed:
            lines.append(t(locale, "subprocessors_removed", names="; ".join(removed)))
        await context.send_activity(MessageFactory.text(" ".join(lines)))
        card = subprocessors_card(subprocessors, locale)
        await context.send_activity(MessageFactory.attachment(attachment(card)))

    told = 0
    for admin_id in tenant.admin_ids:
        if await notifier.send(tenant.tenant_id, admin_id, compose):
            told += 1
    return told
