"""Tenant isolation: a repository built for one tenant can neither see nor change another's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.collections import INDEXES, SUBJECT_FIELDS, Coll, migrate
from storage.errors import TenantScopeViolation
from storage.keys import TKEY, TUSER
from storage.repositories import TenantStore
from storage.scoped import TenantCollection
from tests.support.privacy_seed import record_kpis

A = "aaaaaaaa-0000-0000-0000-000000000001"
B = "bbbbbbbb-0000-0000-0000-000000000002"
USER = "11111111-1111-1111-1111-111111111111"  # the same object id exists in both tenants

Db = AsyncDatabase[dict[str, Any]]


async def seed(store: TenantStore, label: str) -> None:
    await store.profiles.upsert_many(
        [{"user_id": USER, "display_name": f"{label} person", "manager_id": "boss"}]
    )
    await store.sync_state.put("users", {"delta_link": f"{label}-link"})
    await store.consents.append({"user_id": USER, "document": "notice", "version": 1})
    await record_kpis(store.db, store.tenant_id, USER, [f"{label}-search"])
    await store.dsr_requests.put("req1", {"user_id": USER, "type": "export"})
    await store.conversations.put(USER, {"user_id": USER, "reference": {"t": label}})
    await store.destruction_log.append({"subject": "psn_x", "store": label})
    await store.audit_log.append({"actor": USER, "action": f"{label}-action"})
    await store.bot_state.put(f"conv/{USER}", {"state": {"label": label}})
    await store.legal_documents.put("notice:2", {"kind": "notice", "texts": {"en": label}})
    await store.exports.put_once("x1", {"user_id": USER, "filename": f"{label}.zip"})
    await store.destruction_runs.put("retention", {"kind": "retention", "reason": label})
    await store.access_reviews.append({"reviewer": label, "admins": [{"user_id": USER}]})
    await store.graph_subscriptions.put("users", {"status": "active", "subscription_id": label})
    await store.suppressions.put(f"sup_{label}", {"token": f"sup_{label}"})
    await store.outbox.put_once("m1", {"user_id": USER, "key": "dsr_approved", "values": {}})
    await store.incidents.put("INC-1", {"incident_id": "INC-1", "summary": label})
    await store.processor_notices.put("subprocessors", {"fingerprint": label})


@pytest.fixture
async def stores(db: Db) -> tuple[TenantStore, TenantStore]:
    a, b = TenantStore(db, A), TenantStore(db, B)
    await seed(a, "A")
    await seed(b, "B")
    return a, b


async def test_every_read_sees_only_its_own_tenant(stores: tuple[TenantStore, TenantStore]) -> None:
    a, b = stores
    for store, label in ((a, "A"), (b, "B")):
        profile = await store.profiles.get(USER)
        assert profile is not None and profile["display_name"] == f"{label} person"
        assert [p["tenant_id"] for p in await store.profiles.reports_of("boss")] == [
            store.tenant_id
        ]
        assert await store.profiles.count() == 1
        state = await store.sync_state.get("users")
        assert state is not None and state["delta_link"] == f"{label}-link"
        for log in (store.consents, store.audit_log):
            entries = await log.for_user(USER) if log is not store.audit_log else []
            assert all(e["tenant_id"] == store.tenant_id for e in entries)
            recent = await log.recent()
            assert len(recent) == 1 and recent[0]["tenant_id"] == store.tenant_id
        # The same person id in both tenants: two buckets, each counting its own tenant's use.
        [bucket] = await store.kpi_events.for_user(USER)
        assert bucket["tenant_id"] == store.tenant_id
        assert bucket["_id"].startswith(f"{store.tenant_id}:kpi:{USER}:")
        assert bucket["counts"] == {f"{label}-search": 1}
        assert await store.kpi_events.totals() == []
        assert [e["store"] for e in await store.destruction_log.recent()] == [label]
        many = await store.bot_state.get_many([f"conv/{USER}", "missing"])
        assert list(many) == [f"conv/{USER}"]
        assert many[f"conv/{USER}"]["state"] == {"label": label}
        assert (await store.dsr_requests.find())[0]["tenant_id"] == store.tenant_id
        for coll in store.collections.values():
            # sync_state also holds the directory version the profile write bumped.
            expected = 2 if coll.name == Coll.SYNC_STATE else 1
            assert await coll.count() == expected
            docs = await coll.find()
            assert [d["tenant_id"] for d in docs] == [store.tenant_id] * expected
            agg = await coll.aggregate([{"$project": {"tenant_id": 1}}])
            assert [d["tenant_id"] for d in agg] == [store.tenant_id] * expected


async def test_writes_and_deletes_stay_in_their_tenant(
    stores: tuple[TenantStore, TenantStore],
) -> None:
    a, b = stores

    def seeded(coll: Coll) -> int:  # sync_state also holds the directory version
        return 2 if coll is Coll.SYNC_STATE else 1

    for coll, coll_a in a.collections.items():
        assert await coll_a.update_many({}, {"$set": {"touched": True}}) == seeded(coll)
        assert await coll_a.delete_many({}) == seeded(coll)
    for coll in Coll:
        if coll is Coll.TENANTS:
            continue
        assert await b.collections[coll].count() == seeded(coll), coll
        assert await b.collections[coll].count({"touched": True}) == 0, coll
    assert await b.profiles.delete(USER) == 1
    assert await a.profiles.get(USER) is None


async def test_a_scoped_collection_refuses_to_reach_another_tenant(db: Db) -> None:
    a = TenantCollection(db[Coll.PROFILES], A)
    b = TenantCollection(db[Coll.PROFILES], B)
    with pytest.raises(TenantScopeViolation):
        await a.find({"tenant_id": B})
    with pytest.raises(TenantScopeViolation):
        await a.count({"tenant_id": B})
    with pytest.raises(TenantScopeViolation):
        await a.update_many({}, {"$set": {"tenant_id": B}})
    with pytest.raises(TenantScopeViolation):
        await a.insert({"tenant_id": B, "x": 1})
    with pytest.raises(TenantScopeViolation):
        await a.bulk([b.upsert_op(["u"], {"x": 1})])
    with pytest.raises(TenantScopeViolation):
        await a.update_each([({"user_id": USER}, {"$set": {"x": 1}}), ({"tenant_id": B}, {})])
    with pytest.raises(TenantScopeViolation):
        await a.update_each([({}, {"$set": {"tenant_id": B}})])
    with pytest.raises(TenantScopeViolation):
        await a.aggregate([{"$lookup": {"from": "profiles", "as": "x", "pipeline": []}}])
    with pytest.raises(TenantScopeViolation):
        await a.find({"$where": "true"})
    with pytest.raises(TenantScopeViolation):
        TenantCollection(db[Coll.PROFILES], "")


async def test_keyed_documents_carry_tenant_prefixed_keys(db: Db) -> None:
    a = TenantStore(db, A)
    await a.profiles.upsert_many([{"user_id": USER, "display_name": "x"}])
    raw = await db[Coll.PROFILES].find_one({})
    assert raw is not None
    assert raw["_id"] == raw[TKEY] == f"{A}:{USER}"
    assert raw["tenant_id"] == A


async def test_every_index_is_tenant_scoped(db: Db) -> None:
    for coll, models in INDEXES.items():
        for model in models:
            keys = list(model.document["key"])
            # tkey and tuser values start with "<tenant_id>:", so they are scoped too (the
            # tuser tests below hold the store to that).
            assert keys[0] in ("tenant_id", TKEY, TUSER), f"{coll}: {keys} unscoped"
        info = await db[coll].index_information()
        for name, spec in info.items():
            first = spec["key"][0][0]
            assert first in ("_id", "tenant_id", TKEY, TUSER), f"{coll}.{name}"


async def test_migrate_is_idempotent(db: Db) -> None:
    from storage import migrate

    assert await migrate(db) == []
    names = set(await db.list_collection_names())
    assert {c.value for c in Coll} <= names


async def test_migration_retires_the_search_prefix_index_and_field(db: Db) -> None:
    """Profiles written before search moved into the process carry `search_prefixes` under a
    multikey index; the next start unsets the field and drops both retired indexes."""
    from pymongo import ASCENDING

    await db["profiles"].create_index([("search_prefixes", ASCENDING)], name="search_prefixes")
    await db["profiles"].create_index(
        [("tenant_id", ASCENDING), ("search_keys", ASCENDING)], name="tenant_search"
    )
    await db["profiles"].insert_one(
        {"_id": f"{A}:old", TKEY: f"{A}:old", "tenant_id": A, "user_id": "old",
         "search_keys": ["ayse"], "search_prefixes": [f"{A}:ays", f"{A}:ayse"]}
    )  # fmt: skip
    await migrate(db)
    await migrate(db)  # idempotent
    names = set(await db["profiles"].index_information())
    assert not names & {"search_prefixes", "tenant_search"}
    doc = await db["profiles"].find_one({"_id": f"{A}:old"})
    assert doc is not None and "search_prefixes" not in doc and doc["search_keys"] == ["ayse"]


async def test_insert_once_creates_exactly_once_even_when_raced(db: Db) -> None:
    """The de-duplication of redelivered activities rests on this: of many concurrent calls
    for one key exactly one is told it created the document, and the document is what that
    call wrote; the same key in another tenant is another document."""
    a, b = TenantStore(db, A), TenantStore(db, B)
    results = await asyncio.gather(
        *(a.bot_state.put_once("activity/1", {"n": i}) for i in range(20))
    )
    assert results.count(True) == 1
    stored = await a.bot_state.get("activity/1")
    assert stored is not None and stored["n"] == results.index(True)
    assert stored["_id"] == stored[TKEY] == f"{A}:activity/1" and stored["tenant_id"] == A
    assert await a.bot_state.put_once("activity/1", {"n": 99}) is False
    assert (await a.bot_state.get("activity/1") or {})["n"] == stored["n"]  # not overwritten
    assert await b.bot_state.put_once("activity/1", {"n": 7}) is True
    both = {"_id": {"$in": [f"{A}:activity/1", f"{B}:activity/1"]}}
    assert await db[Coll.BOT_STATE].count_documents(both) == 2


async def _person_keys_agree(db: Db) -> None:
    """Every stored document of a person-keyed collection has `tuser` exactly when its subject
    field holds an id, and then it is `<its own tenant>:<that id>`."""
    for coll, field in SUBJECT_FIELDS.items():
        async for doc in db[coll].find({}):
            subject = doc.get(field)
            if isinstance(subject, str):
                assert doc.get(TUSER) == f"{doc['tenant_id']}:{subject}", (coll, doc)
            else:
                assert TUSER not in doc, (coll, doc)


async def test_the_person_key_follows_every_kind_of_write(
    db: Db, stores: tuple[TenantStore, TenantStore]
) -> None:
    """Reads by person go through `tuser` (the embedded engine scans without it), so a write
    path that left it stale would hide a person's records from their own export and erasure.
    Each kind of write below sets, changes or removes the subject field."""
    a, _ = stores
    await _person_keys_agree(db)
    consents = a.collections[Coll.CONSENTS]
    kpis = a.collections[Coll.KPI_EVENTS]
    await consents.update_many({"user_id": USER}, {"$set": {"user_id": "psn_1"}})  # pseudonymized
    assert await consents.count({"user_id": USER}) == 0
    assert await consents.count({"user_id": "psn_1"}) == 1
    await consents.update_one({"user_id": "psn_1"}, {"$set": {"user_id": None}})  # nullified
    await a.dsr_requests.update("req1", {"$unset": {"user_id": ""}})
    await a.conversations.put(USER, {"user_id": "other", "reference": {}})
    await a.collections[Coll.EXPORTS].update_each([({"user_id": USER}, {"$set": {"user_id": "x"}})])
    await a.collections[Coll.OUTBOX].claim({"user_id": USER}, {"$set": {"user_id": "y"}})
    await a.outbox.put_once("m2", {"user_id": "z", "key": "k", "values": {}})
    await kpis.bulk([kpis.upsert_op(["kpi", "w"], {"user_id": "w", "day": "2026-12-01"})])
    await _person_keys_agree(db)
    assert await a.collections[Coll.OUTBOX].count({"user_id": "y"}) == 1
    assert await kpis.count({"user_id": "w"}) == 1


async def test_a_read_by_person_stays_in_its_tenant_and_finds_records_from_before_the_key(
    db: Db, stores: tuple[TenantStore, TenantStore]
) -> None:
    """The same object id in two tenants is two people; and records written before `tuser`
    existed are given it at the next start, so a read by person still finds them."""
    a, b = stores
    assert [d["actor"] for d in await a.collections[Coll.AUDIT_LOG].find({"actor": USER})] == [USER]
    assert {d["action"] for d in await b.collections[Coll.AUDIT_LOG].find({"actor": USER})} == {
        "B-action"
    }
    await db[Coll.CONSENTS].insert_one({"tenant_id": A, "user_id": "legacy", "document": "eula"})
    assert await a.collections[Coll.CONSENTS].count({"user_id": "legacy"}) == 0  # not yet
    await migrate(db)
    assert await a.collections[Coll.CONSENTS].count({"user_id": "legacy"}) == 1
    await _person_keys_agree(db)


async def test_callers_cannot_write_the_person_key_themselves(
    stores: tuple[TenantStore, TenantStore],
) -> None:
    a, _ = stores
    consents = a.collections[Coll.CONSENTS]
    with pytest.raises(TenantScopeViolation):
        await consents.update_many({"user_id": USER}, {"$set": {TUSER: f"{A}:someone"}})
    with pytest.raises(TenantScopeViolation):
        await consents.update_many({}, {"$rename": {"user_id": "who"}})
    stored = await consents.insert({"user_id": USER, TUSER: f"{B}:{USER}", "document": "x"})
    found = await consents.find_one({"_id": stored})
    assert found is not None and found[TUSER] == f"{A}:{USER}"


async def test_a_profile_read_by_person_is_a_point_read_and_its_key_cannot_drift(
    db: Db, stores: tuple[TenantStore, TenantStore]
) -> None:
    """Reads of profiles by `user_id` are narrowed to the `_id` every write keeps equal to
    `<tenant>:<user_id>`: so the write paths must not let the two part."""
    a, b = stores
    profiles = a.collections[Coll.PROFILES]
    assert profiles.scope({"user_id": USER})["_id"] == f"{A}:{USER}"
    [found] = await profiles.find({"user_id": USER})
    assert found["display_name"] == "A person"
    await profiles.insert({"user_id": "new-person", "display_name": "New"})
    assert (await a.profiles.get("new-person") or {}).get("display_name") == "New"
    with pytest.raises(TenantScopeViolation):
        await profiles.insert({"_id": f"{A}:elsewhere", "user_id": "other-person"})
    with pytest.raises(TenantScopeViolation):
        await profiles.update_one({"user_id": USER}, {"$set": {"user_id": "someone-else"}})
    with pytest.raises(TenantScopeViolation):
        await profiles.update_many({}, {"$rename": {"display_name": "user_id"}})
    assert await b.collections[Coll.PROFILES].count({"user_id": "new-person"}) == 0
