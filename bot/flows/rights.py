"""A person's data rights in Teams: asking for erasure (the export and the correction of
one's profile are their own flows), and telling the tenant's admins that a request waits."""

from __future__ import annotations

from bot.admin_alerts import AdminAlerts
from bot.commands import Command, Request
from bot.flows import Routes
from bot.i18n import t
from bot.turn import Turn
from privacy.dsr import request_erasure


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
