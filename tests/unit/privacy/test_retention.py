"""Retention sweeps: what the data map says, on time to the day, resumable, and logged without
naming anyone."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from juno.jobs import RetentionJob
from privacy.erasure import log_subject
from privacy.retention import sweep_tenant, sweep_tenants
from privacy.rollup import day_of
from privacy.strategies import keyed_hash
from storage.collections import Coll
from storage.repositories import TenantNotFound, TenantStore
from tests.support.crash import Crash, CrashAt
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, record_kpis, register

TENANT = "aaaaaaaa-0000-0000-0000-00000000b001"
ANN = "11111111-0000-0000-0000-00000000b001"
BOB = "22222222-0000-0000-0000-00000000b002"
KEY = b"retention-test-key"
DAY = timedelta(days=1)
TODAY = day_of(NOW)


async def sweep(store: TenantStore, now: datetime, **kw: Any) -> dict[str, int]:
    report = await sweep_tenant(store, pseudonym=keyed_hash(KEY, store.tenant_id), now=now, **kw)
    return report.records


async def kpi_at(store: TenantStore, user: str, at: datetime, *kinds: str) -> None:
    await record_kpis(store.db, store.tenant_id, user, kinds or ("search",), at)


def shape(totals: list[dict[str, Any]]) -> list[tuple[int, dict[str, int], int]]:
    """(days before TODAY, counts, active users) of each anonymous total, oldest first."""
    return [((TODAY - t["day"]).days, t["counts"], t["active_users"]) for t in totals]


async def test_kpis_are_anonymized_after_the_tenants_retention_to_the_day(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1)
    store = TenantStore(db, TENANT)
    # Buckets of the days 89, 90 and 91 days before today (whatever the time of day).
    await kpi_at(store, ANN, TODAY - 89 * DAY + timedelta(hours=23), "search")
    await kpi_at(store, ANN, TODAY - 90 * DAY + timedelta(hours=5), "search", "search")
    await kpi_at(store, ANN, TODAY - 91 * DAY, "search", "search", "search", "card")
    await kpi_at(store, BOB, TODAY - 91 * DAY + timedelta(hours=12), "search")

    # At midnight the day-90 bucket began exactly 90 days ago: kept (strict), day 91 merged.
    assert await sweep(store, TODAY) == {"kpi_events": 2}
    kept = await store.kpi_events.for_user(ANN)
    assert [((TODAY - b["day"]).days, b["counts"]) for b in kept] == [
        (90, {"search": 2}),
        (89, {"search": 1}),
    ]
    assert await store.kpi_events.for_user(BOB) == []
    [total] = await store.kpi_events.totals()
    assert shape([total]) == [(91, {"search": 4, "card": 1}, 2)]
    assert "user_id" not in total and ANN not in repr(total) and BOB not in repr(total)

    assert await sweep(store, TODAY) == {}  # idempotent: nothing newly due
    assert await sweep(store, TODAY + timedelta(hours=1)) == {"kpi_events": 1}  # day 90
    assert await sweep(store, TODAY + DAY) == {}  # day 89 began exactly 90 days ago
    # One tick later (BSON dates keep milliseconds) day 89 is due too.
    assert await sweep(store, TODAY + DAY + timedelta(milliseconds=1)) == {"kpi_events": 1}
    assert await store.kpi_events.for_user(ANN) == []
    assert shape(await store.kpi_events.totals()) == [
        (91, {"search": 4, "card": 1}, 2),
        (90, {"search": 2}, 1),
        (89, {"search": 1}, 1),
    ]
    assert await store.kpi_events.count() == 3  # only the anonymous totals are left

    log = await store.destruction_log.recent(limit=10)
    assert [(e["store"], e["method"], e["records"], e["subject"]) for e in log] == [
        ("kpi_events", "aggregate", 1, None),
        ("kpi_events", "aggregate", 1, None),
        ("kpi_events", "aggregate", 2, None),
    ]
    assert await undeclared(db) == []


async def test_a_tenants_own_kpi_retention_applies(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1, kpi_retention_days=30)
    store = TenantStore(db, TENANT)
    await kpi_at(store, ANN, NOW - 29 * DAY)
    await kpi_at(store, ANN, NOW - 31 * DAY)
    assert await sweep(store, NOW) == {"kpi_events": 1}


async def test_expired_exports_and_stale_dialog_state_are_deleted(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1)
    store = TenantStore(db, TENANT)
    await store.exports.put_once("old", {"user_id": ANN, "zip": b"PK", "expires_at": NOW - DAY})
    await store.exports.put_once("new", {"user_id": ANN, "zip": b"PK", "expires_at": NOW + DAY})
    await store.bot_state.put("a", {"user_id": ANN, "updated_at": NOW, "expires_at": NOW - DAY})
    await store.bot_state.put("b", {"user_id": ANN, "updated_at": NOW - 91 * DAY})
    await store.bot_state.put("c", {"user_id": BOB, "updated_at": NOW - 89 * DAY})
    assert await sweep(store, NOW) == {"exports": 1, "bot_state": 2}
    assert [d["_id"].rsplit(":", 1)[1] for d in await store.exports.find({})] == ["new"]
    assert [d["user_id"] for d in await store.bot_state.find({})] == [BOB]


async def test_soft_deleted_accounts_are_erased_after_the_grace_period(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1, removal_mode="delete_all")
    store = TenantStore(db, TENANT)
    gone, recent, disabled = ANN, BOB, "33333333-0000-0000-0000-00000000b003"
    await store.profiles.upsert_many(
        [
            {"user_id": gone, "hidden": True, "soft_deleted_at": NOW - 31 * DAY},
            {"user_id": recent, "hidden": True, "soft_deleted_at": NOW - 29 * DAY},
            {"user_id": disabled, "hidden": True, "account_enabled": False},
        ]
    )
    for user in (gone, recent):
        await kpi_at(store, user, NOW - DAY)
    report = await sweep_tenant(store, pseudonym=keyed_hash(KEY, TENANT), now=NOW, grace_days=30)
    assert report.erased_users == 1
    assert report.records == {"profiles": 1, "kpi_events": 1}
    assert await store.profiles.get(gone) is None
    assert await store.profiles.get(recent) is not None
    assert await store.profiles.get(disabled) is not None  # hidden, but still in the directory
    assert await store.kpi_events.for_user(gone) == []
    [entry] = [e for e in await store.destruction_log.recent() if e["store"] == "profiles"]
    assert (
        entry["subject"] == log_subject(keyed_hash(KEY, TENANT), gone)
        and "soft-deleted" in entry["reason"]
    )


async def test_accountability_records_age_out_after_three_years(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1)
    store = TenantStore(db, TENANT)
    old, young = NOW - 1096 * DAY, NOW - 1094 * DAY
    for at in (old, young):
        await store.audit_log.append({"actor": ANN, "action": "login", "at": at})
        await store.destruction_log.append({"subject": "psn_x", "store": "profiles", "at": at})
        await store.access_reviews.append({"reviewer": "Ayşe", "admins": [], "at": at})
    await store.dsr_requests.put_once(
        "closed", {"user_id": ANN, "type": "access", "status": "completed", "closed_at": old}
    )
    await store.dsr_requests.put_once(
        "open", {"user_id": ANN, "type": "erasure", "status": "open", "created_at": old}
    )
    records = await sweep(store, NOW)
    assert records == {
        "audit_log": 1,
        "destruction_log": 1,
        "access_reviews": 1,
        "dsr_requests": 1,
    }
    closed = await store.dsr_requests.get("closed")
    assert closed is not None and closed["user_id"] == keyed_hash(KEY, TENANT)(ANN)
    still_open = await store.dsr_requests.get("open")
    assert still_open is not None and still_open["user_id"] == ANN  # open: never aged out
    assert await sweep(store, NOW) == {}  # a pseudonym is not pseudonymized again


async def seed_due(db: Db, tenant: str) -> TenantStore:
    await register(db, tenant, kpi_min_users=1)
    store = TenantStore(db, tenant)
    for days in (100, 120):
        await kpi_at(store, ANN, NOW - days * DAY)
    await store.exports.put_once("old", {"user_id": ANN, "zip": b"PK", "expires_at": NOW - DAY})
    await store.bot_state.put("b", {"user_id": ANN, "updated_at": NOW - 91 * DAY})
    return store


async def test_an_interrupted_sweep_is_finished_by_the_next_one(db: Db) -> None:
    labels: list[str] = []

    async def record(label: str) -> None:
        labels.append(label)

    clean = await seed_due(db, "dddddddd-0000-0000-0000-000000000000")
    expected = await sweep(clean, NOW, hook=record)
    assert expected == {"kpi_events": 2, "exports": 1, "bot_state": 1}
    for step, label in enumerate(labels, start=1):
        store = await seed_due(db, f"dddddddd-0000-0000-0000-{step:012d}")
        with pytest.raises(Crash):
            await sweep(store, NOW, hook=CrashAt(step))
        # The next sweep runs a day later: it finishes the old run with the old cutoffs first.
        report = await sweep_tenant(
            store, pseudonym=keyed_hash(KEY, store.tenant_id), now=NOW + DAY
        )
        assert report.resumed is (label != "closed:retention"), label
        log = await store.destruction_log.recent(limit=20)
        totals: dict[str, int] = {}
        for entry in log:
            assert entry["status"] == "done", label
            totals[entry["store"]] = totals.get(entry["store"], 0) + entry["records"]
        assert totals == expected, label
        assert await store.kpi_events.for_user(ANN) == []
        # Counted once each, whichever write the crash followed.
        assert shape(await store.kpi_events.totals()) == [
            (120, {"search": 1}, 1),
            (100, {"search": 1}, 1),
        ], label
        assert await store.destruction_runs.count() == 0
    assert await undeclared(db) == []


async def test_the_destruction_log_holds_no_personal_data(db: Db) -> None:
    await register(db, TENANT, kpi_min_users=1, removal_mode="delete_all")
    store = TenantStore(db, TENANT)
    for user in (ANN, BOB):
        await kpi_at(store, user, NOW - 200 * DAY)
        await store.profiles.upsert_many(
            [{"user_id": user, "display_name": "Ann Example", "soft_deleted_at": NOW - 60 * DAY}]
        )
        await store.audit_log.append({"actor": user, "action": "x", "at": NOW - DAY})
    await sweep(store, NOW)
    log = await store.collections[Coll.DESTRUCTION_LOG].find({})
    assert len(log) >= 4
    text = repr(log)
    for secret in (ANN, BOB, "Ann Example"):
        assert secret not in text
    allowed = {"_id", "tkey", "tenant_id", "subject", "store", "records", "method", "reason"}
    allowed |= {"run_id", "status", "at"}
    assert all(set(e) <= allowed for e in log)


async def test_sweeping_all_tenants_and_the_serve_job(db: Db) -> None:
    other = "eeeeeeee-0000-0000-0000-00000000b002"
    for tenant in (TENANT, other):
        await register(db, tenant, kpi_min_users=1, name=tenant[:4])
        await kpi_at(TenantStore(db, tenant), ANN, NOW - 100 * DAY)
    reports = await sweep_tenants(db, key=KEY, now=NOW)
    assert sorted((r.tenant_id, r.total) for r in reports) == [(TENANT, 1), (other, 1)]
    with pytest.raises(TenantNotFound):
        await sweep_tenants(db, key=KEY, tenant_id="ffffffff-0000-0000-0000-000000000000")

    class Log:
        def __init__(self) -> None:
            self.events: list[str] = []

        def info(self, event: str, **_: Any) -> None:
            self.events.append(event)

        error = warning = info

    log = Log()
    job = RetentionJob(
        db, key=KEY, interval=timedelta(hours=24), grace_days=30, log=log, first_delay=0
    )
    job.start()
    for _ in range(100):
        if job.runs:
            break
        await asyncio.sleep(0.05)
    await job.stop()
    assert job.runs == 1 and log.events.count("retention sweep") == 2


async def test_the_sweep_finishes_an_erasure_that_stopped_half_way(db: Db) -> None:
    """A killed `juno dsr erase` leaves a run document holding the raw id; nobody would erase
    the same person again, so the daily sweep finishes it once it has stalled."""
    from privacy.erasure import erase_user
    from privacy.removal_modes import RemovalMode

    await register(db, TENANT, kpi_min_users=1)
    store = TenantStore(db, TENANT)
    for user in (ANN, BOB):
        await store.profiles.upsert_many([{"user_id": user, "display_name": user[:4]}])
        await kpi_at(store, user, NOW - DAY)
        await store.consents.append({"user_id": user, "document": "notice", "version": 1})
    pseudonym = keyed_hash(KEY, TENANT)
    with pytest.raises(Crash):
        await erase_user(
            store, ANN, RemovalMode.DELETE_ALL, reason="dsr r1", pseudonym=pseudonym,
            hook=CrashAt(4), now=NOW,
        )  # fmt: skip
    assert await store.destruction_runs.count() == 1

    # The run document's clock is the wall clock (it records when steps really finished).
    wall = datetime.now(UTC)
    early = await sweep_tenant(store, pseudonym=pseudonym, now=wall + timedelta(minutes=5))
    assert early.finished_erasures == 0  # it may still be running
    assert await store.destruction_runs.count() == 1

    later = await sweep_tenant(store, pseudonym=pseudonym, now=wall + timedelta(hours=1))

    assert later.finished_erasures == 1
    assert await store.destruction_runs.count() == 0
    assert await store.kpi_events.for_user(ANN) == []
    assert await store.consents.for_user(ANN) == []
    assert await store.consents.count() == 2  # delete_all pseudonymizes the trail, keeps it
    assert len(await store.kpi_events.for_user(BOB)) == 1
    log = await store.collections[Coll.DESTRUCTION_LOG].find({"reason": "dsr r1"})
    assert {e["store"] for e in log} >= {"profiles", "kpi_events"}
    assert all(e["status"] == "done" for e in log)
