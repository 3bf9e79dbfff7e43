"""Anonymous daily usage totals are k-anonymous: the sweep merges whole days only, and a total
covering fewer than k people (5 by default, a tenant setting) is suppressed, and the destruction
log counts it; an erasure never merges one person's recent counts into a day's total, since that
total would hold only them until the sweep. A total of one person points at that person."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, Action, DataMapError, validate
from privacy.erasure import erase_user
from privacy.removal_modes import RemovalMode
from privacy.retention import sweep_tenant
from privacy.strategies import keyed_hash
from storage.collections import Coll
from storage.repositories import TenantRecord, TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, record_kpis, register
from tests.support.processes import Cli, one_line

Db = AsyncDatabase[dict[str, Any]]
TENANT = "cdcdcdcd-0000-4000-8000-000000000001"
DAY = timedelta(days=1)


def person(i: int) -> str:
    return f"eeeeeeee-0000-4000-8000-{i:012d}"


async def seed(db: Db, **fields: Any) -> TenantStore:
    await register(db, TENANT, **fields)
    # 100 days ago five people were active; 99 days ago only one; 98 days ago three.
    for day, people in ((100, 5), (99, 1), (98, 3)):
        for i in range(people):
            await record_kpis(db, TENANT, person(i), ["search", "profile"], NOW - day * DAY)
    return TenantStore(db, TENANT)


async def totals(store: TenantStore) -> dict[int, tuple[int, dict[str, int]]]:
    return {
        (NOW - t["day"]).days: (t["active_users"], dict(t["counts"]))
        for t in await store.kpi_events.totals()
    }


async def test_totals_of_fewer_than_five_people_are_suppressed(db: Db) -> None:
    store = await seed(db)
    report = await sweep_tenant(store, pseudonym=keyed_hash(b"k", TENANT), now=NOW)
    assert await totals(store) == {100: (5, {"search": 5, "profile": 5})}
    assert report.records == {"kpi_events": 9, "kpi_events#small-totals": 2}
    log = await store.destruction_log.recent(limit=10)
    [small] = [e for e in log if e.get("reference") == "small-totals"]
    assert (small["method"], small["records"], small["subject"]) == ("delete", 2, None)
    assert await store.kpi_events.count() == 1  # no bucket left, one total
    assert await undeclared(db) == []


async def test_the_tenant_sets_its_own_k(db: Db) -> None:
    store = await seed(db, kpi_min_users=3)
    await sweep_tenant(store, pseudonym=keyed_hash(b"k", TENANT), now=NOW)
    assert sorted(await totals(store)) == [98, 100]
    with pytest.raises(ValueError):
        TenantRecord(tenant_id=TENANT, name="x", kpi_min_users=0)


async def test_days_not_final_yet_are_left_for_a_later_sweep(db: Db) -> None:
    """A day still inside the retention window keeps its people's buckets; its total is
    judged when the day is final, when no more people can be added to it."""
    store = await seed(db)
    await sweep_tenant(store, pseudonym=keyed_hash(b"k", TENANT), now=NOW - 30 * DAY)
    assert await totals(store) == {}
    assert await store.kpi_events.count() == 9  # the buckets, not merged yet


async def test_the_operator_sets_k_with_juno_tenant_set(cli: Cli, db: Db) -> None:
    assert cli("tenant", "add", "--tenant-id", TENANT, "--name", "Contoso").code == 0
    done = cli("tenant", "set", "--tenant", TENANT, "--kpi-min-users", "10")
    assert done.code == 0, done.err
    record = await TenantStore(db, TENANT).own_record.get()
    assert record is not None and record.kpi_min_users == 10
    bad = cli("tenant", "set", "--tenant", TENANT, "--kpi-min-users", "0")
    assert bad.code == 2 and "kpi_min_users" in one_line(bad.err)


@pytest.mark.parametrize(
    "mode", [RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE, RemovalMode.DELETE_ALL]
)
async def test_erasing_someone_active_this_week_leaves_no_total_of_one(
    db: Db, mode: RemovalMode
) -> None:
    store = await seed(db)
    psn = keyed_hash(b"k", TENANT)
    for i in range(3):
        await record_kpis(db, TENANT, person(i), ["search"], NOW - i * DAY)
    await erase_user(store, person(0), mode, reason="asked", pseudonym=psn)
    assert await totals(store) == {}  # yesterday's and today's days are not merged early
    await sweep_tenant(store, pseudonym=psn, now=NOW)
    # Day 100 had five people, one of them now erased: four are below k, so it goes too.
    assert await totals(store) == {}
    assert await store.kpi_events.count({"user_id": person(0)}) == 0


async def test_a_small_total_an_older_erasure_made_for_a_recent_day_is_suppressed(db: Db) -> None:
    """Before erasures deleted buckets they merged them, making totals of one person for days
    the sweep had not reached; the next sweep removes those, not only the final days'."""
    store = await seed(db)
    coll = store.collections[Coll.KPI_EVENTS]
    key = DATA_MAP[Coll.KPI_EVENTS].rollup
    assert key is not None
    yesterday = NOW - DAY
    legacy = {"day": yesterday, "counts": {"search": 4}, "active_users": 1, "merged": ["pold"]}
    await coll.bulk([coll.upsert_op(key.totals_key(yesterday), legacy)])
    assert len(await store.kpi_events.totals()) == 1
    report = await sweep_tenant(store, pseudonym=keyed_hash(b"k", TENANT), now=NOW)
    assert await totals(store) == {100: (5, {"search": 5, "profile": 5})}
    assert report.records["kpi_events#small-totals"] == 3  # days 99 and 98, and yesterday


def test_the_data_map_refuses_aggregate_as_a_removal_action() -> None:
    kpi = DATA_MAP[Coll.KPI_EVENTS]
    mode = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE
    merging = dataclasses.replace(kpi, removal={**kpi.removal, mode: Action("aggregate")})
    with pytest.raises(DataMapError, match="aggregate is a retention strategy"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: merging})
    with pytest.raises(DataMapError, match="aggregate is a retention strategy"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: dataclasses.replace(kpi, anonymizer="aggregate")})
