"""Usage KPIs as daily count buckets: the recorder adds up per person and day; an export shows a
person their own buckets and never the anonymous totals; the sweep's merge into the totals counts
every bucket exactly once however a run is interrupted and whichever run finishes it; an
erasure deletes the person's buckets and never adds to a total (a day's total of one person
names them); and the per-event documents from before the buckets are folded in once, at start."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot import kpi as kpi_module
from bot.kpi import KpiRecorder
from privacy.erasure import erase_user, log_subject
from privacy.export import build_export
from privacy.removal_modes import RemovalMode
from privacy.retention import sweep_tenant
from privacy.rollup import day_of
from privacy.runs import StoreOutcome
from privacy.strategies import keyed_hash
from privacy.usage import fold_tenant
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.crash import Crash, CrashAt
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, FailLoudly, record_kpis, register
from tests.support.processes import Cli

TENANT = "aaaaaaaa-0000-0000-0000-00000000c001"
ANN = "11111111-0000-0000-0000-00000000c001"
BOB = "22222222-0000-0000-0000-00000000c002"
CAROL = "33333333-0000-0000-0000-00000000c003"
KEY = b"kpi-test-key"
DAY = timedelta(days=1)
TODAY = day_of(NOW)
ANONYMIZE = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class CrashOn:
    label: str

    async def __call__(self, label: str) -> None:
        if label == self.label:
            raise Crash(label)


def totals_of(docs: list[dict[str, Any]]) -> list[tuple[int, dict[str, int], int]]:
    """(days before today, counts, active users) of each anonymous total, oldest first."""
    return [((TODAY - t["day"]).days, t["counts"], t["active_users"]) for t in docs]


async def everything(db: Db) -> str:
    return repr(await db[Coll.KPI_EVENTS].find({}).to_list(None))


# --- the recorder -------------------------------------------------------------------------


async def test_the_recorder_keeps_one_bucket_per_person_and_day(db: Db) -> None:
    store = TenantStore(db, TENANT)
    clock = Clock(NOW)
    recorder = KpiRecorder(db, FailLoudly(), clock=clock)
    recorder.record(TENANT, ANN, "search")
    recorder.record(TENANT, ANN, "search")
    recorder.record(TENANT, BOB, "card")
    await recorder.flush()
    [bucket] = await store.kpi_events.for_user(ANN)
    assert bucket["counts"] == {"search": 2} and bucket["day"] == TODAY
    assert bucket["_id"] == bucket["tkey"] == f"{TENANT}:kpi:{ANN}:2026-11-25"
    # Nothing about when in the day: only the day and when the bucket was last written.
    assert bucket["tuser"] == f"{TENANT}:{ANN}"  # the person key (storage.scoped)
    assert set(bucket) == {
        "_id", "tkey", "tuser", "tenant_id", "user_id", "day", "counts", "updated_at"
    }  # fmt: skip

    # Later flushes add to the same bucket; a new UTC day starts a new one.
    recorder.record(TENANT, ANN, "search")
    recorder.record(TENANT, ANN, "profile.card")  # a dot would nest: it is not one
    clock.now = TODAY + DAY + timedelta(seconds=1)
    recorder.record(TENANT, ANN, "search")
    await recorder.flush()
    buckets = await store.kpi_events.for_user(ANN)
    assert [((b["day"] - TODAY).days, b["counts"]) for b in buckets] == [
        (0, {"search": 3, "profile_card": 1}),
        (1, {"search": 1}),
    ]
    assert await store.kpi_events.count() == 3  # BOB's bucket and ANN's two
    assert await undeclared(db) == []


async def test_the_buffer_is_bounded_by_buckets_and_flushes_early_when_full(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = KpiRecorder(db, FailLoudly(), clock=lambda: NOW)
    for _ in range(10_000):
        recorder.record(TENANT, ANN, "search")
    assert recorder.buffered == 1  # ten thousand events, one bucket in memory
    await recorder.flush()
    assert recorder.buffered == 0

    # With the timer far away, only a full buffer can make the flusher write.
    monkeypatch.setattr(kpi_module, "FLUSH_SECONDS", 60.0)
    monkeypatch.setattr(kpi_module, "MAX_BUFFER", 3)
    store = TenantStore(db, TENANT)
    recorder.start()
    try:
        await asyncio.sleep(0.1)  # the flusher is waiting now
        for user in (BOB, CAROL):
            recorder.record(TENANT, user, "search")
        await asyncio.sleep(0.3)
        assert await store.kpi_events.count() == 1  # two buckets buffered: not yet
        recorder.record(TENANT, "44444444-0000-0000-0000-00000000c004", "search")
        for _ in range(50):
            if await store.kpi_events.count() == 4:
                break
            await asyncio.sleep(0.05)
        assert await store.kpi_events.count() == 4
    finally:
        await recorder.stop()
    [bucket] = await store.kpi_events.for_user(ANN)
    assert bucket["counts"] == {"search": 10_000}


# --- export ----------------------------------------------------------------------------------


async def test_an_export_holds_the_persons_buckets_and_never_the_totals(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1)
    store = TenantStore(db, TENANT)
    await record_kpis(db, TENANT, ANN, ["search"], NOW - 100 * DAY)
    await record_kpis(db, TENANT, BOB, ["search"], NOW - 100 * DAY)
    await record_kpis(db, TENANT, ANN, ["search", "card", "search"], NOW - DAY)
    await record_kpis(db, TENANT, ANN, ["card"], NOW)
    await record_kpis(db, TENANT, BOB, ["search"], NOW)
    await sweep_tenant(store, pseudonym=keyed_hash(KEY, TENANT), now=NOW)
    [total] = await store.kpi_events.totals()
    assert (total["counts"], total["active_users"]) == ({"search": 2}, 2)

    result = await build_export(store, ANN, locale="en", now=NOW)
    with zipfile.ZipFile(io.BytesIO(result.zip_bytes)) as zf:
        files = {name: zf.read(name).decode("utf-8") for name in zf.namelist()}
    records = json.loads(files["stores/kpi_events.json"])["records"]
    assert records == [
        {"day": "2026-11-24T00:00:00Z", "counts": {"search": 2, "card": 1}},
        {"day": "2026-11-25T00:00:00Z", "counts": {"card": 1}},
    ]
    assert result.counts["kpi_events"] == 2
    text = "".join(files.values())
    assert "active_users" not in text and BOB not in text
    assert not any(token in text for token in total["merged"])


# --- merging exactly once -----------------------------------------------------------------


async def seed_for_erasure(db: Db, tenant: str) -> TenantStore:
    await register(db, tenant, kpi_min_users=1)
    store = TenantStore(db, tenant)
    await record_kpis(db, tenant, ANN, ["search", "search"], NOW - 2 * DAY)
    await record_kpis(db, tenant, ANN, ["card"], NOW - DAY)
    await record_kpis(db, tenant, ANN, ["search"], NOW)
    await record_kpis(db, tenant, BOB, ["search"], NOW - DAY)
    # A total that already exists: the sweep merged a day ANN and CAROL were active on.
    await record_kpis(db, tenant, ANN, ["search"], NOW - 100 * DAY)
    await record_kpis(db, tenant, CAROL, ["card"], NOW - 100 * DAY)
    await sweep_tenant(store, pseudonym=keyed_hash(KEY, tenant), now=NOW)
    return store


async def erase(
    store: TenantStore, user: str, mode: RemovalMode = ANONYMIZE, hook: Any = None
) -> list[StoreOutcome]:
    return await erase_user(
        store, user, mode, reason="left", pseudonym=keyed_hash(KEY, store.tenant_id), hook=hook
    )


SWEPT_TOTALS = [(100, {"search": 1, "card": 1}, 2)]


@pytest.mark.parametrize("mode", [ANONYMIZE, RemovalMode.DELETE_ALL])
async def test_an_erasure_deletes_the_persons_buckets_and_adds_to_no_total(
    db: Db, mode: RemovalMode
) -> None:
    """Merging ANN's three recent buckets would make three totals of one person each (the
    sweep has not merged those days yet): in every mode they are deleted instead, and the
    totals the sweep made stay exactly as they were."""
    store = await seed_for_erasure(db, f"cccccccc-0000-0000-0000-{uuid.uuid4().hex[:12]}")
    assert totals_of(await store.kpi_events.totals()) == SWEPT_TOTALS
    outcomes = await erase(store, ANN, mode)
    assert [(o.store, o.method, o.records) for o in outcomes] == [("kpi_events", "delete", 3)]
    assert totals_of(await store.kpi_events.totals()) == SWEPT_TOTALS
    assert await store.kpi_events.for_user(ANN) == []
    [bob] = await store.kpi_events.for_user(BOB)
    assert bob["counts"] == {"search": 1} and "merge_token" not in bob
    log = [e for e in await store.destruction_log.recent(limit=50) if e["subject"]]
    mine = [e for e in log if e["subject"] == log_subject(keyed_hash(KEY, store.tenant_id), ANN)]
    assert [(e["store"], e["method"], e["records"], e["status"]) for e in mine] == [
        ("kpi_events", "delete", 3, "done")
    ]
    assert await erase(store, ANN) == []  # and nothing is left to do
    assert ANN not in await everything(db)
    assert await undeclared(db) == []


async def test_buckets_an_older_crashed_erasure_marked_are_deleted_not_merged(db: Db) -> None:
    """Before erasures deleted buckets, a crashed one left the person's buckets marked with a
    token of their own; the rerun (the next sweep finishes stalled erasures) must not merge
    them into a day's total now."""
    tenant = f"dddddddd-0000-0000-0000-{uuid.uuid4().hex[:12]}"
    store = await seed_for_erasure(db, tenant)
    coll = store.collections[Coll.KPI_EVENTS]
    for bucket in await store.kpi_events.for_user(ANN):
        token = "p" + uuid.uuid4().hex  # the old per-person token shape
        await coll.update_many({"_id": bucket["_id"]}, {"$set": {"merge_token": token}})
    await erase(store, ANN)
    await sweep_tenant(store, pseudonym=keyed_hash(KEY, tenant), now=NOW + DAY)
    assert totals_of(await store.kpi_events.totals()) == SWEPT_TOTALS
    assert await store.kpi_events.count({"merge_token": {"$exists": True}}) == 0
    assert ANN not in await everything(db)


async def seed_for_sweep(db: Db, tenant: str, mode: RemovalMode) -> TenantStore:
    await register(db, tenant, kpi_min_users=1, removal_mode=mode.value)
    store = TenantStore(db, tenant)
    await record_kpis(db, tenant, ANN, ["search", "search"], NOW - 100 * DAY)
    await record_kpis(db, tenant, BOB, ["search"], NOW - 100 * DAY)
    await record_kpis(db, tenant, ANN, ["card"], NOW - DAY)
    return store


@pytest.mark.parametrize("mode", [ANONYMIZE, RemovalMode.DELETE_ALL])
@pytest.mark.parametrize("crash", ["marked:kpi_events", "merged:kpi_events"])
async def test_an_erasure_after_a_crashed_sweep_never_double_counts(
    db: Db, mode: RemovalMode, crash: str
) -> None:
    tenant = f"dddddddd-0000-0000-0000-{uuid.uuid4().hex[:12]}"
    store = await seed_for_sweep(db, tenant, mode)
    psn = keyed_hash(KEY, tenant)
    with pytest.raises(Crash):
        await sweep_tenant(store, pseudonym=psn, now=NOW, hook=CrashOn(crash))
    await erase(store, ANN, mode)
    report = await sweep_tenant(store, pseudonym=psn, now=NOW + DAY)
    assert report.resumed

    # Crashed after merging: ANN's day-100 bucket is in the total already, with BOB's, once.
    # Crashed after marking only: the erasure deleted ANN's marked bucket before it counted.
    old_day = (100, {"search": 3}, 2) if crash == "merged:kpi_events" else (100, {"search": 1}, 1)
    # ANN's recent bucket was deleted, never merged: no total of one person for yesterday.
    assert totals_of(await store.kpi_events.totals()) == [old_day]
    assert await store.kpi_events.count({"user_id": {"$exists": True}}) == 0
    assert await store.kpi_events.count({"merge_token": {"$exists": True}}) == 0
    assert ANN not in await everything(db)
    assert await undeclared(db) == []


async def test_merging_touches_only_its_own_tenant(db: Db) -> None:
    other = "eeeeeeee-0000-0000-0000-00000000c002"
    for tenant in (TENANT, other):
        await register(db, tenant, kpi_min_users=1)
        await record_kpis(db, tenant, ANN, ["search"], NOW - 100 * DAY)
    await sweep_tenant(TenantStore(db, TENANT), pseudonym=keyed_hash(KEY, TENANT), now=NOW)
    assert totals_of(await TenantStore(db, TENANT).kpi_events.totals()) == [(100, {"search": 1}, 1)]
    untouched = TenantStore(db, other)
    assert await untouched.kpi_events.totals() == []
    [bucket] = await untouched.kpi_events.for_user(ANN)
    assert "merge_token" not in bucket


async def test_at_most_once_upserts_apply_once_per_token(db: Db) -> None:
    coll = TenantStore(db, TENANT).collections[Coll.KPI_EVENTS]

    def add(n: int, token: str) -> Any:
        return coll.upsert_op(["k"], {}, inc={"n": n}, once=("merged", token))

    # Twice in one bulk (the second collides while creating) and again later: counted once.
    await coll.bulk([add(1, "a"), add(1, "a")])
    await coll.bulk([add(1, "a"), add(10, "b")])
    doc = await coll.get("k")
    assert doc is not None and (doc["n"], doc["merged"]) == (11, ["a", "b"])


# --- the fold of per-event documents -------------------------------------------------------


async def seed_legacy(db: Db, tenant: str) -> TenantStore:
    """Per-event documents as the old recorder (keyed upserts) and `EventLog.append` wrote
    them, anonymized ones included, next to a bucket written after the upgrade."""
    await register(db, tenant, kpi_min_users=1)
    store = TenantStore(db, tenant)
    coll = store.collections[Coll.KPI_EVENTS]
    events: list[dict[str, Any]] = [
        {"user_id": ANN, "kind": "search", "at": NOW - DAY},
        {"user_id": ANN, "kind": "search", "at": NOW - DAY + timedelta(hours=3)},
        {"user_id": ANN, "kind": "card", "at": NOW - DAY},
        {"user_id": ANN, "kind": "search", "at": NOW - 80 * DAY},
        {"user_id": BOB, "kind": "search", "at": NOW - DAY},
        {"kind": "search", "at": NOW - 200 * DAY, "anonymized": True},
        {"kind": "card", "at": NOW - 200 * DAY, "anonymized": True},
    ]
    await coll.bulk([coll.upsert_op([f"kpi:{uuid.uuid4().hex}"], e) for e in events[:4]])
    for event in events[4:]:
        await coll.insert(event)
    await record_kpis(db, tenant, ANN, ["search"], NOW - DAY)
    return store


async def folded_state(store: TenantStore) -> tuple[Any, ...]:
    buckets = [
        (b["user_id"], (TODAY - b["day"]).days, b["counts"])
        for user in (ANN, BOB)
        for b in await store.kpi_events.for_user(user)
    ]
    return tuple(buckets), tuple(totals_of(await store.kpi_events.totals()))


FOLDED = (
    (
        (ANN, 80, {"search": 1}),
        (ANN, 1, {"search": 3, "card": 1}),
        (BOB, 1, {"search": 1}),
    ),
    ((200, {"search": 1, "card": 1}, 0),),
)


async def test_per_event_documents_are_folded_into_buckets_once(db: Db) -> None:
    labels: list[str] = []

    async def record(label: str) -> None:
        labels.append(label)

    clean = await seed_legacy(db, "ffffffff-0000-0000-0000-00000000c000")
    assert await fold_tenant(clean, hook=record) == 7
    assert await folded_state(clean) == FOLDED
    assert await fold_tenant(clean) == 0  # nothing left: a no-op
    assert await folded_state(clean) == FOLDED

    for step, label in enumerate(labels, start=1):
        store = await seed_legacy(db, f"ffffffff-0000-0000-0000-{step:012d}")
        with pytest.raises(Crash):
            await fold_tenant(store, hook=CrashAt(step))
        await fold_tenant(store)
        assert await folded_state(store) == FOLDED, label
        assert await store.kpi_events.count({"at": {"$exists": True}}) == 0, label
    assert await undeclared(db) == []
    # Merged later like any bucket: the fold's journal tokens do not get in the way.
    await sweep_tenant(clean, pseudonym=keyed_hash(KEY, clean.tenant_id), now=NOW + 30 * DAY)
    merged = Counter({d: c["search"] for d, c, _ in totals_of(await clean.kpi_events.totals())})
    # Day 200's total came from anonymized per-event documents: it counts no known person, so
    # it cannot show it covers k people and the sweep suppresses it (k-anonymity).
    assert merged == Counter({80: 1})


async def test_an_erasure_during_a_half_done_fold_still_erases_everything(db: Db) -> None:
    store = await seed_legacy(db, TENANT)
    with pytest.raises(Crash, match="marked:legacy"):
        # Marks, folds and deletes the oldest day, then marks the next: ANN's, 80 days ago.
        await fold_tenant(store, hook=CrashAt(4))
    assert await store.kpi_events.count({"fold_token": {"$exists": True}}) == 1
    await erase(store, ANN)  # e.g. a replica still on the old version asked for it
    assert ANN not in await everything(db)
    await fold_tenant(store)
    buckets, totals = await folded_state(store)
    assert buckets == ((BOB, 1, {"search": 1}),)
    # ANN's bucket was deleted, not merged into a total of one person.
    assert totals == ((200, {"search": 1, "card": 1}, 0),)
    assert ANN not in await everything(db)


async def test_every_start_folds_what_is_left(cli: Cli, db: Db) -> None:
    store = await seed_legacy(db, TENANT)
    done = cli("db", "migrate")  # any `juno` command opens the database the same way
    assert done.code == 0, done.err
    assert await folded_state(store) == FOLDED
    assert await undeclared(db) == []
