"""What the admin home card shows, read from the tenant's stores in one place, so the card
(bot.cards.admin.home_card) is built from data alone."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards.admin import MAX_ROWS, DeskFacts
from privacy.access import last_review
from privacy.consent import current_documents
from privacy.dsr import CLOSED, list_requests
from privacy.incidents import incidents_of
from privacy.strategies import is_pseudonym
from privacy.suppression import count as suppression_count
from storage.repositories import TenantRecord, TenantStore

SYNC_STATE_KEY = "graph"  # graph_sync's state document (graph_sync/state.py)
SUBSCRIPTION_KEY = "users"  # graph_sync's subscription document (graph_sync/subscriptions.py)


async def read_desk(store: TenantStore, tenant: TenantRecord) -> DeskFacts:
    now = datetime.now(UTC)
    sync_state = await store.sync_state.get(SYNC_STATE_KEY) or {}
    reached = await store.conversations.find(
        {"user_id": {"$in": tenant.admin_ids}}, projection={"first_at": 1, "updated_at": 1}
    )
    subscription = await store.graph_subscriptions.get(SUBSCRIPTION_KEY)
    pending = [r for r in await list_requests(store, now=now) if r.status not in CLOSED]
    names = {r.user_id: await _name(store, r.user_id) for r in pending[:MAX_ROWS]}
    suppressed = await suppression_count(store)
    incidents = await incidents_of(store)
    review = await last_review(store)
    if review is not None:
        names[review.reviewer] = await _name(store, review.reviewer)
    return DeskFacts(
        tenant=tenant,
        now=now,
        sync_state=sync_state,
        reached=reached,
        subscription=subscription,
        pending=pending,
        suppressed=suppressed,
        incidents=incidents,
        review=review,
        documents=await current_documents(store),
        names=names,
    )


async def _name(store: TenantStore, who: str) -> str | None:
    """Their directory name, else what the record holds (an operator's name); None once only a
    pseudonym is left."""
    if not who or is_pseudonym(who):
        return None
    profile = await store.profiles.get(who)
    return str((profile or {}).get("display_name") or who)
