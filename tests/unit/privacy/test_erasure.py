"""Erasure follows the data map per removal mode, is idempotent, and logs without identities."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.erasure import erase_user, log_subject
from privacy.removal_modes import RemovalMode
from privacy.strategies import keyed_hash
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import record_kpis

TENANT = "aaaaaaaa-0000-0000-0000-000000000001"
GONE = "99999999-0000-0000-0000-000000000009"
STAYS = "88888888-0000-0000-0000-000000000008"
PSEUDONYM = keyed_hash(b"test-key", TENANT)

Db = AsyncDatabase[dict[str, Any]]


async def seed(store: TenantStore) -> None:
    for user in (GONE, STAYS):
        await store.profiles.upsert_many([{"user_id": user, "display_name": user[:4]}])
        await store.consents.append(
            {"user_id": user, "document": "notice", "version": 1, "conversation_id": "c1"}
        )
        await record_kpis(store.db, TENANT, user, ["search"])
        await store.conversations.put(user, {"user_id": user, "reference": {"id": "c"}})
        await store.bot_state.put(f"u/{user}", {"user_id": user, "state": {}})
        await store.audit_log.append({"actor": user, "action": "login"})


@pytest.mark.parametrize("mode", list(RemovalMode))
async def test_each_mode_does_what_the_data_map_says(db: Db, mode: RemovalMode) -> None:
    store = TenantStore(db, TENANT)
    await seed(store)
    outcomes = await erase_user(store, GONE, mode, reason="test", pseudonym=PSEUDONYM)
    by_store = {o.store: (o.method, o.records) for o in outcomes}

    assert await store.profiles.get(GONE) is None
    assert by_store["profiles"] == ("delete", 1)
    kpis = await store.kpi_events.for_user(GONE)
    consents = await store.consents.for_user(GONE)
    if mode is RemovalMode.DIRECTORY_ONLY:
        assert set(by_store) == {"profiles"}
        assert len(kpis) == 1 and len(consents) == 1
    else:
        assert kpis == [] and consents == []
        pseudonymized = await store.consents.for_user(PSEUDONYM(GONE))
        assert [c["conversation_id"] for c in pseudonymized] == [PSEUDONYM(GONE)]
        assert await store.conversations.get(GONE) is None
        remaining_kpis = await store.kpi_events.count()
        totals = await store.kpi_events.totals()
        # Deleted in both modes: merging one person's recent counts into a day's total would
        # leave a total of one person, which names that person (k-anonymity).
        assert by_store["kpi_events"] == ("delete", 1) and remaining_kpis == 1
        assert totals == []
        assert GONE not in repr(await db["kpi_events"].find({}).to_list(None))
    # The other user is untouched in every mode.
    assert await store.profiles.get(STAYS) is not None
    assert len(await store.kpi_events.for_user(STAYS)) == 1
    assert len(await store.consents.for_user(STAYS)) == 1

    log = await store.destruction_log.recent(limit=100)
    assert sorted((e["store"], e["method"], e["records"]) for e in log) == sorted(
        (s, m, n) for s, (m, n) in by_store.items()
    )
    for entry in log:
        # The log names the person under a derivation of its own: it cannot be joined to the
        # pseudonym left in retained records (consents, requests, audit).
        assert entry["subject"] == log_subject(PSEUDONYM, GONE) and GONE not in str(entry)
        assert entry["subject"] != PSEUDONYM(GONE)
    retained = repr(
        [
            d
            for n in await db.list_collection_names()
            if n != "destruction_log"
            for d in await db[n].find({}).to_list(None)
        ]
    )
    assert log_subject(PSEUDONYM, GONE) not in retained
    assert await undeclared(db) == []


async def test_erasure_is_idempotent(db: Db) -> None:
    store = TenantStore(db, TENANT)
    await seed(store)
    mode = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE
    first = await erase_user(store, GONE, mode, reason="t", pseudonym=PSEUDONYM)
    assert first
    again = await erase_user(store, GONE, mode, reason="t", pseudonym=PSEUDONYM)
    assert again == []
    assert await store.destruction_log.count() == len(first)


def test_pseudonyms_are_stable_keyed_and_per_tenant() -> None:
    other_tenant = keyed_hash(b"test-key", "bbbbbbbb-0000-0000-0000-000000000002")
    other_key = keyed_hash(b"other-key", TENANT)
    assert PSEUDONYM(GONE) == PSEUDONYM(GONE)
    assert PSEUDONYM(GONE) != other_tenant(GONE) != other_key(GONE)
    assert PSEUDONYM(GONE).startswith("psn_") and GONE not in PSEUDONYM(GONE)
