"""Tenant admins (a role in the tenant record, with the date it was granted) and the periodic
access review of who holds it.

A review records who looked, when, and the list of admins they saw (each with "since"); a
tenant whose last review is older than 90 days, or that was never reviewed, is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.errors import PrivacyError
from storage.repositories import AdminGrant, TenantRecord, TenantRegistry, TenantStore

REVIEW_EVERY = timedelta(days=90)


class AccessError(PrivacyError):
    """One-line reason an admin change or review cannot be made."""


async def grant_admin(
    db: AsyncDatabase[dict[str, Any]], tenant_id: str, user_id: str, *, now: datetime | None = None
) -> TenantRecord:
    registry = TenantRegistry(db)
    record = await registry.require(tenant_id)
    if record.is_admin(user_id):
        raise AccessError(f"{user_id} is already an admin of tenant {tenant_id}")
    return await registry.update(tenant_id, {"admins": record.with_admins([user_id], now=now)})


async def revoke_admin(
    db: AsyncDatabase[dict[str, Any]], tenant_id: str, user_id: str
) -> TenantRecord:
    registry = TenantRegistry(db)
    record = await registry.require(tenant_id)
    if not record.is_admin(user_id):
        raise AccessError(f"{user_id} is not an admin of tenant {tenant_id}")
    return await registry.update(tenant_id, {"admins": record.with_admins(remove=[user_id])})


@dataclass(frozen=True)
class Review:
    reviewed_at: datetime
    reviewer: str
    admins: list[AdminGrant]
    note: str | None = None


@dataclass(frozen=True)
class ReviewStatus:
    tenant_id: str
    name: str
    admins: list[AdminGrant]
    last: Review | None
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "name": self.name,
            "admins": [g.model_dump(mode="json") for g in self.admins],
            "last_review": (
                {
                    "reviewed_at": self.last.reviewed_at.isoformat(),
                    "reviewer": self.last.reviewer,
                    "admins_seen": len(self.last.admins),
                }
                if self.last
                else None
            ),
            "review_overdue": self.overdue,
        }


def review_overdue(last: Review | None, now: datetime) -> bool:
    return last is None or now - last.reviewed_at > REVIEW_EVERY


async def record_review(
    store: TenantStore, *, reviewer: str, note: str | None = None, now: datetime | None = None
) -> Review:
    """Record that `reviewer` reviewed the tenant's current admin list."""
    if not reviewer.strip():
        raise AccessError("a review needs the reviewer's name")
    record = await store.own_record.get()
    if record is None:
        raise AccessError(f"tenant {store.tenant_id} is not registered")
    at = now or datetime.now(UTC)
    review = Review(at, reviewer.strip(), list(record.admins), note)
    await store.access_reviews.append(
        {
            "at": at,
            "reviewer": review.reviewer,
            "admins": [g.model_dump() for g in review.admins],
            "note": note,
        }
    )
    return review


async def last_review(store: TenantStore) -> Review | None:
    docs = await store.access_reviews.recent(limit=1)
    if not docs:
        return None
    doc = docs[0]
    return Review(
        doc["at"],
        doc.get("reviewer") or "",
        [
            AdminGrant.model_validate(a if isinstance(a, dict) else {"user_id": a})
            for a in doc.get("admins") or ()
        ],
        doc.get("note"),
    )


async def review_status(
    db: AsyncDatabase[dict[str, Any]],
    *,
    tenant_id: str | None = None,
    now: datetime | None = None,
) -> list[ReviewStatus]:
    at = now or datetime.now(UTC)
    registry = TenantRegistry(db)
    records = [await registry.require(tenant_id)] if tenant_id else await registry.list_all()
    statuses = []
    for record in records:
        last = await last_review(TenantStore(db, record.tenant_id))
        statuses.append(
            ReviewStatus(
                record.tenant_id, record.name, list(record.admins), last, review_overdue(last, at)
            )
        )
    return statuses
