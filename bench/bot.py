"""Bot throughput: signed activities against `juno serve` in its own process.

The database runs in a third process (the embedded memory engine, unless --mongodb-uri is
given) so the bot process's CPU per activity is measured apart from the database's. Prints
activities/s, p50/p99 latency, bot CPU ms per activity, database round trips per activity by
turn kind (from the service's /metrics command counter), and which MongoDB.

Run: `.venv/bin/python bench/bot.py [--seconds 20] [--concurrency 50]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import MongoClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._shared import (  # noqa: E402
    EMBEDDED_NAME,
    cpu_seconds,
    juno_serve,
    rss_mb,
    start_embedded_db,
)
from storage.repositories import TenantRecord  # noqa: E402
from tests.support.bot_harness import Peers, activity  # noqa: E402

TENANT = "be4c0000-0000-4000-8000-000000000001"


async def db_commands(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith("juno_db_commands_total "):
                return int(line.split()[1])
    raise RuntimeError("no juno_db_commands_total in /metrics")


class Load:
    def __init__(self, base: str, peers: Peers) -> None:
        self.base = base
        self.peers = peers
        self.token = peers.token()
        self.latencies: list[float] = []
        self.errors = 0

    async def post(self, session: aiohttp.ClientSession, user: str, text: str) -> None:
        body = activity(
            tenant=TENANT,
            user=user,
            conversation=f"a:{user}",
            service_url=self.peers.service_url,
            text=text,
        )
        started = time.perf_counter()
        headers = {"Authorization": f"Bearer {self.token}"}
        async with session.post(f"{self.base}/api/messages", json=body, headers=headers) as resp:
            await resp.read()
            if resp.status not in (200, 202):
                self.errors += 1
        self.latencies.append(time.perf_counter() - started)


async def round_trips(load: Load, session: aiohttp.ClientSession, text: str, n: int = 100) -> float:
    user = str(uuid.uuid4())
    await load.post(session, user, text)  # first turn stores the conversation reference
    before = await db_commands(session, load.base)
    for _ in range(n):
        await load.post(session, user, text)
    return (await db_commands(session, load.base) - before - 0) / n


async def run(args: argparse.Namespace, base: str, peers: Peers, pid: int) -> None:
    load = Load(base, peers)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=args.concurrency)
    ) as session:
        help_rt = await round_trips(load, session, "help")
        help_one = sorted(load.latencies[1:])  # one client, request to reply sent
        consents_rt = await round_trips(load, session, "my consents")
        load.latencies.clear()
        users = [str(uuid.uuid4()) for _ in range(args.concurrency)]
        deadline = time.monotonic() + args.seconds
        rss_start = rss_mb(pid)
        cpu_start = cpu_seconds(pid)
        wall_start = time.perf_counter()

        async def worker(user: str) -> None:
            i = 0
            while time.monotonic() < deadline:
                await load.post(session, user, "help" if i % 2 else "my consents")
                i += 1

        await asyncio.gather(*(worker(u) for u in users))
        wall = time.perf_counter() - wall_start
        cpu = cpu_seconds(pid) - cpu_start
    done = len(load.latencies)
    lat = sorted(load.latencies)
    print(f"activities            {done} in {wall:.1f} s at concurrency {args.concurrency}")
    print(f"throughput            {done / wall:.0f} activities/s")
    print(f"latency p50 / p99     {lat[len(lat) // 2] * 1000:.1f} / "
          f"{lat[int(len(lat) * 0.99)] * 1000:.1f} ms")  # fmt: skip
    print(f"errors                {load.errors}")
    print(f"bot CPU per activity  {cpu / max(done, 1) * 1000:.2f} ms (bot process only)")
    print(f"bot RSS start / end   {rss_start:.0f} / {rss_mb(pid):.0f} MB")
    print(f"DB round trips        help {help_rt:.2f}, my consents {consents_rt:.2f} per activity")
    # 100 turns in one conversation: past Teams' per-conversation limits (60 in 30 s) the
    # bot's pacer holds replies back, so only the median is the turn's own cost.
    print(f"help turn, 1 client   p50 {help_one[len(help_one) // 2] * 1000:.1f} ms "
          f"(request to reply; later turns paced by Teams' per-conversation limits)")  # fmt: skip
    print(f"mean latency          {statistics.fmean(lat) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--mongodb-uri", default=None)
    args = parser.parse_args()
    peers = Peers()
    peers.start()
    db_proc = None
    uri = args.mongodb_uri
    if uri is None:
        db_proc, uri = start_embedded_db()
    db_name = f"bench_{uuid.uuid4().hex[:8]}"
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    with client:
        record = TenantRecord(tenant_id=TENANT, name="Bench", default_locale="en")
        client[db_name]["tenants"].insert_one(record.to_document())
    server = EMBEDDED_NAME if db_proc else "MongoDB at --mongodb-uri"
    try:
        with juno_serve(peers, uri, db_name) as (base, serve):
            print(f"JUNO bot benchmark — database: {server}")
            asyncio.run(run(args, base, peers, serve.pid))
    finally:
        if db_proc:
            db_proc.terminate()
        peers.stop()


if __name__ == "__main__":
    main()
