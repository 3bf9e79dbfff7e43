"""Anonymous daily usage totals are k-anonymous: once a day is final (the sweep merged every
bucket of it), a total covering fewer than k people (5 by default, a tenant setting) is
suppressed, and the destruction log counts it. A total of one person points at that person."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.retention import sweep_tenant
from privacy.strategies import keyed_hash
from storage.repositories import TenantRecord, TenantStore
from tests.conftest import Cli
from tests.datamap_checks import undeclared
from tests.privacy_seed import NOW, record_kpis, register
from tests.test_cli import one_line

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
