"""The profile write shapes: one keyed upsert, the sync page's bulk apply (with whole-profile
replacement on full rounds), and the directory version every profile write bumps."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.errors import TenantScopeViolation
from storage.repositories import ProfilesCollection, ProfilesRepo, TenantStore
from storage.search_index import version_id

A = "aaaaaaaa-0000-4000-8000-00000000000a"
B = "bbbbbbbb-0000-4000-8000-00000000000b"

Db = AsyncDatabase[dict[str, Any]]


class _NoCollection:
    name = "profiles"


async def version(db: Db, tenant_id: str) -> int:
    doc = await db["sync_state"].find_one({"_id": version_id(tenant_id)})
    return int((doc or {}).get("version") or 0)


def test_upsert_op_is_keyed_and_forces_the_tenant() -> None:
    # Building an operation never touches the collection.
    profiles = ProfilesRepo(ProfilesCollection(_NoCollection(), A))  # type: ignore[arg-type]
    fields: dict[str, Any] = {"display_name": "Ann", "tenant_id": B, "tkey": f"{B}:u1"}
    op = profiles.upsert_op("u1", fields)
    assert op.key == f"{A}:u1" and op.tenant_id == A
    assert op.filter == {"_id": f"{A}:u1", "tkey": f"{A}:u1"}
    assert op.update == {
        "$set": {"display_name": "Ann", "tenant_id": A, "tkey": f"{A}:u1", "user_id": "u1"}
    }
    assert op.update["$set"] is fields  # taken over, not copied: the sync's hot path
    with pytest.raises(ValueError, match="user id"):
        profiles.upsert_op("", {})


async def test_apply_page_upserts_and_hides_without_creating(db: Db) -> None:
    profiles = TenantStore(db, A).profiles
    before = await version(db, A)
    outcome = await profiles.apply_page(
        [profiles.upsert_op("u1", {"display_name": "Ann"})],
        [profiles.upsert_op("ghost", {"hidden": True})],
    )
    assert (outcome.inserted, outcome.modified) == (1, 0)
    assert await profiles.get("ghost") is None  # a soft delete never creates a record
    outcome = await profiles.apply_page([], [profiles.upsert_op("u1", {"hidden": True})])
    assert (outcome.inserted, outcome.modified) == (0, 1)
    assert (await profiles.get("u1") or {})["hidden"] is True
    assert await version(db, A) == before + 2  # each page bumps the directory version
    await profiles.apply_page([], [])
    assert await version(db, A) == before + 2  # an empty page writes nothing


async def test_whole_page_replaces_but_keeps_what_the_sync_does_not_own(db: Db) -> None:
    profiles = TenantStore(db, A).profiles
    await profiles.upsert_many(
        [
            {"user_id": "plain", "display_name": "Old", "stale": 1},
            {"user_id": "fixed", "display_name": "Old", "stale": 1},
        ]
    )
    override = {"value": "Finance", "approved_by": "admin"}
    assert await profiles.set_override("fixed", "department", override) == 1
    before = await version(db, A)
    outcome = await profiles.apply_page(
        [
            profiles.upsert_op("plain", {"display_name": "New", "seen_in_round": 2}),
            profiles.upsert_op("fixed", {"display_name": "New", "seen_in_round": 2}),
            profiles.upsert_op("fresh", {"display_name": "Fresh", "seen_in_round": 2}),
        ],
        whole=True,
    )
    assert (outcome.inserted, outcome.modified) == (1, 2)
    plain = await profiles.get("plain") or {}
    assert plain == {
        "_id": f"{A}:plain",
        "user_id": "plain",
        "display_name": "New",
        "seen_in_round": 2,
        "tenant_id": A,
        "tkey": f"{A}:plain",
    }  # replaced whole: a field the sync no longer writes is gone
    fixed = await profiles.get("fixed") or {}
    assert fixed["display_name"] == "New" and fixed["overrides"]["department"] == override
    assert fixed["stale"] == 1  # `$set`, not replaced: the correction survives
    assert (await profiles.get("fresh") or {})["tkey"] == f"{A}:fresh"
    assert await profiles.not_seen_in(2) == []
    assert await version(db, A) == before + 1


async def test_page_of_another_tenant_is_refused(db: Db) -> None:
    a, b = TenantStore(db, A).profiles, TenantStore(db, B).profiles
    with pytest.raises(TenantScopeViolation):
        await a.apply_page([b.upsert_op("u1", {"display_name": "x"})])
    with pytest.raises(TenantScopeViolation):
        await a.apply_page([], [b.upsert_op("u1", {"hidden": True})], whole=True)
    assert await b.get("u1") is None
