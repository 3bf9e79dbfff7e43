"""The per-tenant lease, the run history and the scheduler, against the real wire server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.errors import LeaseHeld, LeaseLost
from graph_sync.lease import Holder, Lease
from graph_sync.runner import sync_tenant
from graph_sync.scheduler import Scheduler, is_due
from graph_sync.state import RUNS_KEPT, StateStore
from storage.repositories import GraphCredentials, TenantRecord, TenantRegistry
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, Fault, populate
from tests.support.graph_helpers import TENANT, Erasures, assert_converged, register, source_for

Db = AsyncDatabase[dict[str, Any]]
CREDS = GraphCredentials(client_id="0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11", client_secret_env="X")


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(page_size=5)
    await server.start()
    yield server
    await server.stop()


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


async def test_lease_is_exclusive_expires_and_dead_local_holders_are_replaced(db: Db) -> None:
    state = StateStore(db, TENANT)
    a = Lease(state, Holder.here("worker-a"), ttl=timedelta(seconds=30))
    b = Lease(state, Holder.here("worker-b"), ttl=timedelta(seconds=30))
    await a.acquire()
    await a.acquire()  # re-entrant for the same holder
    with pytest.raises(LeaseHeld) as held:
        await b.acquire()
    assert str(a.holder) in str(held.value) and "\n" not in str(held.value)
    await a.release()
    await b.acquire()
    await b.release()

    # A holder on another host with time left keeps it; once expired, anyone may take it.
    remote = "juno-serve@elsewhere:4242#beef"
    future = datetime.now(UTC) + timedelta(minutes=5)
    await state.coll.upsert(["graph"], {"lease_holder": remote, "lease_until": future})
    with pytest.raises(LeaseHeld, match="elsewhere:4242"):
        await a.acquire()
    await state.coll.upsert(["graph"], {"lease_until": datetime.now(UTC) - timedelta(seconds=1)})
    await a.acquire()

    # A holder on this host whose process is gone is replaced at once.
    ghost = Holder("juno-sync", a.holder.host, dead_pid(), "dead")
    await state.coll.upsert(["graph"], {"lease_holder": str(ghost), "lease_until": future})
    await b.acquire()
    assert (await state.load()).lease_holder == str(b.holder)
    assert await undeclared(db) == []


async def test_concurrent_syncs_one_runs_the_other_names_the_holder(
    db: Db, fake: FakeGraph
) -> None:
    populate(fake.directory, 20)
    fake.faults.append(Fault("stall", on="next", skip=1))
    first_holder = Holder.here("juno-sync")
    first_source, second_source = source_for(fake), source_for(fake)
    first = asyncio.create_task(
        sync_tenant(db, TENANT, first_source, Erasures(db), holder=first_holder)
    )
    await asyncio.wait_for(fake.stalled.wait(), 10)
    with pytest.raises(LeaseHeld) as held:
        await sync_tenant(db, TENANT, second_source, Erasures(db), holder=Holder.here("juno-sync"))
    assert str(first_holder) in str(held.value)
    fake.release.set()
    stats = await asyncio.wait_for(first, 20)
    assert stats.created == 20
    await assert_converged(db, fake.directory)
    state = await StateStore(db, TENANT).load()
    assert state.lease_holder is None and len(state.runs) == 1
    assert state.last_run is not None and state.last_run["status"] == "ok"
    assert state.last_run["holder"] == str(first_holder)
    await first_source.aclose()
    await second_source.aclose()


async def test_a_lost_lease_stops_the_round(db: Db, fake: FakeGraph) -> None:
    populate(fake.directory, 20)
    fake.faults.append(Fault("stall", on="next", skip=1))
    source = source_for(fake)
    run = asyncio.create_task(
        sync_tenant(
            db,
            TENANT,
            source,
            Erasures(db),
            holder=Holder.here("slow"),
            lease_ttl=timedelta(seconds=0.6),
        )
    )
    await asyncio.wait_for(fake.stalled.wait(), 10)
    state = StateStore(db, TENANT)
    await state.coll.upsert(["graph"], {"lease_holder": "juno-serve@elsewhere:1#aa"})
    await asyncio.sleep(0.5)  # a renewal finds it taken
    fake.release.set()
    with pytest.raises(LeaseLost):
        await asyncio.wait_for(run, 20)
    loaded = await state.load()
    assert loaded.delta_link is None
    assert loaded.last_run is not None and loaded.last_run["status"] == "interrupted"
    assert loaded.lease_holder == "juno-serve@elsewhere:1#aa"  # not released: not ours
    await source.aclose()


async def test_run_history_is_bounded(db: Db) -> None:
    state = StateStore(db, TENANT)
    now = datetime.now(UTC)
    for i in range(RUNS_KEPT + 5):
        await state.record_run({"n": i, "status": "ok"}, now)
    loaded = await state.load()
    assert [r["n"] for r in loaded.runs] == list(range(5, RUNS_KEPT + 5))
    assert loaded.last_run == {"n": RUNS_KEPT + 4, "status": "ok"}


def test_due_after_interval_and_sooner_after_failure() -> None:
    record = TenantRecord(tenant_id=TENANT, name="x", sync_interval_minutes=30)
    now = datetime(2024, 6, 11, 12, 0, tzinfo=UTC)
    ok = {"status": "ok", "finished_at": now - timedelta(minutes=10)}
    failed = {"status": "failed", "finished_at": now - timedelta(minutes=10)}
    five = timedelta(minutes=5)
    assert is_due(record, None, now, five)
    assert not is_due(record, ok, now, five)
    assert is_due(record, ok, now + timedelta(minutes=20), five)
    assert is_due(record, failed, now, five)


async def test_scheduler_syncs_due_tenants_and_stops_gracefully(db: Db, fake: FakeGraph) -> None:
    await register(db, TENANT, graph=CREDS)
    await register(db, "bbbbbbbb-1111-4222-8333-444444444444", graph=CREDS, enabled=False)
    await register(db, "cccccccc-1111-4222-8333-444444444444")  # no credentials
    populate(fake.directory, 12)
    made: list[str] = []

    def make_client(record: TenantRecord) -> Any:
        made.append(record.tenant_id)
        return source_for(fake)

    scheduler = Scheduler(
        db, TenantRegistry(db), make_client, Erasures(db), tick=timedelta(seconds=0.05)
    )
    await scheduler.start()
    state = StateStore(db, TENANT)
    for _ in range(200):
        if (await state.load()).last_run:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # several more ticks: not due again for 30 minutes
    await scheduler.stop()
    assert made == [TENANT]
    await assert_converged(db, fake.directory)

    # Graceful stop in the middle of a round: it ends at a page boundary, link not advanced.
    await TenantRegistry(db).update(TENANT, {"sync_interval_minutes": 1})
    fake.directory.update(next(iter(fake.directory.users)), jobTitle="x")
    for uid in list(fake.directory.users)[:11]:
        fake.directory.update(uid, officeLocation="İzmir")
    link = (await state.load()).delta_link
    fake.faults.append(Fault("stall", on="next"))
    late = Scheduler(
        db,
        TenantRegistry(db),
        make_client,
        Erasures(db),
        tick=timedelta(seconds=0.05),
        clock=lambda: datetime.now(UTC) + timedelta(minutes=2),
    )
    await late.start()
    await asyncio.wait_for(fake.stalled.wait(), 10)
    stopping = asyncio.create_task(late.stop())
    await asyncio.sleep(0.1)
    fake.release.set()
    await asyncio.wait_for(stopping, 20)
    loaded = await state.load()
    assert loaded.delta_link == link and loaded.lease_holder is None
    assert loaded.last_run is not None and loaded.last_run["status"] == "interrupted"
    assert loaded.last_run["pages"] < 3  # stopped before the round's last page
