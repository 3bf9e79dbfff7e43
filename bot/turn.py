"""One turn as JUNO's handlers see it: who asked, in which tenant and language, and how to
answer; and the SDK turn state that carries it from the gate (`bot.gate`) to the flows."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Attachment
from microsoft_agents.hosting.core import MessageFactory, TurnContext, TurnState
from microsoft_agents.hosting.core.storage import Storage

from bot.cards import blocks
from bot.kpi import KpiRecorder
from privacy.consent import ConsentAction, LegalDocument, record, was_shown
from storage.repositories import TenantStore


class Turn:
    """One turn's context: who, in which tenant and language, and how to answer."""

    def __init__(
        self,
        context: TurnContext,
        store: TenantStore,
        user_id: str,
        locale: str,
        kpis: KpiRecorder,
    ):
        self.context = context
        self.store = store
        self.user_id = user_id
        self.locale = locale
        self._kpis = kpis

    @property
    def kpis(self) -> KpiRecorder:
        return self._kpis

    async def say(self, text: str) -> None:
        await self.context.send_activity(MessageFactory.text(text))

    async def card(self, card: blocks.Card) -> str | None:
        """Send a card; returns the id the channel gave the sent activity, if it gave one."""
        attachment: Attachment = blocks.attachment(card)
        sent = await self.context.send_activity(MessageFactory.attachment(attachment))
        return sent.id if sent is not None and sent.id else None

    async def kpi(self, kind: str) -> None:
        self._kpis.record(self.store.tenant_id, self.user_id, kind)

    async def shown(
        self, doc: LegalDocument, trail: list[dict[str, Any]], sent: str | None
    ) -> None:
        """Evidence that `doc` was put in front of the user (before any acknowledgement): the
        version and text hash shown, the conversation, and the activity that carried it."""
        activity = self.context.activity
        conversation = activity.conversation.id if activity.conversation else None
        if was_shown(trail, doc, conversation):
            return
        await record(
            self.store,
            user_id=self.user_id,
            document=doc,
            action=ConsentAction.SHOWN,
            locale=self.locale,
            conversation_id=conversation,
            activity_id=sent or activity.id,
        )

    async def record(self, doc: LegalDocument, action: ConsentAction) -> None:
        activity = self.context.activity
        await record(
            self.store,
            user_id=self.user_id,
            document=doc,
            action=action,
            locale=self.locale,
            conversation_id=activity.conversation.id if activity.conversation else None,
            activity_id=activity.id,
        )


class JunoState(TurnState):
    """The SDK's turn state without its storage: the SDK would load and save conversation and
    user state on every turn, while JUNO keeps what it remembers in tenant-scoped MongoDB
    stores (consents, conversation references, `bot_state`). What it carries is this turn's
    `Turn`, set by the gate."""

    def __init__(self) -> None:
        super().__init__()
        self._turn: Turn | None = None

    @property
    def turn(self) -> Turn:
        if self._turn is None:  # routes run only after the gate let the turn through
            raise RuntimeError("no turn: the gate did not run")
        return self._turn

    @turn.setter
    def turn(self, value: Turn) -> None:
        self._turn = value

    async def load(self, context: TurnContext, storage: Storage) -> TurnState:
        return self

    async def save(self, turn_context: TurnContext, force: bool = False) -> None:
        return None
