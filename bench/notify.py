"""Directory change -> visible in the bot's search, through a Graph change notification.

Processes: the embedded MongoDB wire server (memory engine, its own process), `juno serve`
(its own process: bot with real JWT validation, Graph subscriptions, the scheduler), and this
one, which runs the fake Graph (tests/support/fake_graph.py), the fake Entra authority for both
identities, the fake Bot Connector, and the measuring client.

`juno serve` subscribes to `/users` at the fake Graph (which validates its endpoint). Then
`--changes` new hires are added at `--rate` per second; each is followed at once by the change
notification Graph would send. Every pending hire is searched for through the bot (a Teams user
typing `find <surname>`) until its card comes back. Latency = card received - directory
changed. A notification schedules a delta round debounced to one per tenant per 10 s, so under
a steady stream of changes the figure includes that wait: it is the honest number.

Prints p50 / p99 / max over the changes, the delta rounds they cost, and whether every change
was visible within the issue's 60 s.

Run: `.venv/bin/python bench/notify.py [--changes 100] [--rate 1] [--users 1000]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._shared import EMBEDDED_NAME, JUNO, start_embedded_db  # noqa: E402
from storage import migrate  # noqa: E402
from storage.repositories import GraphCredentials, TenantRecord, TenantRegistry  # noqa: E402
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, Peers, activity  # noqa: E402
from tests.support.fake_graph import FakeGraph, make_user, populate  # noqa: E402
from tests.support.graph_authority import App, FakeAuthority  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

TENANT = "bbbbbbbb-0000-4000-8000-00000000a0f1"
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
SECRET = "bench-graph-secret"  # noqa: S105 - the fake authority's
CONSENT_USER = str(uuid.uuid4())


def code(i: int) -> str:
    """A fixed-length surname part, so no hire's name is a prefix of another's."""
    letters = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        letters = chr(ord("a") + r) + letters
    return "Nfy" + letters


class Bot:
    """One consented Teams user talking to `juno serve` like Teams does."""

    def __init__(self, base: str, peers: Peers) -> None:
        self.base, self.peers = base, peers
        self.conversation = f"a:{uuid.uuid4().hex}"
        self.seen = 0
        self.http = aiohttp.ClientSession()

    async def send(self, **kw: Any) -> list[dict[str, Any]]:
        body = activity(tenant=TENANT, user=CONSENT_USER, conversation=self.conversation,
                        service_url=self.peers.service_url, **kw)  # fmt: skip
        headers = {"Authorization": f"Bearer {self.peers.token()}"}
        async with self.http.post(f"{self.base}/api/messages", json=body, headers=headers) as r:
            if r.status not in (200, 202):
                raise RuntimeError(f"bot answered {r.status}: {await r.text()}")
        return await self._replies(1 if kw.get("type_", "message") == "message" else 3)

    async def _replies(self, count: int) -> list[dict[str, Any]]:
        replies = await self.peers.wait_replies(self.conversation, self.seen + count, within=30)
        new = replies[self.seen :]
        self.seen = len(replies)
        return new

    async def consent(self) -> None:
        first = await self.send(
            type_="conversationUpdate", membersAdded=[{"id": f"28:{BOT_APP_ID}"}]
        )
        for reply, command in ((first[1], "ack_notice"), (first[2], "accept_eula")):
            card = reply["attachments"][0]["content"]
            [data] = [a["data"] for a in card["actions"] if a["data"].get("juno") == command]
            await self.send(value=data)

    async def finds(self, name: str, surname: str) -> bool:
        [reply] = await self.send(text=f"find {surname}")
        return name in json.dumps(reply, ensure_ascii=False)

    async def close(self) -> None:
        await self.http.close()


async def wait_for(check: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.2)


async def main(args: argparse.Namespace) -> None:
    db_proc, uri = start_embedded_db()
    authority = FakeAuthority(
        tenants={TENANT, "botframework.com"},
        apps={CLIENT: App(CLIENT, secret=SECRET), BOT_APP_ID: App(BOT_APP_ID, secret=BOT_SECRET)},
    )
    await authority.start()
    graph = FakeGraph(page_size=999, token=None)
    graph.tokens, graph.check_auth, graph.tenant_id = authority.issued, True, TENANT
    await graph.start()
    populate(graph.directory, args.users)
    peers = Peers()
    peers.start()
    db_name = f"bench_notify_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[db_name]
    await migrate(db)
    creds = GraphCredentials(client_id=CLIENT, client_secret_env="BENCH_GRAPH_SECRET")  # noqa: S106
    await TenantRegistry(db).add(TenantRecord(tenant_id=TENANT, name="Bench", graph=creds))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = tempfile.mkdtemp()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("JUNO_", "MONGODB_"))},
        "MONGODB_URI": uri,
        "JUNO_DB_NAME": db_name,
        "JUNO_PORT": str(port),
        "JUNO_LOG_LEVEL": "WARNING",
        "JUNO_PUBLIC_BASE_URL": base,
        "JUNO_BOT_APP_ID": BOT_APP_ID,
        "JUNO_BOT_APP_SECRET": BOT_SECRET,
        "JUNO_BOT_OPENID_METADATA_URL": peers.metadata_url,
        "JUNO_BOT_VALIDATE_SERVICE_URL": "0",
        "JUNO_AUTHORITY_HOST": authority.base,
        "JUNO_GRAPH_BASE_URL": graph.base,
        "JUNO_PSEUDONYM_KEY": "bench-notify-key",
        "BENCH_GRAPH_SECRET": SECRET,
        "REQUESTS_CA_BUNDLE": str(authority.write_ca(Path(tmp) / "ca.pem")),
    }
    serve = await asyncio.create_subprocess_exec(
        JUNO, "serve", env=env, cwd=tmp, stderr=subprocess.DEVNULL
    )
    bot = Bot(base, peers)
    try:

        async def subscribed() -> bool:
            doc = await db["graph_subscriptions"].find_one({"tenant_id": TENANT}) or {}
            state = await db["sync_state"].find_one({"tenant_id": TENANT}) or {}
            first_ok = (state.get("last_run") or {}).get("status") == "ok"
            return doc.get("status") == "active" and first_ok

        await wait_for(subscribed, 120, "the subscription and the first full sync")
        await bot.consent()
        rounds_before = graph.count("delta")
        pending: dict[int, tuple[float, str, str]] = {}
        latencies: list[float] = []

        async def changes() -> None:
            for i in range(args.changes):
                surname = code(i)
                hire = {**make_user(args.users + i), "id": str(uuid.uuid4()),
                        "givenName": "Zerrin", "surname": surname,
                        "displayName": f"Zerrin {surname}"}  # fmt: skip
                graph.directory.add(hire)
                pending[i] = (time.monotonic(), f"Zerrin {surname}", surname)
                statuses = await graph.notify(hire["id"])
                if statuses != [202]:
                    raise SystemExit(f"bench: notification answered {statuses}")
                await asyncio.sleep(1 / args.rate)

        async def probe() -> None:
            while len(latencies) < args.changes:
                for i in sorted(pending):  # oldest first
                    changed, name, surname = pending[i]
                    if await bot.finds(name, surname):
                        latencies.append(time.monotonic() - changed)
                        del pending[i]
                    elif time.monotonic() - changed > 120:
                        raise SystemExit(f"bench: {name} not visible after 120 s")
                await asyncio.sleep(0.05)

        started = time.monotonic()
        await asyncio.gather(changes(), probe())
        wall = time.monotonic() - started
        stream, latencies = latencies, []
        for j in range(args.isolated):  # one change at a time, past the debounce window
            await asyncio.sleep(11)
            i = args.changes + j
            surname = code(i)
            hire = {**make_user(args.users + i), "id": str(uuid.uuid4()), "givenName": "Zerrin",
                    "surname": surname, "displayName": f"Zerrin {surname}"}  # fmt: skip
            graph.directory.add(hire)
            changed = time.monotonic()
            await graph.notify(hire["id"])
            while not await bot.finds(f"Zerrin {surname}", surname):
                if time.monotonic() - changed > 120:
                    raise SystemExit(f"bench: isolated change {surname} not visible after 120 s")
                await asyncio.sleep(0.05)
            latencies.append(time.monotonic() - changed)
        isolated = latencies
    finally:
        await bot.close()
        serve.terminate()
        await serve.wait()
        peers.stop()
        await graph.stop()
        await authority.stop()
        await client.drop_database(db_name)
        await client.close()
        db_proc.kill()
    stream.sort()
    p99 = stream[min(len(stream) - 1, round(0.99 * (len(stream) - 1)))]
    rounds = graph.count("delta") - rounds_before
    print(f"database: {EMBEDDED_NAME}; directory: {args.users} users; "
          f"{args.changes} new hires at {args.rate}/s over {wall:.0f} s")  # fmt: skip
    print(
        f"change -> visible in bot search (through a notification), stream of changes: "
        f"p50 {statistics.median(stream):.1f} s, p99 {p99:.1f} s, max {stream[-1]:.1f} s"
    )
    if isolated:
        print(
            f"one change at a time ({len(isolated)}, 11 s apart): "
            f"p50 {statistics.median(isolated):.2f} s, max {max(isolated):.2f} s"
        )
    print(f"delta rounds run for {args.changes + len(isolated)} notifications: {rounds}")
    every = stream + isolated
    within = sum(1 for x in every if x < 60)
    print(f"visible within 60 s: {within}/{len(every)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--rate", type=float, default=1.0, help="directory changes per second")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--isolated", type=int, default=3, help="single changes, 11 s apart")
    asyncio.run(main(parser.parse_args()))
