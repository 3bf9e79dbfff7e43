"""People-search latency: N profiles in one tenant, C concurrent searches of realistic
prefixes for S seconds, through the product's own search (ProfilesRepo.search) and driver.

Prints p50/p99 latency, searches/s, database round trips per search (command monitoring), the
search index's cold-start load time and memory (scaled to 100,000 profiles), the query plan of
the page fetch (explain), and which MongoDB.
Run: `.venv/bin/python bench/lookup.py [--profiles 100000] [--seconds 20] [--concurrency 100]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._shared import EMBEDDED_NAME, start_embedded_db
from storage import migrate
from storage.repositories import TenantStore
from storage.search_index import index_for
from storage.search_keys import fold, pack_keys, search_keys

TENANT = "10040000-0000-4000-8000-000000000001"
GIVEN = ["Ayşe", "Mehmet", "Fatma", "Mustafa", "Emine", "Ahmet", "Hatice", "Ali", "Zeynep",
         "Hüseyin", "Elif", "İbrahim", "Özge", "Çağrı", "Şule", "Gökhan", "Işıl", "Ümit",
         "Burak", "Cem", "Deniz", "Ebru", "Ferhat", "Gül", "Hakan", "İrem", "Kemal", "Leyla",
         "Murat", "Nazlı", "Onur", "Pınar", "Rıza", "Selin", "Tuğba", "Uğur", "Volkan", "Yasemin",
         "Oliver", "Emma", "James", "Sophia", "William", "Olivia", "Lucas", "Mia", "Noah",
         "Ava", "Ethan", "Chloe", "Henry", "Grace", "Jack", "Ruby", "Leo", "Ivy"]  # fmt: skip
SURNAMES = ["Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Yıldız", "Yıldırım", "Öztürk",
            "Aydın", "Özdemir", "Arslan", "Doğan", "Kılıç", "Aslan", "Çetin", "Kara", "Koç",
            "Kurt", "Özkan", "Şimşek", "Polat", "Erdoğan", "Güneş", "Bulut", "Tekin", "Avcı",
            "Ekinci", "Bozkurt", "Uçar", "Sezer", "Tuncer", "Karaca", "Işık", "Ünal", "Gündoğdu",
            "Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts",
            "Walker", "Wright", "Hughes", "Green", "Hall", "Wood", "Clarke", "Morgan"]  # fmt: skip
DEPARTMENTS = ["Finans", "İnsan Kaynakları", "Engineering", "Sales", "Hukuk", "Pazarlama",
               "Operations", "Bilgi Teknolojileri", "Satın Alma", "Customer Success"]  # fmt: skip
TITLES = ["Uzman", "Müdür", "Analist", "Engineer", "Manager", "Direktör", "Stajyer", "Lead"]


class Counter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in ("find", "getMore"):
            self.finds += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


def people(count: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
        department, title = rng.choice(DEPARTMENTS), rng.choice(TITLES)
        display = f"{given} {surname}"
        out.append(
            {
                "user_id": f"user-{i}",
                "given_name": given,
                "surname": surname,
                "display_name": display,
                "department": department,
                "job_title": title,
                "employee_id": f"E{i:06d}",
                "search_keys": pack_keys(search_keys([given, surname, display, department, title])),
            }
        )
    return out


def terms(rng: random.Random, n: int) -> list[str]:
    words = [fold(w) for w in GIVEN + SURNAMES]
    out = []
    for _ in range(n):
        word = rng.choice(words)
        prefix = word[: rng.randint(2, max(2, len(word)))]
        out.append(prefix if rng.random() < 0.7 else f"{prefix} {rng.choice(words)[:3]}")
    return out


async def run(args: argparse.Namespace, uri: str, server: str) -> None:
    counter = Counter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        uri, connectTimeoutMS=60_000, event_listeners=[counter], maxPoolSize=args.concurrency
    )
    db = client[f"lookup_{uuid.uuid4().hex[:8]}"]
    await migrate(db)
    store = TenantStore(db, TENANT)
    rng = random.Random(7)
    load_start = time.perf_counter()
    batch = 1_000
    for start in range(0, args.profiles, batch):
        chunk = people(min(batch, args.profiles - start), rng)
        for j, p in enumerate(chunk):
            p["user_id"] = f"user-{start + j}"
        await store.profiles.upsert_many(chunk)
    load = time.perf_counter() - load_start
    print(f"loaded {args.profiles} profiles in {load:.1f} s ({args.profiles / load:.0f}/s)")

    # Cold start: a fresh client (its own index), first search loads the tenant from MongoDB.
    cold: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, connectTimeoutMS=60_000)
    cold_store = TenantStore(cold[db.name], TENANT)
    t0 = time.perf_counter()
    await cold_store.profiles.search("ayse")
    cold_start = time.perf_counter() - t0
    await cold.close()
    # Memory the index keeps: traced allocations still alive after a load in another client.
    gc.collect()
    tracemalloc.start()
    mem: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, connectTimeoutMS=60_000)
    mem_store = TenantStore(mem[db.name], TENANT)
    base = tracemalloc.get_traced_memory()[0]
    await mem_store.profiles.search("ayse")
    gc.collect()
    index_bytes = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    indexed = index_for(mem[db.name]["profiles"], TENANT).stats()["profiles"]
    await mem.close()

    sample = terms(rng, 20_000)
    await store.profiles.search(sample[0])  # this client's index loads: not a search's cost
    before = counter.finds
    for term in sample[:200]:
        await store.profiles.search(term)
    per_search = (counter.finds - before) / 200

    latencies: list[float] = []
    deadline = time.monotonic() + args.seconds

    async def worker(k: int) -> None:
        i = k
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await store.profiles.search(sample[i % len(sample)])
            latencies.append(time.perf_counter() - started)
            i += args.concurrency
            # A client's next request arrives through I/O: let the others run, as a server's
            # loop would (a search answered from memory never yields by itself).
            await asyncio.sleep(0)

    wall_start = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(args.concurrency)))
    wall = time.perf_counter() - wall_start
    lat = sorted(latencies)
    page_ids = [f"{TENANT}:user-{i}" for i in range(8)]
    try:
        plan = await db.command(
            "explain",
            {"find": "profiles", "filter": {"_id": {"$in": page_ids}, "tenant_id": TENANT}},
            verbosity="queryPlanner",
        )
        winning = plan.get("queryPlanner", {}).get("winningPlan", plan)
    except Exception as exc:  # the embedded server may not implement explain
        winning = f"explain unavailable: {exc}"
    print(f"database              {server}")
    print(f"searches              {len(lat)} in {wall:.1f} s at concurrency {args.concurrency}")
    print(f"throughput            {len(lat) / wall:.0f} searches/s")
    print(f"latency p50 / p99     {lat[len(lat) // 2] * 1000:.2f} / "
          f"{lat[int(len(lat) * 0.99)] * 1000:.2f} ms (max {lat[-1] * 1000:.1f} ms)")  # fmt: skip
    # The same terms ranked with the per-query cache emptied each time: what a term nobody
    # searched since the last reload costs (held-out runs bring their own terms).
    snapshot = index_for(db["profiles"], TENANT).snapshot
    uncached: list[float] = []
    for term in sample[:2_000]:
        snapshot.clear_cache()
        t0 = time.perf_counter()
        await store.profiles.search(term)
        uncached.append(time.perf_counter() - t0)
    uncached.sort()
    print(f"uncached search       p50 / p99 {uncached[len(uncached) // 2] * 1000:.2f} / "
          f"{uncached[int(len(uncached) * 0.99)] * 1000:.2f} ms "
          f"(1 client, ranking from scratch)")  # fmt: skip
    print(f"DB round trips        {per_search:.2f} per search, 1 client (one page query, "
          f"shared by concurrent searches)")  # fmt: skip
    scale = 100_000 / max(indexed, 1)
    print(f"index cold start      {cold_start:.2f} s for {indexed} profiles "
          f"(~{cold_start * scale:.1f} s per 100k)")  # fmt: skip
    print(f"index memory          {index_bytes / 2**20:.1f} MiB for {indexed} profiles "
          f"(~{index_bytes * scale / 2**20:.0f} MiB per 100k)")  # fmt: skip
    print(f"query plan            {winning}")
    await client.drop_database(db.name)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--mongodb-uri", default=None)
    args = parser.parse_args()
    proc = None
    uri = args.mongodb_uri
    if uri is None:
        proc, uri = start_embedded_db()
    try:
        asyncio.run(run(args, uri, EMBEDDED_NAME if proc else "MongoDB at --mongodb-uri"))
    finally:
        if proc:
            proc.terminate()


if __name__ == "__main__":
    main()
