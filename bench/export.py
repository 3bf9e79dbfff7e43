"""Data-subject rights on the embedded memory engine, over the wire: how long one user's export
and erasure take with a full profile and 10,000 usage KPIs, and how fast a retention sweep
anonymizes KPIs.

Run: `.venv/bin/python bench/export.py [--kpis 10000] [--noise 10000] [--sweep-events 100000]`.
`--sweep-events 0` skips the sweep. Goals (issue 6): export < 1 s, erasure < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from privacy.consent import ConsentAction, Kind, builtin, record
from privacy.erasure import erase_user
from privacy.export import build_export
from privacy.removal_modes import RemovalMode
from privacy.retention import sweep_tenant
from privacy.strategies import keyed_hash
from storage import Coll, migrate
from storage.embedded import EmbeddedMongo
from storage.repositories import AdminGrant, TenantRecord, TenantRegistry, TenantStore

TENANT = "aaaaaaaa-0000-0000-0000-0000000000b1"
USER = "11111111-0000-0000-0000-0000000000b1"
KEY = b"bench-pseudonym-key-0123456789abcdef"
NOW = datetime.now(UTC)
BATCH = 1_000


async def kpis(store: TenantStore, user: str | None, count: int, age: timedelta) -> float:
    """Write KPI events the way the bot does (keyed bulk upserts); returns events/s."""
    coll = store.collections[Coll.KPI_EVENTS]
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        ops = []
        for i in range(start, min(start + BATCH, count)):
            event: dict[str, Any] = {"kind": "search", "at": NOW - age - timedelta(seconds=i)}
            event["user_id"] = user or f"other-{i % 500}"
            ops.append(coll.upsert_op([f"kpi:{uuid.uuid4().hex}"], event))
        await coll.bulk(ops)
    return count / (time.perf_counter() - started)


async def seed_user(db: AsyncDatabase[dict[str, Any]], count: int, noise: int) -> TenantStore:
    await TenantRegistry(db).add(
        TenantRecord(
            tenant_id=TENANT,
            name="Bench",
            admins=[AdminGrant(user_id=USER, since=NOW)],
            removal_mode=RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE.value,
        )
    )
    store = TenantStore(db, TENANT)
    await store.profiles.upsert_many(
        [
            {
                "user_id": USER,
                "given_name": "Ayşe",
                "surname": "Yılmaz",
                "display_name": "Ayşe Yılmaz",
                "mail": "ayse@contoso.example",
                "job_title": "Engineer",
                "department": "R&D",
                "office_location": "İstanbul",
                "employee_id": "E-1",
                "is_intern": False,
                "manager_id": "22222222-0000-0000-0000-0000000000b2",
                "account_enabled": True,
                "synced_at": NOW,
            }
        ]
    )
    for kind, action in (
        (Kind.NOTICE, ConsentAction.ACKNOWLEDGED),
        (Kind.EULA, ConsentAction.ACCEPTED),
    ):
        await record(
            store,
            user_id=USER,
            document=builtin(kind),
            action=action,
            locale="tr",
            conversation_id="conv-1",
            activity_id="act-1",
        )
    await store.conversations.put(USER, {"user_id": USER, "reference": {"id": "c"}})
    await store.bot_state.put(f"state/{USER}", {"user_id": USER, "state": {"welcomed": True}})
    await store.audit_log.append({"actor": USER, "action": "login"})
    await kpis(store, USER, count, timedelta(days=1))
    await kpis(store, None, noise, timedelta(days=1))
    return store


async def timed(work: Any, repeat: int = 1) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = await work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


async def main_async(args: argparse.Namespace) -> None:
    server = EmbeddedMongo(engine="memory")
    uri = server.start()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, connectTimeoutMS=60_000)
    try:
        db = client["bench_export"]
        await migrate(db)
        store = await seed_user(db, args.kpis, args.noise)
        print(
            f"embedded mongoeco memory engine over the wire; one user with a full profile, "
            f"{args.kpis:,} KPI events (+{args.noise:,} of other users)"
        )
        seconds, result = await timed(
            lambda: build_export(store, USER, locale="tr", now=NOW), repeat=3
        )
        print(
            f"export build: {seconds:.3f} s (median of 3), zip {len(result.zip_bytes):,} bytes, "
            f"{sum(result.counts.values()):,} records"
        )
        seconds, outcomes = await timed(
            lambda: erase_user(
                store,
                USER,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE,
                reason="bench",
                pseudonym=keyed_hash(KEY, TENANT),
            )
        )
        summary = ", ".join(f"{o.store} {o.records} {o.method}" for o in outcomes)
        print(f"erasure (anonymize mode): {seconds:.3f} s ({summary})")
        light = "33333333-0000-0000-0000-0000000000b3"
        await store.profiles.upsert_many([{"user_id": light, "display_name": "Light"}])
        await kpis(store, light, 10, timedelta(days=1))
        seconds, outcomes = await timed(
            lambda: erase_user(
                store,
                light,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE,
                reason="bench",
                pseudonym=keyed_hash(KEY, TENANT),
            )
        )
        print(f"erasure of a user with 10 KPI events (the run machinery): {seconds:.3f} s")
        store2 = TenantStore(db, TENANT)
        await kpis(store2, USER, args.kpis, timedelta(days=1))
        seconds, outcomes = await timed(
            lambda: erase_user(
                store2,
                USER,
                RemovalMode.DELETE_ALL,
                reason="bench",
                pseudonym=keyed_hash(KEY, TENANT),
            )
        )
        summary = ", ".join(f"{o.store} {o.records} {o.method}" for o in outcomes)
        print(f"erasure (delete_all mode): {seconds:.3f} s ({summary})")

        if args.sweep_events:
            sweep_db = client["bench_sweep"]
            await migrate(sweep_db)
            await TenantRegistry(sweep_db).add(TenantRecord(tenant_id=TENANT, name="Bench"))
            sweep_store = TenantStore(sweep_db, TENANT)
            rate = await kpis(sweep_store, None, args.sweep_events, timedelta(days=100))
            print(f"seeded {args.sweep_events:,} KPI events older than 90 days at {rate:,.0f}/s")
            seconds, report = await timed(
                lambda: sweep_tenant(sweep_store, pseudonym=keyed_hash(KEY, TENANT), now=NOW)
            )
            done = report.records.get("kpi_events", 0)
            print(
                f"retention sweep: {done:,} events anonymized in {seconds:.2f} s "
                f"= {done / seconds:,.0f} events/s"
            )
    finally:
        await client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kpis", type=int, default=10_000, help="the user's KPI events")
    parser.add_argument("--noise", type=int, default=10_000, help="other users' KPI events")
    parser.add_argument(
        "--sweep-events", type=int, default=100_000, help="KPI events for the sweep (0: skip)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
