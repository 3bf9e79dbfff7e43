"""Data-subject rights on the embedded memory engine, over the wire: how long one user's export
and erasure take with a full profile and 10,000 usage-KPI events, and how fast a retention sweep
anonymizes KPIs.

KPI events go through the bot's recorder (`bot.kpi.KpiRecorder`, with its clock moved), so they
land as the product stores them: daily count buckets per person. The user's events are spread
over the last 80 days plus some 100-120 days old (not swept yet); the sweep's over
`--sweep-users` people and `--sweep-days` days, all past the 90-day retention.

Run: `.venv/bin/python bench/export.py [--kpis 10000] [--noise 10000] [--sweep-events 100000]
[--sweep-users 500] [--sweep-days 100]`. `--sweep-events 0` skips the sweep.
Goals (issue 6): export < 1 s, erasure < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

# Run as a script, this folder comes first on sys.path and bench/bot.py would shadow `bot`.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from bot.kpi import MAX_BUFFER, KpiRecorder  # noqa: E402
from privacy.consent import ConsentAction, Kind, builtin, record  # noqa: E402
from privacy.erasure import erase_user  # noqa: E402
from privacy.export import build_export  # noqa: E402
from privacy.removal_modes import RemovalMode  # noqa: E402
from privacy.retention import sweep_tenant  # noqa: E402
from privacy.strategies import keyed_hash  # noqa: E402
from storage import migrate  # noqa: E402
from storage.embedded import EmbeddedMongo  # noqa: E402
from storage.repositories import (  # noqa: E402
    AdminGrant,
    TenantRecord,
    TenantRegistry,
    TenantStore,
)

TENANT = "aaaaaaaa-0000-0000-0000-0000000000b1"
USER = "11111111-0000-0000-0000-0000000000b1"
KEY = b"bench-pseudonym-key-0123456789abcdef"
NOW = datetime.now(UTC)
KINDS = ("search", "person", "search", "my_profile", "help")


def days(first: int, last: int) -> list[timedelta]:
    return [timedelta(days=d) for d in range(first, last + 1)]


# The user's events: the last 80 days, plus 100-120 days old (due at the next sweep).
RECENT, OLDER = days(0, 79), days(100, 120)


class Log:
    def warning(self, event: str, **fields: Any) -> None:
        raise RuntimeError(f"{event}: {fields}")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def kpis(
    db: AsyncDatabase[dict[str, Any]],
    users: list[str],
    count: int,
    ages: list[timedelta],
) -> float:
    """Record `count` events through the bot's recorder, day by day (oldest first) and
    round-robin over users within a day, flushing whenever the bot would flush early.
    Returns events/s."""
    clock = Clock()
    recorder = KpiRecorder(db, Log(), clock=clock)
    started = time.perf_counter()
    for a, age in enumerate(sorted(ages, reverse=True)):
        clock.now = NOW - age
        for j in range(count // len(ages) + (a < count % len(ages))):
            recorder.record(TENANT, users[j % len(users)], KINDS[j % len(KINDS)])
            if recorder.buffered >= MAX_BUFFER:
                await recorder.flush()
    await recorder.flush()
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
    await seed_kpis(db, USER, count)
    others = [f"99999999-0000-0000-0000-{i:012d}" for i in range(500)]
    await kpis(db, others, noise, RECENT)
    return store


async def seed_kpis(db: AsyncDatabase[dict[str, Any]], user: str, count: int) -> None:
    recent = count * 9 // 10
    await kpis(db, [user], recent, RECENT)
    await kpis(db, [user], count - recent, OLDER)


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
        buckets = len(await store.kpi_events.for_user(USER))
        print(
            f"embedded mongoeco memory engine over the wire; one user with a full profile, "
            f"{args.kpis:,} KPI events in {buckets} daily buckets (+{args.noise:,} events of "
            f"500 other users in {await store.kpi_events.count() - buckets:,} buckets)"
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
        merged = sum(sum(t["counts"].values()) for t in await store.kpi_events.totals())
        print(f"erasure (anonymize mode): {seconds:.3f} s ({summary}; {merged:,} events merged)")
        light = "33333333-0000-0000-0000-0000000000b3"
        await store.profiles.upsert_many([{"user_id": light, "display_name": "Light"}])
        await kpis(db, [light], 10, RECENT[:3])
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
        await seed_kpis(db, USER, args.kpis)
        seconds, outcomes = await timed(
            lambda: erase_user(
                store,
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
            people = [f"88888888-0000-0000-0000-{i:012d}" for i in range(args.sweep_users)]
            ages = days(91, 90 + args.sweep_days)
            rate = await kpis(sweep_db, people, args.sweep_events, ages)
            buckets = await sweep_store.kpi_events.count()
            print(
                f"seeded {args.sweep_events:,} KPI events older than 90 days "
                f"({args.sweep_users:,} people x {args.sweep_days} days = {buckets:,} buckets) "
                f"through the recorder at {rate:,.0f} events/s"
            )
            seconds, report = await timed(
                lambda: sweep_tenant(sweep_store, pseudonym=keyed_hash(KEY, TENANT), now=NOW)
            )
            done = report.records.get("kpi_events", 0)
            totals = await sweep_store.kpi_events.totals()
            events = sum(sum(t["counts"].values()) for t in totals)
            people_days = sum(t["active_users"] for t in totals)
            if (events, people_days, done) != (args.sweep_events, buckets, buckets):
                raise SystemExit(f"sweep lost or doubled counts: {events=} {people_days=}")
            print(
                f"retention sweep: {done:,} buckets ({events:,} events) merged into "
                f"{len(totals)} daily totals in {seconds:.2f} s = {done / seconds:,.0f} "
                f"buckets/s = {events / seconds:,.0f} events/s"
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
    parser.add_argument("--sweep-users", type=int, default=500, help="people in the sweep")
    parser.add_argument("--sweep-days", type=int, default=100, help="days past retention")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
