"""`juno sync` survives SIGKILL at any moment of any kind of round.

Two tenants read the same fake Graph directory (tests/support/fake_graph.py) through the real
msal and transport: the rehearsal tenant syncs each round without interruption, which also times
it; the crashed tenant's `juno sync` is then killed after seeded random delays spread over a
little more than that time (counted from its first Graph request), again and again, until an
uninterrupted run finishes the round. The rounds are an initial full sync over many pages, an
incremental round (updates, new users, manager changes, soft deletes, and permanent deletions
whose erasure has data in every store), and a full resync after Graph drops the delta state
(410) with more people gone, whom the sweep erases.

After every kill: if a delta link is stored it is never ahead of the data. It names a directory
version the test recorded, everyone the directory had then and has not changed since is
stored exactly as at that version, and if it is the current version the database has
converged and every erasure of the round is complete. After each round: the profiles equal
the directory, no erasure is left half done, and each erased person's data and destruction
log are what the tenant's removal mode says (tests/support/erasure_oracle.py).
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from graph_sync.engine import REASON_ABSENT, DeltaEngine, OnDeleted, RoundStats
from graph_sync.erasure import make_erasure
from graph_sync.state import StateStore
from privacy.erasure import erase_user, log_subject
from privacy.removal_modes import RemovalMode
from privacy.strategies import Pseudonymizer, keyed_hash
from storage.collections import Coll
from storage.repositories import GraphCredentials, TenantStore
from tests.support.crash import Crash, Forker, Probe, runs, seeded_rng
from tests.support.erasure_oracle import (
    Db,
    Doc,
    Key,
    add_volume,
    check_log,
    check_no_raw_ids,
    check_subject,
    open_runs,
    owed,
    seed_person,
    snapshot,
)
from tests.support.fake_graph import FakeGraph, make_user, populate
from tests.support.graph_authority import App, FakeAuthority
from tests.support.graph_helpers import TENANT, assert_converged, profiles, register, source_for
from tests.support.processes import REPO, base_env

pytestmark = pytest.mark.crash

REHEARSAL = "aaaaaaaa-5555-4555-8555-000000000001"
CRASHED = "aaaaaaaa-5555-4555-8555-000000000002"
TENANTS = (REHEARSAL, CRASHED)
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c22"
SECRET = "crash-sync-secret"
KEY = "crash-sync-pseudonym-key"
MODE = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE
PARTNER = "bbbbbbbb-5555-4555-8555-00000000000c"
USERS = 240
PAGE = 10
PER_PERSON = 250  # usage records of each person deleted in Graph: their erasure takes a while
KILLS_PER_ROUND = 4


@dataclass
class World:
    db: Db
    graph: FakeGraph
    forker: Forker
    # Directory version -> what the profiles must be when a link of that version is stored.
    expected_at: dict[int, dict[str, dict[str, Any]]]


@pytest.fixture
async def world(db: Db, mongo_uri: str, db_name: str, tmp_path: Path) -> AsyncIterator[World]:
    authority = FakeAuthority(tenants=set(TENANTS), apps={CLIENT: App(CLIENT, secret=SECRET)})
    await authority.start()
    graph = FakeGraph(page_size=PAGE, token=None)
    graph.tokens = authority.issued
    graph.check_auth = True
    await graph.start()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_DATA_DIR=str(tmp_path / "var"),
        JUNO_AUTHORITY_HOST=authority.base,
        JUNO_GRAPH_BASE_URL=graph.base,
        JUNO_PSEUDONYM_KEY=KEY,
        CRASH_GRAPH_SECRET=SECRET,
        REQUESTS_CA_BUNDLE=str(authority.write_ca(tmp_path / "ca.pem")),
        PYTHONPATH=str(REPO),
    )
    credentials = GraphCredentials(client_id=CLIENT, client_secret_env="CRASH_GRAPH_SECRET")
    for tenant in TENANTS:
        await register(db, tenant, graph=credentials, removal_mode=MODE.value)
    forker = await Forker.open(env, tmp_path)
    yield World(db, graph, forker, {})
    await forker.close()
    await graph.stop()
    await authority.stop()


def pseudonym(tenant: str) -> Pseudonymizer:
    return keyed_hash(KEY.encode(), tenant)


def version_of(link: str) -> int:
    """The directory version a fake-Graph delta link resumes from (`$deltatoken=<v>.<s>.<e>`)."""
    token = parse_qs(urlsplit(link).query)["$deltatoken"][0]
    return int(token.split(".")[0])


async def check_link_not_ahead(w: World, tenant: str, gone: list[str]) -> str:
    """After a kill: a stored delta link never runs ahead of the data. Returns what was seen."""
    state = await StateStore(w.db, tenant).load()
    if state.delta_link is None:
        left = len(open_runs(await snapshot(w.db), tenant))
        return f"no link, {left} erasures open" if left else "no link"
    v = version_of(state.delta_link)
    assert v in w.expected_at, f"link of version {v}, which no round started from"
    changed = set(w.graph.directory.changed_since(v))
    stored = {p["user_id"]: p for p in await profiles(w.db, tenant)}
    for uid, fields in w.expected_at[v].items():
        if uid in changed:
            continue
        assert uid in stored, f"link at version {v} saved, but {uid} of that version is missing"
        got = {k: stored[uid].get(k) for k in fields}
        assert got == fields, f"link at version {v} saved, but {uid} is {got} != {fields}"
    if v != w.graph.directory.version:
        return f"link of the previous round (v{v})"
    await assert_converged(w.db, w.graph.directory, tenant)
    assert open_runs(await snapshot(w.db), tenant) == [], "link saved before erasures finished"
    for uid in gone:
        assert uid not in stored
    return "link of this round"


async def sync_round(w: World, rng: random.Random, label: str, gone: list[str]) -> None:
    """Rehearse the round on one tenant (timing it), then kill the other tenant's sync at
    random until a run is let finish."""
    w.expected_at[w.graph.directory.version] = w.graph.directory.expected_profiles()
    args = ["sync", "--json", "--tenant"]

    def first_request() -> Probe:
        after = len(w.graph.requests)

        async def seen() -> bool:
            return len(w.graph.requests) > after

        return seen

    outcome = await w.forker.run([*args, REHEARSAL], anchor=first_request())
    assert outcome.code == 0 and json.loads(outcome.out)["tenants"][0]["status"] == "ok", outcome
    await assert_converged(w.db, w.graph.directory, REHEARSAL)
    full = outcome.took
    seen: list[str] = []
    for _ in range(runs(KILLS_PER_ROUND)):
        delay = rng.uniform(0, full * 1.15)
        outcome = await w.forker.run([*args, CRASHED], delay=delay, anchor=first_request())
        assert outcome.killed or outcome.code == 0, outcome.err
        what = "killed" if outcome.killed else "finished"
        seen.append(f"{what} at {delay:.3f}s: {await check_link_not_ahead(w, CRASHED, gone)}")
    outcome = await w.forker.run([*args, CRASHED])
    assert outcome.code == 0 and json.loads(outcome.out)["tenants"][0]["status"] == "ok", outcome
    assert await check_link_not_ahead(w, CRASHED, gone) == "link of this round"
    print(f"{label}: rehearsal {full:.2f}s after its first Graph request; " + "; ".join(seen))


def check_erased(
    seeded: dict[Key, Doc], after: dict[Key, Doc], tenant: str, gone: list[str]
) -> None:
    for uid in gone:
        check_subject(seeded, after, tenant, uid, MODE, pseudonym(tenant))
        check_log(after, log_subject(pseudonym(tenant), uid), owed(seeded, tenant, uid, MODE))
    assert open_runs(after, tenant) == []


async def test_sync_killed_at_random_never_runs_ahead_and_converges(world: World) -> None:
    rng, seed_used = seeded_rng("sync", 70_007)
    directory = world.graph.directory
    ids = populate(directory, USERS)
    # Leaves of the org tree (nobody reports to them) who will be deleted in Graph.
    doomed_delta, doomed_resync = ids[-12:-8], ids[-8:-5]
    for tenant in TENANTS:
        store = TenantStore(world.db, tenant)
        for uid in doomed_delta + doomed_resync:
            at = datetime(2026, 11, 1, tzinfo=UTC)
            await seed_person(store, uid, PARTNER, at, skip={Coll.PROFILES})  # the sync's
            await add_volume(store, uid, PARTNER, PER_PERSON)

    await sync_round(world, rng, f"seed {seed_used} initial full sync", [])
    seeded = await snapshot(world.db)

    for i, uid in enumerate(ids[10:40]):
        directory.update(uid, jobTitle=f"Kıdemli Uzman {i}")
    for uid in ids[40:45]:
        directory.soft_delete(uid)
    for uid in ids[45:50]:
        directory.set_manager(uid, ids[1])
    for i in range(USERS, USERS + 15):
        directory.add(make_user(i), ids[2])
    for uid in doomed_delta:
        directory.hard_delete(uid)
    await sync_round(world, rng, f"seed {seed_used} incremental round", doomed_delta)

    for uid in ids[40:45]:
        directory.restore(uid)  # a full enumeration lists them again
    for uid in doomed_resync:
        directory.hard_delete(uid)
    directory.update(ids[5], department="Hukuk")
    world.graph.expire_tokens()  # 410: the next round is a full resync with a sweep
    gone = doomed_delta + doomed_resync
    await sync_round(world, rng, f"seed {seed_used} full resync", gone)

    after = await snapshot(world.db)
    for tenant in TENANTS:
        check_erased(seeded, after, tenant, gone)
    check_no_raw_ids(after, [*ids, PARTNER])


async def test_full_round_finishes_an_erasure_a_crash_cut_short(db: Db) -> None:
    """The case the random kills above found: the sweep's erasure of someone who left dies
    after their profile is gone, so the redone full round has no stale profile to find them
    by; their run document must be enough for the sweep to finish the erasure."""
    fake = FakeGraph(page_size=7)
    await fake.start()
    try:
        await register(db, TENANT, removal_mode=MODE.value)
        store = TenantStore(db, TENANT)
        leaver = populate(fake.directory, 12)[-1]
        await seed_person(
            store, leaver, PARTNER, datetime(2026, 11, 1, tzinfo=UTC), skip={Coll.PROFILES}
        )
        await add_volume(store, leaver, PARTNER, 20)
        on_deleted = make_erasure(db, KEY.encode())
        await full_round(db, fake, on_deleted)
        before = await snapshot(db)
        fake.directory.hard_delete(leaver)

        async def crash_once_the_profile_is_gone(label: str) -> None:
            if label == "step-done:profiles":
                raise Crash(label)

        with pytest.raises(Crash):
            await erase_user(
                store,
                leaver,
                MODE,
                reason=REASON_ABSENT,
                pseudonym=pseudonym(TENANT),
                hook=crash_once_the_profile_is_gone,
            )
        stats = await full_round(db, fake, on_deleted)
        assert stats.removed == 1
        after = await snapshot(db)
        await assert_converged(db, fake.directory)
        assert open_runs(after, TENANT) == []
        check_erased(before, after, TENANT, [leaver])
    finally:
        await fake.stop()


async def full_round(db: Db, fake: FakeGraph, on_deleted: OnDeleted) -> RoundStats:
    source = source_for(fake)
    try:
        return await DeltaEngine(db, TENANT, source, on_deleted).run(full=True)
    finally:
        await source.aclose()
