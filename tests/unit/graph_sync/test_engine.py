"""The delta engine end to end: the real transport (msgraph-sdk adapter over httpx) against the
fake Graph server, the real driver against the embedded wire server. Every scenario ends with
MongoDB equal to the fake directory, no duplicates, and the delta link never ahead of the data."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.monitoring import CommandListener, CommandStartedEvent, CommandSucceededEvent

from graph_sync.engine import REASON_ABSENT, REASON_DELETED, DeltaEngine, RoundStats
from graph_sync.erasure import make_erasure
from graph_sync.errors import ErasureUnavailable, GraphRequestError, ThrottledError
from graph_sync.state import StateStore
from graph_sync.transport import RetryPolicy
from privacy.erasure import log_subject
from privacy.strategies import keyed_hash
from storage.search_keys import stored_keys
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, Fault, make_user, populate
from tests.support.graph_helpers import (
    FAST,
    TENANT,
    Erasures,
    assert_converged,
    profiles,
    register,
    source_for,
)

Db = AsyncDatabase[dict[str, Any]]
KEY = b"graph-sync-test-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakeGraph]:
    server = FakeGraph(page_size=7)
    await server.start()
    yield server
    await server.stop()


async def run(db: Db, fake: FakeGraph, on_deleted: Any = None, **kwargs: Any) -> Any:
    source = source_for(fake, **kwargs)
    try:
        engine = DeltaEngine(db, TENANT, source, on_deleted or Erasures(db))
        return await engine.run()
    finally:
        await source.aclose()


async def test_full_then_incremental_rounds(db: Db, fake: FakeGraph) -> None:
    ids = populate(fake.directory, 40)
    erasures = Erasures(db)
    first = await run(db, fake, erasures)
    assert (first.mode, first.round, first.created, first.pages) == ("full", 1, 40, 6)
    await assert_converged(db, fake.directory)
    state = await StateStore(db, TENANT).load()
    assert state.delta_link is not None and "$deltatoken=" in state.delta_link

    d = fake.directory
    d.update(ids[3], jobTitle="Kıdemli Uzman", department="Finans")
    d.set_manager(ids[9], ids[2])
    d.set_manager(ids[10], None)  # manager@delta entry carrying @removed
    d.soft_delete(ids[11])
    d.hard_delete(ids[12])
    d.update(ids[13], accountEnabled=False)
    d.update(ids[14], userType="Guest")
    d.soft_delete(ids[15])
    d.restore(ids[15])
    new = d.add(make_user(500), ids[0])
    second = await run(db, fake, erasures)
    assert (second.mode, second.round, second.created, second.pages) == ("incremental", 1, 1, 2)
    assert second.removed == 1 and erasures.calls == [(TENANT, ids[12], REASON_DELETED)]
    await assert_converged(db, fake.directory)
    by_id = {p["user_id"]: p for p in await profiles(db)}
    assert by_id[ids[10]]["manager_id"] is None
    assert by_id[ids[11]]["hidden"] is True and by_id[ids[11]]["display_name"]  # kept, hidden
    assert by_id[ids[13]]["hidden"] is True and by_id[ids[14]]["hidden"] is True
    assert by_id[ids[15]]["hidden"] is False
    assert by_id[new]["manager_id"] == ids[0]
    assert "kidemli" in stored_keys(by_id[ids[3]]["search_keys"])

    third = await run(db, fake, erasures)
    assert (third.created, third.updated, third.pages) == (0, 0, 1)
    assert await undeclared(db) == []


async def test_soft_deleted_stranger_is_not_recorded(db: Db, fake: FakeGraph) -> None:
    ids = populate(fake.directory, 5)
    await run(db, fake)
    stranger = fake.directory.add(make_user(99))
    fake.directory.soft_delete(stranger)  # first seen already soft-deleted: nothing to hide
    fake.directory.soft_delete(ids[1])
    stats = await run(db, fake)
    assert (stats.created, stats.hidden) == (0, 2)
    assert {p["user_id"] for p in await profiles(db)} == set(ids)


@pytest.mark.parametrize("code", ["resyncRequired", "syncStateNotFound"])
async def test_resync_reenumerates_and_erases_who_is_gone(
    db: Db, fake: FakeGraph, code: str
) -> None:
    await register(db, TENANT)
    ids = populate(fake.directory, 20)
    on_deleted = make_erasure(db, KEY)
    await run(db, fake, on_deleted)
    # A departure the delta never reported, then Graph drops the delta state.
    fake.directory.users.pop(ids[7])
    fake.directory.update(ids[8], jobTitle="Direktör")
    fake.expire_tokens(code)
    stats = await run(db, fake, on_deleted)
    assert stats.resynced and (stats.mode, stats.round, stats.removed) == ("full", 2, 1)
    await assert_converged(db, fake.directory)
    # The fresh round started from the Location header Graph sent with the 410.
    kinds = [kind for kind, _ in fake.requests]
    assert kinds.count("delta") == 1 and kinds.count("initial") == 2
    assert fake.requests[kinds.index("delta") + 1][1].endswith("&$deltatoken=")
    log = await db["destruction_log"].find({"tenant_id": TENANT}).to_list(None)
    assert [(e["store"], e["reason"]) for e in log] == [("profiles", REASON_ABSENT)]
    assert log[0]["subject"] == log_subject(keyed_hash(KEY, TENANT), ids[7])
    assert ids[7] not in str(log)
    assert await undeclared(db) == []


@pytest.mark.parametrize(
    "fault",
    [
        Fault("429", on="next", skip=1, retry_after=1),
        Fault("503", on="next", skip=2),
        Fault("504", on="initial"),
        Fault("reset", on="next", skip=1),
        Fault("reset", on="initial", times=2),
    ],
    ids=["429-retry-after", "503", "504", "reset-mid-round", "reset-twice-first-page"],
)
async def test_transient_faults_are_retried_and_converge(
    db: Db, fake: FakeGraph, fault: Fault
) -> None:
    populate(fake.directory, 30)
    fake.faults.append(dataclasses.replace(fault))
    stats = await run(db, fake)
    assert stats.created == 30 and not fake.faults, "the fault was served"
    assert len(fake.requests) > stats.pages, "the faulty request was sent again"
    await assert_converged(db, fake.directory)


async def test_throttling_storm_ends_with_a_clear_error(db: Db, fake: FakeGraph) -> None:
    ids = populate(fake.directory, 10)
    await run(db, fake)
    link = (await StateStore(db, TENANT).load()).delta_link
    fake.directory.update(ids[1], jobTitle="Changed")
    fake.faults.append(Fault("429", on="delta", times=100, retry_after=1))
    storm = RetryPolicy(**{**FAST.__dict__, "throttle_retries": 1})
    with pytest.raises(ThrottledError) as caught:
        await run(db, fake, retry=storm)
    assert "429" in str(caught.value) and "1 retries" in str(caught.value)
    assert fake.count("delta") == 2
    assert (await StateStore(db, TENANT).load()).delta_link == link
    fake.faults.clear()
    await run(db, fake)
    await assert_converged(db, fake.directory)


async def test_retry_after_beyond_the_cap_fails_at_once(db: Db, fake: FakeGraph) -> None:
    populate(fake.directory, 3)
    fake.faults.append(Fault("503", on="initial", retry_after=3600))
    with pytest.raises(ThrottledError, match="asks to wait 3600 s, longer than a run waits"):
        await run(db, fake)
    assert fake.count("initial") == 1


async def test_unreachable_graph_is_bounded(db: Db, fake: FakeGraph) -> None:
    populate(fake.directory, 3)
    fake.faults.append(Fault("reset", on="initial", times=100))
    with pytest.raises(GraphRequestError, match="after 4 attempts"):
        await run(db, fake)
    assert fake.count("initial") == FAST.attempts


async def test_crash_between_pages_keeps_the_old_link_and_rerun_converges(
    db: Db, fake: FakeGraph
) -> None:
    ids = populate(fake.directory, 20)
    calls = 0

    def crash_after_two_pages() -> Exception | None:
        nonlocal calls
        calls += 1
        return RuntimeError("killed") if calls == 2 else None

    source = source_for(fake)
    with pytest.raises(RuntimeError):
        await DeltaEngine(db, TENANT, source, Erasures(db), interrupt=crash_after_two_pages).run()
    await source.aclose()
    state = await StateStore(db, TENANT).load()
    assert state.delta_link is None and len(await profiles(db)) == 14
    await run(db, fake)
    await assert_converged(db, fake.directory)
    link = (await StateStore(db, TENANT).load()).delta_link

    for uid in ids[:17]:  # three pages of changes
        fake.directory.update(uid, officeLocation="Ankara")
    calls = 0
    source = source_for(fake)
    with pytest.raises(RuntimeError):
        await DeltaEngine(db, TENANT, source, Erasures(db), interrupt=crash_after_two_pages).run()
    await source.aclose()
    assert (await StateStore(db, TENANT).load()).delta_link == link
    stats = await run(db, fake)
    # The rerun replays the round from the old link (14 of its writes land a second time).
    assert (stats.mode, stats.updated, stats.pages) == ("incremental", 17, 3)
    await assert_converged(db, fake.directory)
    assert {p["office_location"] for p in await profiles(db)} == {"Ankara", "İstanbul"}


async def test_interrupted_full_round_is_redone_as_full(db: Db, fake: FakeGraph) -> None:
    ids = populate(fake.directory, 20)
    await run(db, fake)
    fake.directory.users.pop(ids[4])  # gone without a trace in the delta
    calls = 0

    def crash_once() -> Exception | None:
        nonlocal calls
        calls += 1
        return RuntimeError("killed") if calls == 1 else None

    source = source_for(fake)
    with pytest.raises(RuntimeError):
        await DeltaEngine(db, TENANT, source, Erasures(db), interrupt=crash_once).run(full=True)
    await source.aclose()
    stats = await run(db, fake)  # no link saved: a full round again, with its sweep
    assert (stats.mode, stats.removed) == ("full", 1)
    await assert_converged(db, fake.directory)


async def test_missing_pseudonym_key_stops_before_the_link_moves(db: Db, fake: FakeGraph) -> None:
    await register(db, TENANT)
    ids = populate(fake.directory, 6)
    await run(db, fake)
    link = (await StateStore(db, TENANT).load()).delta_link
    fake.directory.hard_delete(ids[2])
    with pytest.raises(ErasureUnavailable, match="JUNO_PSEUDONYM_KEY is not set"):
        await run(db, fake, make_erasure(db, None))
    assert (await StateStore(db, TENANT).load()).delta_link == link
    await run(db, fake, make_erasure(db, KEY))
    await assert_converged(db, fake.directory)


class PageLinks:
    """A source whose first page points somewhere else: the engine must not follow it."""

    def __init__(self) -> None:
        self.fetched: list[str] = []

    def initial_url(self) -> str:
        return "https://graph.example/v1.0/users/delta"

    def accepts(self, url: str) -> bool:
        return url.startswith("https://graph.example/")

    def restart_url(self, location: str | None) -> str:
        return self.initial_url()

    async def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return b'{"value": [], "@odata.nextLink": "https://attacker.example/steal"}'

    async def aclose(self) -> None:
        return None


async def test_links_to_another_host_are_not_followed(db: Db) -> None:
    source = PageLinks()
    with pytest.raises(GraphRequestError, match="another host"):
        await DeltaEngine(db, TENANT, source, Erasures(db)).run()
    assert source.fetched == ["https://graph.example/v1.0/users/delta"]


class Commands(CommandListener):
    def __init__(self) -> None:
        self.names: list[str] = []
        self.targets: list[tuple[str, Any]] = []

    def started(self, event: CommandStartedEvent) -> None:
        if event.database_name != "admin":
            self.names.append(event.command_name)
            self.targets.append((event.command_name, event.command.get(event.command_name)))

    def succeeded(self, event: CommandSucceededEvent) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


async def test_one_bulk_write_per_page(mongo_uri: str, db_name: str, fake: FakeGraph) -> None:
    listener = Commands()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[listener], tz_aware=True
    )
    try:
        db = client[db_name]
        populate(fake.directory, 40)
        listener.names.clear()
        stats = await run(db, fake)
        assert listener.targets.count(("update", "profiles")) == stats.pages == 6
        # Each page write is followed by the directory version bump (storage.search_index).
        assert listener.targets.count(("update", "sync_state")) == stats.pages
        # Besides the page writes and their bumps: state read, round start, whether the tenant
        # held profiles (it did not: the sweep skips its stale-profile scan), the erasures a
        # crash cut short, link save.
        assert len(listener.names) == 2 * stats.pages + 5
    finally:
        await client.drop_database(db_name)
        await client.close()


async def test_sync_state_not_found_on_a_400_also_resyncs(db: Db, fake: FakeGraph) -> None:
    ids = populate(fake.directory, 8)
    await run(db, fake)
    fake.directory.users.pop(ids[0])
    fake.faults.append(Fault("gone", on="delta", status=400, code="syncStateNotFound"))
    stats = await run(db, fake)
    assert stats.resynced and (stats.mode, stats.removed) == ("full", 1)
    await assert_converged(db, fake.directory)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("403", "403 Authorization_RequestDenied): the app needs the User.Read.All application"),
        ("500", "Graph answered 500 generalException: An unspecified error occurred."),
    ],
)
async def test_other_graph_errors_are_one_line(
    db: Db, fake: FakeGraph, kind: str, expected: str
) -> None:
    populate(fake.directory, 3)
    fake.faults.append(Fault(kind, on="initial"))  # type: ignore[arg-type]
    with pytest.raises(GraphRequestError) as caught:
        await run(db, fake)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    assert (await StateStore(db, TENANT).load()).delta_link is None


def test_resync_location_is_followed_only_with_our_select(fake: FakeGraph) -> None:
    source = source_for(fake)
    ours = source.initial_url() + "&$deltatoken="
    assert source.restart_url(ours) == ours
    assert source.restart_url(f"{fake.base}/users/delta?$deltatoken=") == source.initial_url()
    assert source.restart_url("https://elsewhere.example/v1.0/users/delta") == source.initial_url()
    assert source.restart_url(None) == source.initial_url()


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
            db, TENANT, source, make_erasure(db, KEY), progress=leave_after_second_page
        )
        stats = await engine.run()
    finally:
        await source.aclose()
    assert stats.resynced and (stats.mode, stats.round, stats.removed) == ("full", 2, 1)
    assert await db["profiles"].count_documents({"tenant_id": TENANT, "user_id": ids[7]}) == 0
    await assert_converged(db, fake.directory)
