"""Graph sync throughput, memory and delta latency, with the database's share kept apart.

Three processes, so each figure belongs to one of them: the fake Graph (tests/support/fake_graph.py,
pages of 999 like Graph's maximum for users), the embedded MongoDB wire server (memory engine,
or `--engine sqlite`), and this one, which runs the sync exactly as `juno sync` does
(msgraph-sdk adapter, msgspec decode, mapping, keyed bulk upserts through PyMongo).

Prints:
  (a) our pipeline's users/s with the database excluded (fetch + decode + map + building the
      bulk writes), and `ratio` = that over the msgraph-sdk model-parsing path (fetch + parse
      into the SDK's delta response / user models) on a slice of the same pages;
  (b) database round trips per page (PyMongo command monitoring);
  (c) end-to-end users/s of a full round into the embedded server, with its name and the split
      between waiting for Graph, our mapping, and the database;
  (d) peak RSS of this process (the sync) and, apart, of the database and fake Graph processes;
  (e) a delta round where 1% of the users changed, end to end.

Run: `.venv/bin/python bench/sync.py --users 100000` (or `--users 5000` for a quick look).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from pymongo import AsyncMongoClient, UpdateOne
from pymongo.monitoring import CommandListener, CommandStartedEvent

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from graph_sync.engine import DeltaEngine  # noqa: E402
from graph_sync.mapping import clear_caches, gc_paused, plan_page  # noqa: E402
from graph_sync.models import decode_page  # noqa: E402
from graph_sync.source import GraphDeltaSource, users_delta_url  # noqa: E402
from graph_sync.transport import ERROR_MAP, GraphTransport  # noqa: E402
from graph_sync.writes import SyncCollection  # noqa: E402
from storage import migrate  # noqa: E402

TENANT = "bbbbbbbb-0000-4000-8000-000000000001"


class BenchToken(AccessTokenProvider):
    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        return "bench-token"

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


class Counter(CommandListener):
    def __init__(self) -> None:
        self.commands: dict[str, int] = {}

    def started(self, event: CommandStartedEvent) -> None:
        self.commands[event.command_name] = self.commands.get(event.command_name, 0) + 1

    def succeeded(self, event: Any) -> None:
        pass

    def failed(self, event: Any) -> None:
        pass


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spawn(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"child failed to start: {args}")
    return proc, line.split(" ", 1)[1]


async def pipeline_only(base: str) -> tuple[int, int, float]:
    """Fetch every page, decode, map, build the UpdateOne list; never touch a database."""
    source = GraphDeltaSource(GraphTransport(BenchToken()), base)
    profiles = SyncCollection(_NoCollection("profiles"), TENANT)  # type: ignore[arg-type]
    users = pages = 0
    started = time.perf_counter()
    # As the engine does: the next page is requested before this one is mapped.
    pending = asyncio.ensure_future(source.fetch(source.initial_url()))
    while True:
        body = await pending
        with gc_paused():
            page = decode_page(body)
        if page.next_link:
            pending = asyncio.ensure_future(source.fetch(page.next_link))
            await asyncio.sleep(0)
        with gc_paused():
            plan = plan_page(page.value, profiles, round_no=1, full_round=True, now=_now())
            requests = [UpdateOne(op.filter, op.update, upsert=True) for op in plan.upserts]
        users += len(requests)
        pages += 1
        if not page.next_link:
            break
    seconds = time.perf_counter() - started
    await source.aclose()
    return users, pages, seconds


async def sdk_path(base: str, limit: int) -> tuple[int, float]:
    """The SDK's own path: the same adapter, parsing each page into its delta/user models."""
    from kiota_abstractions.method import Method
    from kiota_abstractions.request_information import RequestInformation
    from msgraph.generated.users.delta.delta_get_response import DeltaGetResponse

    transport = GraphTransport(BenchToken())
    users = 0
    started = time.perf_counter()
    link: str | None = users_delta_url(base)
    while link and users < limit:
        info = RequestInformation(Method.GET)
        info.url = link
        response = await transport.adapter.send_async(info, DeltaGetResponse, ERROR_MAP)
        assert response is not None
        users += len(response.value or [])
        link = response.odata_next_link
    seconds = time.perf_counter() - started
    await transport.aclose()
    return users, seconds


class _NoCollection:
    """Stands in for a collection where operations are only built, never sent."""

    def __init__(self, name: str) -> None:
        self.name = name


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def end_to_end(
    base: str, db_uri: str, mutate_fraction: float, drop_indexes: list[str]
) -> dict[str, Any]:
    counter = Counter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        db_uri, event_listeners=[counter], connectTimeoutMS=60_000, tz_aware=True
    )
    db = client["bench_sync"]
    await migrate(db)
    for name in drop_indexes:  # to see what one index costs the database
        await db["profiles"].drop_index(name)

    async def on_deleted(tenant_id: str, user_id: str, reason: str) -> None:
        return None

    source = GraphDeltaSource(GraphTransport(BenchToken()), base)
    counter.commands.clear()
    full = await DeltaEngine(db, TENANT, source, on_deleted).run()
    full_commands = dict(counter.commands)
    async with httpx.AsyncClient() as http:
        changed = (
            await http.post(
                f"{base.removesuffix('/v1.0')}/_control/mutate",
                params={"fraction": mutate_fraction},
            )
        ).json()["changed"]
    counter.commands.clear()
    delta = await DeltaEngine(db, TENANT, source, on_deleted).run()
    delta_commands = dict(counter.commands)
    count = await db["profiles"].count_documents({"tenant_id": TENANT})
    await source.aclose()
    await client.drop_database("bench_sync")
    await client.close()
    return {
        "full": full,
        "full_commands": full_commands,
        "delta": delta,
        "delta_commands": delta_commands,
        "changed": changed,
        "count": count,
    }


async def sdk_in_child(python: str, base: str, limit: int) -> tuple[int, float]:
    """The SDK path in a child process, so its models do not count in this process's RSS."""
    done = await asyncio.to_thread(
        subprocess.run,
        [python, str(Path(__file__)), "--sdk-child", base, "--sdk-slice", str(limit)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
    )
    users, seconds = done.stdout.split()
    return int(users), float(seconds)


async def main_async(args: argparse.Namespace) -> None:
    python = sys.executable
    graph_proc, base = spawn(
        [python, "-m", "tests.support.fake_graph", "--users", str(args.users), "--page-size", "999"]
    )
    db_proc, db_ready = spawn([python, str(Path(__file__)), "--serve-db", "--engine", args.engine])
    db_uri, _, server_name = db_ready.partition(" ")
    try:
        print(f"users: {args.users:,}, pages of 999, fake Graph at {base}")
        # A first pass primes the fake Graph (it encodes each user once); our own caches are
        # then emptied, so the timed pass counts all of our cost and as little of the fake's.
        # The machine may be shared: each side is timed `--repeat` times and its best kept.
        await pipeline_only(base)
        runs = []
        for _ in range(args.repeat):
            clear_caches()
            runs.append(await pipeline_only(base))
        users, _pages, seconds = min(runs, key=lambda r: r[2])
        ours = users / seconds
        sdk_runs = [await sdk_in_child(python, base, args.sdk_slice) for _ in range(args.repeat)]
        sdk_users, sdk_seconds = min(sdk_runs, key=lambda r: r[1])
        sdk = sdk_users / sdk_seconds
        print(
            "(a) pipeline, database excluded (fetch + decode + map + build bulk writes), "
            f"best of {args.repeat}"
        )
        print(f"    ours: {users:,} users in {seconds:.2f} s = {ours:,.0f} users/s")
        print(
            f"    msgraph-sdk models (fetch + parse), {sdk_users:,}-user slice: "
            f"{sdk_seconds:.2f} s = {sdk:,.0f} users/s"
        )
        print(f"    ratio: {ours / sdk:,.0f}")

        result = await end_to_end(base, db_uri, args.delta_fraction, args.without_index)
        full = result["full"]
        delta = result["delta"]
        updates = result["full_commands"].get("update", 0)
        total = sum(result["full_commands"].values())
        print("(b) database round trips, full round")
        print(
            f"    {full.pages} pages: {updates} bulk writes = {updates / full.pages:.2f} per page; "
            f"{total} commands in all = {total / full.pages:.2f} per page"
        )
        dropped = f" without index {', '.join(args.without_index)}" if args.without_index else ""
        print(f"(c) end to end, full round into the {server_name}{dropped}")
        print(
            f"    {full.created:,} users in {full.seconds:.1f} s = "
            f"{full.created / full.seconds:,.0f} users/s; database {full.db_seconds:.1f} s, "
            f"waiting for Graph {full.graph_seconds:.1f} s, decode+map {full.map_seconds:.1f} s"
        )
        print(f"    profiles stored: {result['count']:,}")
        print("(d) peak RSS")
        print(f"    sync process (this one): {peak_rss_mb():.0f} MB")
        print(
            f"    database process: {child_peak_mb(db_proc.pid):.0f} MB; "
            f"fake Graph process: {child_peak_mb(graph_proc.pid):.0f} MB"
        )
        print(f"(e) delta round, {result['changed']:,} users changed ({args.delta_fraction:.0%})")
        print(
            f"    {delta.seconds:.2f} s end to end ({delta.pages} pages, "
            f"{delta.updated:,} updated); database {delta.db_seconds:.2f} s, "
            f"Graph {delta.graph_seconds:.2f} s, decode+map {delta.map_seconds:.3f} s; "
            f"{sum(result['delta_commands'].values())} commands; "
            f"{delta.db_seconds / max(delta.updated, 1) * 1000:.1f} ms of database per update"
        )
    finally:
        for proc in (graph_proc, db_proc):
            proc.kill()
            proc.wait()


def serve_db(engine: str) -> None:
    import tempfile

    from storage.embedded import EmbeddedMongo

    data_dir = Path(tempfile.mkdtemp(prefix="bench-sync-")) if engine == "sqlite" else None
    server = EmbeddedMongo(engine="sqlite" if engine == "sqlite" else "memory", data_dir=data_dir)
    uri = server.start()
    print(f"READY {uri} {server.description}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin or kills us
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Graph sync benchmark")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--sdk-slice", type=int, default=5_000)
    parser.add_argument("--delta-fraction", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=2, help="timed passes for (a); best kept")
    parser.add_argument(
        "--without-index",
        action="append",
        default=[],
        metavar="NAME",
        help="drop this profiles index before the end-to-end rounds (repeatable)",
    )
    parser.add_argument("--engine", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--serve-db", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sdk-child", metavar="BASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_db:
        serve_db(args.engine)
        return
    if args.sdk_child:
        users, seconds = asyncio.run(sdk_path(args.sdk_child, args.sdk_slice))
        print(users, seconds)
        return
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
