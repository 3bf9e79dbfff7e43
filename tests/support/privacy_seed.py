"""Seeding driven by the data map itself, so a store added to the map is seeded (and therefore
checked by the export and erasure tests) without anyone remembering to add it here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from bot.kpi import KpiRecorder
from privacy.datamap import DATA_MAP, SYSTEM_FIELDS, Store
from storage.collections import Coll
from storage.repositories import AdminGrant, TenantRecord, TenantRegistry, TenantStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
Db = AsyncDatabase[dict[str, Any]]


def seeded_stores() -> list[Store]:
    """Every personal store a user's data can be found in by its subject key."""
    return [s for s in DATA_MAP.values() if s.personal and s.subject_key]


def sample_doc(decl: Store, who: str, other: str, at: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for name, category in decl.fields.items():
        if name in SYSTEM_FIELDS:
            continue
        doc[name] = at if category == "system.time" else f"{name}-sample"
    key = decl.subject_key or ""
    if "." in key:
        top, inner = key.split(".", 1)
        # Lists of people hold someone else too: an export must show only the subject's entry.
        doc[top] = [{inner: who, "since": at}, {inner: other, "since": at}]
    else:
        doc[key] = who
    return doc


async def register(
    db: Db, tenant_id: str, *, admins: tuple[str, ...] = (), **fields: Any
) -> TenantRecord:
    record = TenantRecord(
        tenant_id=tenant_id,
        name=fields.pop("name", "Contoso"),
        admins=[AdminGrant(user_id=a, since=NOW - timedelta(days=10)) for a in admins],
        **fields,
    )
    return await TenantRegistry(db).add(record)


async def seed_every_store(
    db: Db, tenant_id: str, user: str, other: str, *, at: datetime = NOW
) -> TenantStore:
    """One record per personal store for `user` and for `other`, every declared field set."""
    await register(db, tenant_id, admins=(user, other))
    store = TenantStore(db, tenant_id)
    for decl in seeded_stores():
        if decl.collection is Coll.TENANTS:
            continue
        for who, them in ((user, other), (other, user)):
            await store.collections[decl.collection].insert(sample_doc(decl, who, them, at))
    return store


class FailLoudly:
    """A recorder log that turns a swallowed write error into a test failure."""

    def warning(self, event: str, **fields: Any) -> None:
        raise AssertionError(f"{event}: {fields}")


async def record_kpis(
    db: Db, tenant_id: str, user: str, kinds: Iterable[str], at: datetime = NOW
) -> None:
    """Usage KPIs the way the bot writes them: through the recorder, with its clock at `at`."""
    recorder = KpiRecorder(db, FailLoudly(), clock=lambda: at)
    for kind in kinds:
        recorder.record(tenant_id, user, kind)
    await recorder.flush()
