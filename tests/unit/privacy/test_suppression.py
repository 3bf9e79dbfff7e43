"""An erasure on request survives every kind of sync round, until the controller lifts it.

The real engine and transport against the fake Graph, the real driver against the wire
server. The person stays in the directory (they asked to be erased, they did not leave):
incremental rounds that report a change to them, a new report naming them as manager, a full
round and a resync after Graph drops the delta state all write nothing about them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.engine import DeltaEngine, RoundStats
from graph_sync.erasure import make_erasure, make_screen
from graph_sync.errors import ErasureUnavailable
from privacy.erasure import erase_user
from privacy.removal_modes import RemovalMode
from privacy.strategies import keyed_hash
from privacy.suppression import lift
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, make_user, populate
from tests.support.graph_helpers import TENANT, register, source_for

Db = AsyncDatabase[dict[str, Any]]
KEY = b"suppression-test-key"
PSN = keyed_hash(KEY, TENANT)


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(page_size=4)
    await server.start()
    yield server
    await server.stop()


async def sync(
    db: Db, fake: FakeGraph, *, full: bool = False, key: bytes | None = KEY
) -> RoundStats:
    source = source_for(fake)
    try:
        engine = DeltaEngine(db, TENANT, source, make_erasure(db, key), screen=make_screen(db, key))
        return await engine.run(full=full)
    finally:
        await source.aclose()


async def everything(db: Db) -> str:
    return repr(
        [d for n in await db.list_collection_names() for d in await db[n].find({}).to_list(None)]
    )


async def test_suppressed_people_stay_out_of_every_round(db: Db, fake: FakeGraph) -> None:
    await register(db, TENANT)
    ids = populate(fake.directory, 12, span=3)
    gone = ids[1]  # manages ids[4..6]
    reports = [uid for uid in ids if fake.directory.managers.get(uid) == gone]
    assert reports
    await sync(db, fake)
    store = TenantStore(db, TENANT)
    await erase_user(
        store, gone, RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE, reason="request",
        pseudonym=PSN, suppress=True,
    )  # fmt: skip
    mail = fake.directory.users[gone]["mail"]
    assert gone not in await everything(db)

    # Incremental: Graph reports a change to them, and a new hire names them as manager.
    fake.directory.update(gone, jobTitle="Direktör")
    hire = fake.directory.add(make_user(99), manager=gone)
    stats = await sync(db, fake)
    assert stats.mode == "incremental" and stats.suppressed == 1
    assert await store.profiles.get(gone) is None
    assert (await store.profiles.get(hire) or {}).get("manager_id") is None
    # A full round, then a resync after Graph dropped the delta state.
    stats = await sync(db, fake, full=True)
    assert (stats.mode, stats.created, stats.suppressed) == ("full", 0, 1)
    fake.directory.update(gone, department="Hukuk")
    fake.expire_tokens("resyncRequired")
    stats = await sync(db, fake)
    assert stats.resynced and stats.created == 0
    for report in [*reports, hire]:
        assert (await store.profiles.get(report) or {}).get("manager_id") is None
    held = await everything(db)
    assert gone not in held and mail not in held
    assert await undeclared(db) == []

    # Without the key the rounds cannot tell who is suppressed: they fail rather than write.
    with pytest.raises(ErasureUnavailable, match="suppressions"):
        await sync(db, fake, key=None)
    assert await store.profiles.get(gone) is None

    # The controller lifts it: the next full round brings the person and the edges back.
    assert await lift(store, gone, PSN)
    stats = await sync(db, fake, full=True)
    assert stats.created == 1 and stats.suppressed == 0
    assert (await store.profiles.get(gone) or {}).get("job_title") == "Direktör"
    assert (await store.profiles.get(hire) or {}).get("manager_id") == gone


async def test_a_tenant_without_suppressions_needs_no_key(db: Db, fake: FakeGraph) -> None:
    await register(db, TENANT)
    populate(fake.directory, 5)
    stats = await sync(db, fake, key=None)
    assert stats.created == 5 and stats.suppressed == 0
