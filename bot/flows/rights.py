"""A person's data rights in Teams: asking for erasure (the export and the correction of
one's profile are their own flows), and telling the tenant's admins that a request waits."""

from __future__ import annotations

from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.commands import Command, Request
from bot.flows import Routes
from bot.i18n import t
from bot.proactive import Notifier
from bot.turn import Turn
from privacy.dsr import request_erasure
from storage.repositories import TenantRegistry


class AdminAlerts:
    """Tells every admin of a tenant, each in their own language, that a request arrived."""

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


class RightsFlow:
    def __init__(self, alerts: AdminAlerts) -> None:
        self._alerts = alerts

    def routes(self) -> Routes:
        return {Command.ERASE: self.erase}

    async def erase(self, turn: Turn, _: Request) -> None:
        request = await request_erasure(turn.store, turn.user_id)
        due = request.due_at.strftime("%Y-%m-%d")
        await turn.say(t(turn.locale, "erasure_requested", id=request.id, due=due))
        profile = await turn.store.profiles.get(turn.user_id)
        name = str((profile or {}).get("display_name") or turn.user_id)
        await self._alerts.tell(
            turn.store.tenant_id, "admin_erasure", id=request.id, name=name, due=due
        )
