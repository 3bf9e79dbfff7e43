"""Embedded-server throughput over the wire, to choose the demo engine and keep DESIGN honest.

Prints keyed upserts/s (bulk, in batches) as the collection grows, and point reads/s, for the
memory and SQLite engines, with JUNO's key layout (`_id` + single-field `tkey`) and with a plain
compound-key filter for comparison. Run: `.venv/bin/python bench/embedded_db.py [--docs N]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from storage import migrate
from storage.embedded import EmbeddedMongo, EngineName
from storage.repositories import TenantStore

TENANT = "aaaaaaaa-0000-0000-0000-000000000001"


async def run(engine: EngineName, layout: str, docs: int, batch: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedMongo(engine=engine, data_dir=Path(tmp))
        uri = server.start()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, connectTimeoutMS=60_000)
        try:
            db = client["bench"]
            await migrate(db)
            store = TenantStore(db, TENANT)
            rates: list[float] = []
            for start in range(0, docs, batch):
                ids = [f"user-{i}" for i in range(start, min(start + batch, docs))]
                t0 = time.perf_counter()
                if layout == "juno":
                    await store.profiles.upsert_many(
                        [{"user_id": u, "display_name": u} for u in ids]
                    )
                else:
                    await db["profiles"].bulk_write(
                        [
                            UpdateOne(
                                {"tenant_id": TENANT, "user_id": u},
                                {"$set": {"display_name": u}},
                                upsert=True,
                            )
                            for u in ids
                        ],
                        ordered=False,
                    )
                rates.append(len(ids) / (time.perf_counter() - t0))
            reads = min(docs, 500)
            t0 = time.perf_counter()
            for i in range(reads):
                if layout == "juno":
                    await store.profiles.get(f"user-{(i * 7) % docs}")
                else:
                    await db["profiles"].find_one(
                        {"tenant_id": TENANT, "user_id": f"user-{(i * 7) % docs}"}
                    )
            read_rate = reads / (time.perf_counter() - t0)
        finally:
            await client.close()
            server.stop()
    return {"first": rates[0], "last": rates[-1], "reads": read_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args()
    print(f"embedded mongoeco wire server, {args.docs} profiles in bulk batches of {args.batch}")
    print(f"{'engine':<8}{'key layout':<22}{'upserts/s first':>16}{'upserts/s last':>16}"
          f"{'find_one/s':>12}")  # fmt: skip
    engines: tuple[EngineName, ...] = ("memory", "sqlite")
    for engine in engines:
        for layout in ("juno", "compound"):
            r = asyncio.run(run(engine, layout, args.docs, args.batch))
            name = "_id + tkey" if layout == "juno" else "tenant_id+user_id"
            print(f"{engine:<8}{name:<22}{r['first']:>16.0f}{r['last']:>16.0f}{r['reads']:>12.0f}")


if __name__ == "__main__":
    main()
