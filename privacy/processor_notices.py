"""What each tenant's admins were last told of JUNO's sub-processors (GDPR Art. 28(2)).

A processor engaged under a general authorisation must inform the controller of any intended
change of sub-processors, so the controller can object. The declared list
(`privacy.subprocessors`) has a fingerprint; per tenant we keep the fingerprint its admins were
last told, and a different one means they are owed a notice. Claiming the new fingerprint before
sending (compare-and-set on the stored one) keeps two replicas starting at once from telling the
admins twice; if no admin could be reached, the claim is given back so the next start tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.collections import Coll
from storage.repositories import TenantStore

SUBPROCESSORS = "subprocessors"


@dataclass(frozen=True)
class Claim:
    """A tenant's notice this process won the right to send; `previous` restores the record
    if nobody could be told."""

    fingerprint: str
    previous: dict[str, Any] | None


async def last_notice(store: TenantStore) -> dict[str, Any] | None:
    return await store.processor_notices.get(SUBPROCESSORS)


async def claim_notice(
    store: TenantStore, fingerprint: str, names: Sequence[str], *, now: datetime | None = None
) -> Claim | None:
    """Claim the notice for `fingerprint`; None when the admins were already told of this list
    or another process claimed it first."""
    at = now or datetime.now(UTC)
    fields = {
        "fingerprint": fingerprint,
        "subprocessors": list(names),
        "notified_at": at,
        "told": 0,
        "admins": 0,
    }
    current = await last_notice(store)
    if current is None:
        won = await store.processor_notices.put_once(SUBPROCESSORS, fields)
        return Claim(fingerprint, None) if won else None
    if current.get("fingerprint") == fingerprint:
        return None
    coll = store.collections[Coll.PROCESSOR_NOTICES]
    changed = await coll.update_one(
        {"_id": coll.key(SUBPROCESSORS), "fingerprint": current.get("fingerprint")},
        {"$set": fields},
    )
    if not changed:
        return None
    previous = {k: v for k, v in current.items() if k in fields}
    return Claim(fingerprint, previous)


async def settle_notice(
    store: TenantStore, claim: Claim, *, told: int, admins: int, now: datetime | None = None
) -> bool:
    """Record how many admins were told; with none, give the claim back. True if recorded."""
    coll = store.collections[Coll.PROCESSOR_NOTICES]
    key = coll.key(SUBPROCESSORS)
    if told:
        at = now or datetime.now(UTC)
        await coll.update_one(
            {"_id": key, "fingerprint": claim.fingerprint},
            {"$set": {"told": told, "admins": admins, "notified_at": at}},
        )
        return True
    if claim.previous is None:
        await coll.delete_many({"_id": key, "fingerprint": claim.fingerprint})
    else:
        await coll.update_one(
            {"_id": key, "fingerprint": claim.fingerprint}, {"$set": claim.previous}
        )
    return False
