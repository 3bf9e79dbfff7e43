"""The full round's sweep: skipped into an empty tenant, never when an earlier attempt of the
same round already wrote profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.engine import DeltaEngine, RoundStats
from graph_sync.erasure import make_erasure
from tests.fake_graph import FakeGraph, Fault, populate
from tests.graph_helpers import TENANT, assert_converged, register, source_for

Db = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(page_size=7)
    await server.start()
    yield server
    await server.stop()


async def test_a_resync_inside_the_first_round_still_sweeps_the_first_attempt(
    db: Db, fake: FakeGraph
) -> None:
    """The tenant is empty when the first round starts; Graph drops the delta state on the
    third page, and someone the first attempt wrote has left by the second: the second
    attempt starts into a tenant that holds profiles, so its sweep erases them."""
    await register(db, TENANT)
    ids = populate(fake.directory, 20)
    fake.faults.append(Fault("gone", on="next", skip=1, code="resyncRequired"))

    def leave_after_second_page(stats: RoundStats) -> None:
        if stats.pages == 2:  # ids[7] came on the second page (7 a page), and manages nobody
            fake.directory.users.pop(ids[7], None)

    source = source_for(fake)
    try:
        engine = DeltaEngine(
            db, TENANT, source, make_erasure(db, b"k" * 16), progress=leave_after_second_page
        )
        stats = await engine.run()
    finally:
        await source.aclose()
    assert stats.resynced and (stats.mode, stats.round, stats.removed) == ("full", 2, 1)
    assert await db["profiles"].count_documents({"tenant_id": TENANT, "user_id": ids[7]}) == 0
    await assert_converged(db, fake.directory)
