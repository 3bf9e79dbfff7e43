"""Usage KPIs as the data map declares them: daily count buckets per person, written by the
bot's recorder through `bucket_update`, and the one-off fold of the per-event documents kept
before the buckets.

Everything about the shape (keys, field names) comes from the KPI store's `Rollup` in the data
map, so the recorder, the fold, export, erasure and retention cannot disagree about it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP
from privacy.rollup import Hook, Rollup, bucket_op, day_of, new_token, totals_op
from storage.collections import Coll
from storage.repositories import TenantRegistry, TenantStore
from storage.scoped import KeyedUpsert, TenantCollection


def _kpi_rollup() -> Rollup:
    rollup = DATA_MAP[Coll.KPI_EVENTS].rollup
    # The shipped map declares it (tests/unit/privacy/test_datamap.py).
    if rollup is None:  # pragma: no cover
        raise RuntimeError("the KPI store declares no rollup")
    return rollup


KPI = _kpi_rollup()


def bucket_update(
    coll: TenantCollection,
    user_id: str,
    day: datetime,
    counts: Mapping[str, int],
    now: datetime,
) -> KeyedUpsert:
    """Add `counts` ({kind: n}) to the person's bucket for `day`: one `$inc` upsert."""
    return bucket_op(coll, KPI, user_id, day, counts, now)


# The per-event shape before buckets: one document per command with `user_id` (gone once
# anonymized, which also set `anonymized: true`), `kind` and `at`. Only those have `at`.
_LEGACY_AT = "at"
_LEGACY_KIND = "kind"
_LEGACY = {_LEGACY_AT: {"$type": "date"}}
# The fold's own mark, distinct from a merge's, so an erasure that meets a per-event document
# halfway through the fold erases it without mistaking the fold's batch for a merge group.
_FOLDING = "fold_token"


async def fold_legacy_events(db: AsyncDatabase[dict[str, Any]]) -> int:
    """Fold every registered tenant's per-event KPI documents into daily buckets (anonymized
    ones into the daily totals). Cheap when there is nothing left (an index lookup per
    tenant), so it runs at every start. Returns how many event documents were folded."""
    folded = 0
    for record in await TenantRegistry(db).list_all():
        folded += await fold_tenant(TenantStore(db, record.tenant_id))
    return folded


async def fold_tenant(
    store: TenantStore, *, hook: Hook | None = None, now: datetime | None = None
) -> int:
    """Fold one tenant's per-event documents, a day of them at a time.

    Crash-safe the same way merging is (`privacy.rollup`): a day's events are marked with a
    token, each bucket and total takes the token's counts at most once (its journal), and the
    events are deleted last; an interrupted fold is finished by the next one. Anonymized events
    add to the totals' counts but not to `active_users`: who they were is no longer known.
    """
    coll = store.collections[Coll.KPI_EVENTS]
    at = now or datetime.now(UTC)
    folded = 0
    while True:
        pending = await coll.find_one({**_LEGACY, _FOLDING: {"$exists": True}})
        if pending is not None:
            token = pending[_FOLDING]
        else:
            oldest = await coll.find_one(_LEGACY, sort=[(_LEGACY_AT, 1)])
            if oldest is None:
                return folded
            day = day_of(oldest[_LEGACY_AT])
            token = new_token()
            await coll.update_many(
                {
                    _LEGACY_AT: {"$gte": day, "$lt": day + timedelta(days=1)},
                    _FOLDING: {"$exists": False},
                },
                {"$set": {_FOLDING: token}},
            )
            if hook:
                await hook("marked:legacy")
        events = await coll.find({**_LEGACY, _FOLDING: token})
        await coll.bulk(_fold_ops(coll, events, token, at))
        if hook:
            await hook("folded:legacy")
        folded += await coll.delete_many({**_LEGACY, _FOLDING: token})
        if hook:
            await hook("deleted:legacy")


def _fold_ops(
    coll: TenantCollection, events: list[dict[str, Any]], token: str, now: datetime
) -> list[KeyedUpsert]:
    per_person: dict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    anonymous: dict[datetime, Counter[str]] = defaultdict(Counter)
    for event in events:
        day = day_of(event[_LEGACY_AT])
        kind = str(event.get(_LEGACY_KIND) or "unknown")
        user = event.get(KPI.subject)
        if isinstance(user, str) and user:
            per_person[(user, day)][kind] += 1
        else:
            anonymous[day][kind] += 1
    once = (KPI.journal, token)
    ops = [
        bucket_op(coll, KPI, user, day, counts, now, once=once)
        for (user, day), counts in sorted(per_person.items())
    ]
    ops += [
        totals_op(coll, KPI, day, counts, 0, token, now)
        for day, counts in sorted(anonymous.items())
    ]
    return ops
