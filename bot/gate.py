"""What every turn passes before any route runs (the application's `before_turn`): an identity
Teams vouched for, a registered and enabled tenant, an activity not seen before, and a sender.

An unknown or disabled tenant gets one polite message and nothing is read or stored for it
except an audit entry. A turn let through carries its `Turn` (tenant store, user, language)
and has refreshed the user's conversation reference for proactive messages.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from microsoft_agents.activity import Activity, InvokeResponse
from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot.i18n import pick_locale, t
from bot.identity import bounded, refusal, tenant_of, user_of
from bot.kpi import KpiRecorder
from bot.tenants import TenantCache
from bot.turn import JunoState, Turn
from storage.repositories import TenantStore

_DEDUPE_HOURS = 24
_STORES_KEPT = 1024  # tenants whose store handles a process keeps built


def is_personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is not None and conversation.conversation_type in (None, "personal")


async def answer_invoke(context: TurnContext, body: dict[str, Any]) -> None:
    """Invokes are answered in the HTTP response; the SDK takes it from an invokeResponse
    activity sent on the turn."""
    response = InvokeResponse(status=200, body=body)
    await context.send_activity(Activity(type="invokeResponse", value=response))


class TurnGate:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        tenants: TenantCache,
        kpis: KpiRecorder,
        *,
        channels: tuple[str, ...],
        default_locale: str,
        log: Any,
    ) -> None:
        self._db = db
        self._tenants = tenants
        self._kpis = kpis
        self._channels = channels
        self._default_locale = default_locale
        self._log = log
        self._references: dict[tuple[str, str], tuple[str, str]] = {}
        self._stores: OrderedDict[str, TenantStore] = OrderedDict()

    def _store(self, tenant_id: str) -> TenantStore:
        """The tenant's store, built once: it is only handles, and building its twenty
        collections took ~0.05 ms of every turn."""
        store = self._stores.get(tenant_id)
        if store is None:
            store = self._stores[tenant_id] = TenantStore(self._db, tenant_id)
            while len(self._stores) > _STORES_KEPT:
                self._stores.popitem(last=False)
        else:
            self._stores.move_to_end(tenant_id)
        return store

    async def __call__(self, context: TurnContext, state: JunoState) -> bool:
        activity = context.activity
        untrusted = refusal(activity, self._channels)
        if untrusted is not None:  # bot.http refuses these first; this holds for other hosts
            self._log.warning("activity identity not trusted", reason=untrusted)
            return False
        tenant_id = tenant_of(activity)
        tenant = await self._tenants.get(tenant_id) if tenant_id else None
        if tenant is None or not tenant.enabled:
            await self._refuse(context, tenant_id)
            return False
        store = self._store(tenant.tenant_id)
        if activity.id:
            expires = datetime.now(UTC) + timedelta(hours=_DEDUPE_HOURS)
            fresh = await store.bot_state.put_once(
                f"activity/{activity.id}", {"expires_at": expires}
            )
            if not fresh:
                self._log.info("duplicate activity ignored", tenant=tenant.tenant_id)
                return False
        user_id = user_of(activity)
        if not user_id:
            return False
        locale = pick_locale(activity.locale, tenant.default_locale)
        state.turn = Turn(context, store, user_id, locale, self._kpis)
        await self._remember_conversation(state.turn)
        return True

    async def _refuse(self, context: TurnContext, tenant_id: str | None) -> None:
        activity = context.activity
        locale = pick_locale(activity.locale, self._default_locale)
        # bot.http lets through only tenant ids that are GUIDs (bot.identity), so the store is
        # named by a bounded, well-formed id; anything else lands in the "unknown" bucket.
        trusted = tenant_id if tenant_id and refusal(activity, self._channels) is None else None
        shown = bounded(tenant_id) if tenant_id else None
        self._log.warning("activity from an unregistered or disabled tenant", tenant=shown)
        audit = TenantStore(self._db, trusted or "unknown").audit_log
        await audit.record(actor=None, action="refused_tenant", target=shown, outcome="refused")
        if activity.type == "invoke":
            await answer_invoke(context, {})
        elif activity.type in ("message", "conversationUpdate", "installationUpdate"):
            await context.send_activity(MessageFactory.text(t(locale, "tenant_refused")))

    async def _remember_conversation(self, turn: Turn) -> None:
        """Keep the user's latest conversation reference for proactive messages; written only
        when it changes, so an ordinary turn costs no extra round trip."""
        activity = turn.context.activity
        conversation = activity.conversation
        if conversation is None or not is_personal(activity):
            return
        cache_key = (turn.store.tenant_id, turn.user_id)
        if self._references.get(cache_key) == (conversation.id, turn.locale):
            return
        reference = activity.get_conversation_reference().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        await turn.store.conversations.put(
            turn.user_id,
            {
                "user_id": turn.user_id,
                "reference": reference,
                "locale": turn.locale,
                "updated_at": datetime.now(UTC),
            },
            set_on_insert={"first_at": datetime.now(UTC)},
        )
        self._references[cache_key] = (conversation.id, turn.locale)
