"""Load and soak: N signed activities at concurrency C against `juno serve` in its own process.

Four processes, so each figure belongs to one: the embedded memory engine (unless
--mongodb-uri), `juno serve`, the load client (a multiprocessing worker running an aiohttp
client), and this one, which runs the fake Bot Connector and token authority the bot replies to
and samples the server's memory. The tenant's directory is seeded and every sending user has
already acknowledged the notice and accepted the terms, so the mix is real work: directory
searches, person cards (card button submits), "my consents" and export requests (acknowledged
at once, built in the background and offered as a file through the connector).

Prints throughput, latency p50/p99, errors (HTTP failures plus replies that never reached the
connector, counted after the background exports drain), and the server's RSS (VmRSS) at start
and end with the growth, next to the goals: 0 errors, RSS growth < 10%.

Run: `.venv/bin/python bench/load.py [--activities 10000] [--concurrency 100]`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._shared import (  # noqa: E402
    EMBEDDED_NAME,
    cpu_seconds,
    juno_serve,
    rss_mb,
    start_embedded_db,
)
from privacy.consent import ConsentAction, Kind, builtin, record  # noqa: E402
from storage import migrate  # noqa: E402
from storage.repositories import TenantRecord, TenantStore  # noqa: E402
from storage.search_keys import pack_keys, search_keys  # noqa: E402
from tests.support.bot_harness import Peers, activity  # noqa: E402


def tenant_id(n: int) -> str:
    return f"10ad0000-0000-4000-8000-{n + 1:012d}"


GIVEN = ["Ayşe", "Mehmet", "Fatma", "Mustafa", "Emine", "Ahmet", "Hatice", "Ali",
         "Zeynep", "Hüseyin", "Elif", "Hasan", "Işık", "İsmail", "Özge", "Çağla", "Şule",
         "Gül", "Can"]  # fmt: skip
SURNAMES = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk",
            "Aydın", "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara"]  # fmt: skip
DEPARTMENTS = ["Finans", "İnsan Kaynakları", "Satış", "Pazarlama", "Yazılım", "Hukuk", "Lojistik"]
# Share of each kind of activity in the mix; exports are the rarest and by far the heaviest.
MIX = {"search": 40, "person": 30, "consents": 20, "export": 10}
# What each kind makes the bot send to the connector: exports say "preparing" and, later,
# offer the file.
REPLIES = {"search": 1, "person": 1, "consents": 1, "export": 2}


@dataclass
class Plan:
    """Everything the client process needs, picklable: it builds and signs nothing itself
    beyond what is here."""

    base: str
    token: str
    service_url: str
    users: list[str]
    tenant_of: dict[str, str]  # each sending user's tenant (--tenants spreads them)
    people: list[str]
    terms: list[str]
    kinds: list[str]
    concurrency: int


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)
    finished: list[float] = field(default_factory=list)  # seconds from the start
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0


def body(plan: Plan, rng: random.Random, kind: str) -> dict[str, Any]:
    user = rng.choice(plan.users)
    text: str | None = None
    value: dict[str, Any] | None = None
    match kind:
        case "search":
            text = f"ara {rng.choice(plan.terms)}"
        case "person":
            value = {"juno": "person", "user_id": rng.choice(plan.people)}
        case "consents":
            text = "my consents"
        case _:
            text = "export my data"
    return activity(
        tenant=plan.tenant_of[user],
        user=user,
        conversation=f"a:{user}",
        service_url=plan.service_url,
        text=text,
        value=value,
    )


async def drive(plan: Plan) -> Outcome:
    outcome = Outcome()
    rng = random.Random(7)
    bodies = [body(plan, rng, kind) for kind in plan.kinds]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    headers = {"Authorization": f"Bearer {plan.token}"}
    timeout = aiohttp.ClientTimeout(total=120)
    connector = aiohttp.TCPConnector(limit=plan.concurrency)
    wall_start = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while not queue.empty():
                b = queue.get_nowait()
                started = time.perf_counter()
                try:
                    async with session.post(
                        f"{plan.base}/api/messages", json=b, headers=headers
                    ) as resp:
                        await resp.read()
                        if resp.status not in (200, 202):
                            outcome.errors[f"HTTP {resp.status}"] += 1
                except (aiohttp.ClientError, TimeoutError) as exc:
                    outcome.errors[type(exc).__name__] += 1
                outcome.latencies.append(time.perf_counter() - started)
                outcome.finished.append(time.perf_counter() - wall_start)

        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
        outcome.wall = time.perf_counter() - wall_start
    return outcome


def client_process(plan: Plan) -> Outcome:
    """Runs in the load client's own process, so its CPU competes with neither the bot nor
    the connector the bot replies to."""
    return asyncio.run(drive(plan))


def person(user_id: str, rng: random.Random, manager: str | None) -> dict[str, Any]:
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    department = rng.choice(DEPARTMENTS)
    doc: dict[str, Any] = {
        "user_id": user_id,
        "given_name": given,
        "surname": surname,
        "display_name": f"{given} {surname}",
        "job_title": "Uzman",
        "department": department,
        "mail": f"{user_id[:8]}@example.com",
        "search_keys": pack_keys(
            search_keys([given, surname, f"{given} {surname}", "Uzman", department])
        ),
    }
    if manager:
        doc["manager_id"] = manager
    return doc


async def seed(
    uri: str, db_name: str, people: int, users: Sequence[str], tenant_of: dict[str, str]
) -> list[str]:
    """Each tenant with the same directory of `people` (each reporting to an earlier one) and
    its sending users' consents given; returns the people's ids."""
    rng = random.Random(11)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, connectTimeoutMS=60_000, tz_aware=True
    )
    try:
        db = client[db_name]
        await migrate(db)
        ids = [str(uuid.uuid4()) for _ in range(people)]
        docs = [person(u, rng, ids[rng.randrange(i)] if i else None) for i, u in enumerate(ids)]
        for tenant in sorted(set(tenant_of.values())):
            record_ = TenantRecord(tenant_id=tenant, name="Load", default_locale="en")
            await db["tenants"].insert_one(record_.to_document())
            store = TenantStore(db, tenant)
            mine = [u for u in users if tenant_of[u] == tenant]
            staff = docs + [person(u, rng, rng.choice(ids)) for u in mine]  # senders are staff
            for start in range(0, len(staff), 500):
                await store.profiles.upsert_many(staff[start : start + 500])
        for user in users:
            store = TenantStore(db, tenant_of[user])
            for kind, action in ((Kind.NOTICE, ConsentAction.ACKNOWLEDGED),
                                 (Kind.EULA, ConsentAction.ACCEPTED)):  # fmt: skip
                await record(
                    store,
                    user_id=user,
                    document=builtin(kind),
                    action=action,
                    locale="en",
                    conversation_id=f"a:{user}",
                    activity_id=uuid.uuid4().hex,
                )
        return ids
    finally:
        await client.close()


class RssSampler:
    """Samples the server's VmRSS every half second, for the peak."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, rss_mb(self.pid))

    def __enter__(self) -> RssSampler:
        self.peak = rss_mb(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_for_replies(peers: Peers, expected: int, within: float) -> tuple[int, float]:
    """Wait until the connector has every reply (background exports finish after their turn
    is answered); returns how many arrived and how long the wait took."""
    started = time.monotonic()
    got = peers.reply_count()
    while got < expected and time.monotonic() - started < within:
        time.sleep(0.5)
        got = peers.reply_count()
    return got, time.monotonic() - started


def kinds_for(n: int, rng: random.Random) -> list[str]:
    names, weights = zip(*MIX.items(), strict=True)
    if not any(weights):
        raise SystemExit("--mix gives every kind a weight of 0")
    return rng.choices(names, weights=weights, k=n)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else 0.0


def tenth(finished: Sequence[float], which: int) -> float:
    """Activities per second in the first (0) or last (-1) tenth of the run's completions."""
    ordered = sorted(finished)
    n = max(1, len(ordered) // 10)
    part = ordered[:n] if which == 0 else ordered[-n:]
    start = 0.0 if which == 0 else ordered[-n - 1] if len(ordered) > n else 0.0
    return n / max(part[-1] - start, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--people", type=int, default=2_000, help="directory size")
    parser.add_argument("--users", type=int, default=200, help="distinct sending users")
    parser.add_argument(
        "--tenants",
        type=int,
        default=1,
        help="spread the users over this many tenants (Teams allows a bot 50 requests/s per "
        "tenant, so one tenant's replies cannot pass 50/s)",
    )
    # Measured 2026-12-01, 4 tenants: after 200 activities the server is still filling its
    # working set (122 -> 146 MB over the next 10,000), after 2,000 it is there (141 -> 146 MB
    # over the next 20,000), so growth from 200 counted warm-up as a leak.
    parser.add_argument(
        "--warmup",
        type=int,
        default=2_000,
        help="activities before RSS start (the server reaches its working set first)",
    )
    parser.add_argument("--drain-seconds", type=float, default=300)
    parser.add_argument("--mongodb-uri", default=None)
    parser.add_argument(
        "--mix",
        default=None,
        metavar="KIND=W,...",
        help="weights per kind, e.g. search=1 to profile one kind (default: the mix above)",
    )
    args = parser.parse_args()
    if args.mix:
        weights = dict(part.split("=", 1) for part in args.mix.split(","))
        if not set(weights) <= set(MIX):
            raise SystemExit(f"--mix kinds are {', '.join(MIX)}")
        MIX.update({k: int(weights.get(k, 0)) for k in MIX})

    rng = random.Random(3)
    users = [str(uuid.uuid4()) for _ in range(args.users)]
    tenant_of = {u: tenant_id(i % max(1, args.tenants)) for i, u in enumerate(users)}
    peers = Peers()
    peers.start()
    db_proc = None
    uri = args.mongodb_uri
    if uri is None:
        db_proc, uri = start_embedded_db()
    db_name = f"load_{uuid.uuid4().hex[:8]}"
    people = asyncio.run(seed(uri, db_name, args.people, users, tenant_of))
    terms = sorted({p[:4].lower() for p in GIVEN + SURNAMES + DEPARTMENTS})
    server = EMBEDDED_NAME if db_proc else "MongoDB at --mongodb-uri"
    try:
        with juno_serve(peers, uri, db_name) as (base, serve):
            print(f"JUNO load benchmark — database: {server}")
            print(f"{len(set(tenant_of.values()))} tenant(s), each a directory of {args.people} "
                  f"people; {args.users} users with consents given; "
                  f"mix {', '.join(f'{k} {v}%' for k, v in MIX.items())}")  # fmt: skip
            rss_ready = rss_mb(serve.pid)

            def plan(kinds: list[str]) -> Plan:
                return Plan(base, peers.token(), peers.service_url, users, tenant_of, people,
                            terms, kinds, args.concurrency)  # fmt: skip

            ctx = multiprocessing.get_context("spawn")
            warm_kinds = kinds_for(args.warmup, rng)
            kinds = kinds_for(args.activities, rng)
            with ctx.Pool(1) as pool:
                warm = pool.apply(client_process, (plan(warm_kinds),))
                expected = sum(REPLIES[k] for k in warm_kinds)
                wait_for_replies(peers, expected, args.drain_seconds)
                rss_start = rss_mb(serve.pid)
                cpu_start = cpu_seconds(serve.pid)
                db_cpu_start = cpu_seconds(db_proc.pid) if db_proc else 0.0
                with RssSampler(serve.pid) as sampler:
                    outcome = pool.apply(client_process, (plan(kinds),))
                    expected += sum(REPLIES[k] for k in kinds)
                    got, drain = wait_for_replies(peers, expected, args.drain_seconds)
                    rss_end = rss_mb(serve.pid)
                cpu = cpu_seconds(serve.pid) - cpu_start
                db_cpu = cpu_seconds(db_proc.pid) - db_cpu_start if db_proc else None
    finally:
        if db_proc:
            db_proc.terminate()
        peers.stop()

    done = len(outcome.latencies)
    missing = max(0, expected - got)
    errors = sum(outcome.errors.values()) + sum(warm.errors.values()) + missing
    growth = (rss_end - rss_start) / rss_start * 100
    detail = ", ".join(f"{k} {v}" for k, v in (outcome.errors + warm.errors).items())
    print(f"activities            {done} in {outcome.wall:.1f} s at concurrency "
          f"{args.concurrency} (after {args.warmup} warm-up)")  # fmt: skip
    print(f"by kind               {', '.join(f'{k} {v}' for k, v in Counter(kinds).items())}")
    print(f"throughput            {done / outcome.wall:.0f} activities/s")
    print(f"throughput over run   first tenth {tenth(outcome.finished, 0):.0f}/s, "
          f"last tenth {tenth(outcome.finished, -1):.0f}/s (of completions)")  # fmt: skip
    print(f"latency p50 / p99     {pct(outcome.latencies, 0.5) * 1000:.0f} / "
          f"{pct(outcome.latencies, 0.99) * 1000:.0f} ms")  # fmt: skip
    print(f"errors                {errors}   (goal 0; HTTP/transport: {detail or 'none'}; "
          f"replies missing: {missing})")  # fmt: skip
    print(f"background drain      {drain:.1f} s after the last response (exports delivered)")
    print(f"server CPU            {cpu / max(done, 1) * 1000:.2f} ms per activity")
    if db_cpu is not None:
        print(f"database CPU          {db_cpu / max(done, 1) * 1000:.2f} ms per activity "
              f"(embedded engine, its own process)")  # fmt: skip
    print(f"server RSS            ready {rss_ready:.0f} MB; start {rss_start:.0f} MB -> end "
          f"{rss_end:.0f} MB (peak {sampler.peak:.0f} MB)")  # fmt: skip
    print(f"RSS growth            {growth:+.1f}%   (goal < 10%, start = after warm-up)")


if __name__ == "__main__":
    main()
