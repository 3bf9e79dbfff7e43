"""The embedded engines side by side on what the database still does once search left it.

For each mongoeco engine, started as the product starts it (its own process, SCRAM, a private
data directory: `storage.embedded.EmbeddedProcess`), in one run: keyed bulk upserts/s as the
collection grows (first and last batch), point reads/s (`ProfilesRepo.get`), small finds/s
(the query behind `ProfilesRepo.reports_of`: equality on `manager_id`, limit 200), and the time
to read a whole tenant the way the search index loads it. Profiles carry search keys like the
sync writes them.
Run: `.venv/bin/python bench/embedded_db.py [--docs 5000] [--batch 500] [--engines memory,sqlite]`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from storage import Coll, migrate
from storage.embedded import EmbeddedProcess, EngineName
from storage.repositories import TenantStore
from storage.search_keys import pack_keys, search_keys

TENANT = "aaaaaaaa-0000-0000-0000-000000000001"
NAMES = ["Ayşe", "Mehmet", "Işık", "Oliver", "Zeynep", "Çağrı", "Emma", "Hüseyin"]


def profile(i: int) -> dict[str, Any]:
    given, surname = NAMES[i % len(NAMES)], NAMES[(i // len(NAMES)) % len(NAMES)] + "oğlu"
    display = f"{given} {surname}"
    return {
        "user_id": f"user-{i}",
        "given_name": given,
        "surname": surname,
        "display_name": display,
        "department": "Finans",
        "job_title": "Uzman",
        "employee_id": f"E{i:06d}",
        "manager_id": f"user-{i // 10}",
        "search_keys": pack_keys(
            search_keys([given, surname, display, "Finans", "Uzman", f"E{i:06d}"])
        ),
    }


async def run(engine: EngineName, docs: int, batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedProcess(engine=engine, data_dir=Path(tmp) / "var")
        uri = await asyncio.to_thread(server.start)
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, connectTimeoutMS=60_000)
        try:
            db = client["bench"]
            await migrate(db)
            store = TenantStore(db, TENANT)
            rates: list[float] = []
            for start in range(0, docs, batch):
                page = [profile(i) for i in range(start, min(start + batch, docs))]
                t0 = time.perf_counter()
                await store.profiles.upsert_many(page)
                rates.append(len(page) / (time.perf_counter() - t0))
            reads = min(docs, 300)
            t0 = time.perf_counter()
            for i in range(reads):
                await store.profiles.get(f"user-{(i * 7) % docs}")
            read_rate = reads / (time.perf_counter() - t0)
            finds = min(docs // 10, 200)
            t0 = time.perf_counter()
            profiles = store.collections[Coll.PROFILES]
            for i in range(finds):  # the query `reports_of` makes when the index is reloading
                await profiles.find(
                    {"manager_id": f"user-{(i * 7) % (docs // 10)}", "hidden": {"$ne": True}},
                    limit=200,
                )
            find_rate = finds / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            await (
                db["profiles"]
                .find({"tenant_id": TENANT, "hidden": {"$ne": True}}, batch_size=2_000)
                .to_list(None)
            )
            scan = time.perf_counter() - t0
        finally:
            await client.close()
            await asyncio.to_thread(server.stop)
    return {
        "first": rates[0],
        "last": rates[-1],
        "reads": read_rate,
        "finds": find_rate,
        "scan": scan,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--engines", default="memory,sqlite")
    args = parser.parse_args()
    print(
        f"embedded mongoeco wire server in its own process, {args.docs} profiles in bulk "
        f"batches of {args.batch} (no search prefixes, no search index)"
    )
    print(f"{'engine':<8}{'upserts/s first':>16}{'upserts/s last':>16}{'get/s':>9}"
          f"{'manager finds/s':>16}{'whole tenant':>14}")  # fmt: skip
    for engine in args.engines.split(","):
        name: EngineName = "sqlite" if engine == "sqlite" else "memory"
        r = asyncio.run(run(name, args.docs, args.batch))
        print(f"{name:<8}{r['first']:>16.0f}{r['last']:>16.0f}{r['reads']:>9.0f}"
              f"{r['finds']:>16.0f}{r['scan']:>12.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
