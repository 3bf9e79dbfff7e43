"""Proactive messages: telling a user (or a tenant admin) something outside their own turn.

Only people who have talked to the bot have a stored conversation reference; for anyone else
this returns False and the caller falls back (the request still shows in `juno dsr list`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from microsoft_agents.activity import ConversationReference
from microsoft_agents.hosting.aiohttp import CloudAdapter
from microsoft_agents.hosting.core import TurnContext
from microsoft_agents.hosting.core.authorization import ClaimsIdentity
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import TenantStore

Compose = Callable[[TurnContext, str], Awaitable[None]]


class Notifier:
    def __init__(
        self, adapter: CloudAdapter, app_id: str | None, db: AsyncDatabase[dict[str, Any]], log: Any
    ) -> None:
        self._adapter = adapter
        self._app_id = app_id or ""
        self._db = db
        self._log = log

    async def send(self, tenant_id: str, user_id: str, compose: Compose) -> bool:
        """Run `compose(context, locale)` in the user's personal conversation."""
        stored = await TenantStore(self._db, tenant_id).conversations.get(user_id)
        if not stored or not isinstance(stored.get("reference"), dict):
            return False
        reference = ConversationReference.model_validate(stored["reference"])
        locale = str(stored.get("locale") or "tr")

        async def callback(context: TurnContext) -> None:
            await compose(context, locale)

        continuation = reference.get_continuation_activity()
        try:
            if self._app_id:
                await self._adapter.continue_conversation(self._app_id, continuation, callback)
            else:
                # Dev mode has no bot identity: continue as the anonymous identity inbound
                # turns get, or the SDK asks its token service for a token it cannot have.
                await self._adapter.continue_conversation_with_claims(
                    ClaimsIdentity({}, "Anonymous"), continuation, callback
                )
        except Exception as exc:  # one unreachable user must not stop the others
            self._log.warning(
                "proactive message failed", tenant=tenant_id, error=type(exc).__name__
            )
            return False
        return True
