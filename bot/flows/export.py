"""A person's copy of their data: asked for by command, built in the background and
delivered by `ExportDelivery` (a file to accept in personal chat, a link elsewhere)."""

from __future__ import annotations

from bot.commands import Command, Request
from bot.delivery import ExportDelivery
from bot.flows import Routes
from bot.gate import is_personal
from bot.i18n import t
from bot.turn import Turn


class ExportFlow:
    def __init__(self, delivery: ExportDelivery) -> None:
        self._delivery = delivery

    def routes(self) -> Routes:
        return {Command.EXPORT: self.export}

    async def export(self, turn: Turn, _: Request) -> None:
        personal = is_personal(turn.context.activity)
        # In personal chat the copy comes as a file to accept, elsewhere as a link.
        await turn.say(t(turn.locale, "export_started_file" if personal else "export_started"))
        self._delivery.start_export(
            turn.store.tenant_id, turn.user_id, turn.locale, as_file=personal
        )

    async def file_consent(self, turn: Turn) -> None:
        """The answer to a file offered for consent (this export or an admin desk file)."""
        await self._delivery.answer_consent(turn)
