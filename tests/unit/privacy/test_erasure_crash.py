"""Erasure survives SIGKILL at any moment: `juno dsr erase` runs in its own process against the
session's MongoDB wire server (which lives in the test process, so the data outlives the kill),
is killed after a seeded random delay counted from the moment its run is saved (spread over a
little more than a whole erasure takes), and the erasure is then finished in-process.

Each run erases a different person of one tenant, so one seeding serves many kills, and every
earlier run's result and everyone not yet erased are checked again after each kill. What must
hold after the rerun comes from the data map (tests/support/erasure_oracle.py), not from any store's
current document shape:
- the person's records are exactly what the mode's strategy leaves (gone, kept as they were,
  pseudonymized, nullified, taken off a list) and their raw id is gone from every store whose
  action is not `keep`;
- no one else's records change, in this tenant or in another tenant holding the same people;
- the destruction log counts each store's records once (the killed run's count is not added
  to the rerun's, and nothing is missing), every entry is confirmed, none holds a raw id, and
  no run document (which holds the raw id while it runs) is left.
Right after each kill, before the rerun, no log entry claims a store done while the person's
records are still there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest

from privacy.erasure import erase_user, log_subject
from privacy.removal_modes import RemovalMode
from privacy.strategies import keyed_hash
from privacy.suppression import tokenizer
from storage.collections import Coll
from storage.repositories import TenantStore
from storage.search_index import version_id
from tests.support.crash import Forker, Outcome, runs, seeded_rng
from tests.support.erasure_oracle import (
    OUTPUT,
    Db,
    Doc,
    Key,
    add_volume,
    check_log,
    check_no_raw_ids,
    check_subject,
    check_totals,
    is_total,
    log_not_ahead,
    mentions,
    open_runs,
    owed,
    seed_person,
    snapshot,
    tenant_of,
)
from tests.support.privacy_seed import register
from tests.support.processes import REPO, base_env

pytestmark = pytest.mark.crash

TENANT = "cccccccc-0000-4000-8000-000000000001"
ELSEWHERE = "dddddddd-0000-4000-8000-000000000002"  # holds the same people; never touched
KEY = "crash-test-pseudonym-key"
PSEUDONYM = keyed_hash(KEY.encode(), TENANT)
BYSTANDER = "bbbbbbbb-0000-4000-8000-00000000000b"  # never erased
PARTNER = "bbbbbbbb-0000-4000-8000-00000000000c"  # the other person on shared lists
PER_PERSON = 600  # usage records of each person erased: the step most kills land in
KILLS_PER_MODE = 5


def person(i: int) -> str:
    return f"eeeeeeee-0000-4000-8000-{i:012d}"


async def seed(db: Db, people: list[str], mode: RemovalMode) -> None:
    """Everyone has a record in every personal store of both tenants. Lists of people pair each
    with PARTNER, never with each other, so erasing one leaves the others' records as they
    were; the bystander has a bulk of usage records too."""
    everyone = [*people, BYSTANDER]
    at = datetime(2026, 11, 1, tzinfo=UTC)
    for tenant in (TENANT, ELSEWHERE):
        await register(db, tenant, admins=tuple(everyone), removal_mode=mode.value)
        store = TenantStore(db, tenant)
        for who in everyone:
            await seed_person(store, who, PARTNER, at)
        await add_volume(store, BYSTANDER, PARTNER, 100)


def check_others(before: Mapping[Key, Doc], after: Mapping[Key, Doc], user: str) -> None:
    """Nothing but the person's own records changed; the only records added outside the log
    are the command's audit entry and the person's suppression (when the killed run got that
    far; `juno dsr erase` records it first, so the next sync cannot bring them back)."""
    token = tokenizer(PSEUDONYM)(user)
    for key, doc in before.items():
        if key[0] in OUTPUT or (tenant_of(doc) == TENANT and mentions(doc, user)):
            continue
        if tenant_of(doc) == TENANT and is_total(key, doc):
            continue  # the day's anonymous totals: check_totals
        if key == ("sync_state", version_id(TENANT)):
            continue  # the directory version: a counter every profile write bumps, no one's data
        assert after.get(key) == doc, f"{key} changed but is not {user}'s"
    for key, doc in after.items():
        if tenant_of(doc) == TENANT and is_total(key, doc):
            continue
        if key not in before and key[0] not in OUTPUT:
            if key[0] == Coll.SUPPRESSIONS.value:
                assert doc.get("token") == token and user not in repr(doc), doc
                continue
            assert key[0] == Coll.AUDIT_LOG.value and doc.get("actor") == "operator", doc


def landed(docs: Mapping[Key, Doc], done: list[str]) -> str:
    if open_runs(docs, TENANT):
        return f"mid-run, {len(done)} stores logged done"
    return "after the run closed" if done else "before the run opened"


@pytest.fixture
async def forker(mongo_uri: str, db_name: str, tmp_path: Path) -> AsyncIterator[Forker]:
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_PSEUDONYM_KEY=KEY,
        JUNO_DATA_DIR=str(tmp_path / "var"),
        PYTHONPATH=str(REPO),
    )
    server = await Forker.open(env, tmp_path)
    yield server
    await server.close()


def erase(who: str) -> list[str]:
    return ["dsr", "erase", "--tenant-id", TENANT, "--user", who, "--reason", "crash test"]


@pytest.mark.parametrize("mode", list(RemovalMode))
async def test_erasure_killed_at_random_converges(
    db: Db, forker: Forker, mode: RemovalMode
) -> None:
    rng, seed_used = seeded_rng(f"erasure/{mode}", 90_001)
    people = [person(i) for i in range(runs(KILLS_PER_MODE) + 1)]
    await seed(db, people, mode)
    store = TenantStore(db, TENANT)

    async def opened() -> bool:  # kill delays count from the moment the run is saved
        return await db[Coll.DESTRUCTION_RUNS].find_one({"tenant_id": TENANT}) is not None

    async def closed() -> bool:
        return not await opened()

    full = 0.0
    for i, who in enumerate(people):
        await add_volume(store, who, PARTNER, PER_PERSON)
        before = await snapshot(db)
        want = owed(before, TENANT, who, mode)
        assert want, "nothing owed: the seeding does not reach the erasure"
        if i == 0:  # one whole run first, to scale the delays of the kills
            outcome = await forker.run(erase(who), anchor=opened, until=closed)
            assert outcome.code == 0, outcome.err
            full, where = outcome.took, "uninterrupted"
        else:
            delay = rng.uniform(0, full * 1.15)
            outcome = await forker.run(erase(who), delay=delay, anchor=opened)
            assert outcome.killed or outcome.code == 0, outcome.err
            if not outcome.killed:  # finished first: a fresher measure of a whole erasure
                full = outcome.took
            killed_at = await snapshot(db)
            where = landed(
                killed_at, log_not_ahead(killed_at, TENANT, who, log_subject(PSEUDONYM, who), want)
            )
            await erase_user(store, who, mode, reason="crash test rerun", pseudonym=PSEUDONYM)
        report(seed_used, i, outcome, where)
        after = await snapshot(db)
        check_subject(before, after, TENANT, who, mode, PSEUDONYM)
        check_others(before, after, who)
        check_totals(before, after, TENANT)
        check_log(after, log_subject(PSEUDONYM, who), want)
        assert open_runs(after, TENANT) == [], "a run document (with the raw id) was left"
        check_no_raw_ids(after, [*people, BYSTANDER, PARTNER], PSEUDONYM)


def report(seed: int, i: int, outcome: Outcome, where: str) -> None:
    what = "killed" if outcome.killed else f"exited {outcome.code}"
    timing = f"delay {outcome.delay:.3f}s, took {outcome.took:.3f}s"
    print(f"seed {seed} run {i}: {what}, {timing} ({where})")
