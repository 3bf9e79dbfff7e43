"""Rectification: a proposed correction becomes a request; an approved one becomes an override
with provenance that wins over the synced value, survives a re-sync and is searchable."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.dsr import DsrError, DsrStatus, DsrType
from privacy.dsr_decisions import approve, reject
from privacy.rectification import apply_override, propose
from storage.repositories import TenantRecord, TenantRegistry, TenantStore
from storage.search_keys import search_keys
from tests.support.datamap_checks import undeclared

TENANT = "4ec70000-0000-4000-8000-000000000001"
USER = "4ec70000-0000-4000-8000-0000000000aa"
ADMIN = "4ec70000-0000-4000-8000-0000000000ad"
Db = AsyncDatabase[dict[str, Any]]


def synced(department: str) -> dict[str, Any]:
    return {
        "user_id": USER,
        "display_name": "Ayşe Yılmaz",
        "department": department,
        "search_keys": search_keys(["Ayşe Yılmaz", department]),
    }


@pytest.fixture
async def store(db: Db) -> TenantStore:
    await TenantRegistry(db).add(TenantRecord(tenant_id=TENANT, name="Contoso"))
    tenant = TenantStore(db, TENANT)
    await tenant.profiles.upsert_many([synced("Finans")])
    return tenant


async def test_approved_correction_survives_a_resync(store: TenantStore, db: Db) -> None:
    request = await propose(store, USER, "office_location", "  İstanbul\tHQ ")
    assert request.type is DsrType.RECTIFICATION and request.status is DsrStatus.OPEN
    assert (request.due_at - request.created_at).days in (28, 29, 30)
    approved = await approve(store, request.id, decided_by=ADMIN, pseudonym=None)
    assert approved.status is DsrStatus.COMPLETED and approved.note == "correction applied"
    proposal = await apply_override(store, request.id)  # idempotent
    assert (proposal.field, proposal.value) == ("office_location", "İstanbul HQ")
    found = await store.profiles.search("istanbul")
    assert [p["user_id"] for p in found.items] == [USER]

    await store.profiles.upsert_many([synced("Finance & Accounting")])  # the next sync
    profile = await store.profiles.get(USER)
    assert profile is not None
    assert profile["department"] == "Finance & Accounting"
    override = profile["overrides"]["office_location"]
    assert override["value"] == "İstanbul HQ" and override["request_id"] == request.id
    # The sync rewrote the stored search keys from Graph's values: the correction's words
    # are still found, read from the override.
    assert [p["user_id"] for p in (await store.profiles.search("istanbul")).items] == [USER]
    assert await undeclared(db) == []


async def test_rejected_correction_changes_nothing(store: TenantStore) -> None:
    request = await propose(store, USER, "department", "Hukuk")
    rejected = await reject(store, request.id, decided_by=ADMIN, reason="Payroll says Finans")
    assert rejected.status is DsrStatus.REJECTED and rejected.reason == "Payroll says Finans"
    profile = await store.profiles.get(USER)
    assert profile is not None and "overrides" not in profile


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("mail", "x@example.com", "cannot be corrected here"),
        ("department", "   ", "is empty"),
        ("department", "x" * 500, "longer than"),
    ],
)
async def test_bad_proposals_are_refused(
    store: TenantStore, field: str, value: str, message: str
) -> None:
    with pytest.raises(DsrError, match=message):
        await propose(store, USER, field, value)
