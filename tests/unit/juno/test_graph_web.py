"""A directory change reaches a Teams user's search through a Graph notification, end to end:
`juno serve` as a subprocess subscribes at the fake Graph (which validates its endpoint over
HTTP), the fake Graph POSTs a change notification, the delta round runs, and the bot's real
search (real JWT validation, replies through the fake Bot Connector) finds the new hire well
inside a minute, long before the 30-minute poll would have."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.subscriptions import SubscriptionStore
from storage.repositories import GraphCredentials
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, Peers
from tests.support.bot_server import BotServer, Chat, bot_env, consent_fully
from tests.support.fake_graph import FakeGraph, make_user, populate
from tests.support.graph_authority import App, FakeAuthority
from tests.support.graph_helpers import TENANT, register
from tests.support.processes import JUNO, REPO, base_env, free_port

Db = AsyncDatabase[dict[str, Any]]
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
SECRET = "notify-s3cret-value"


@dataclass
class Served:
    bot: BotServer
    graph: FakeGraph
    db: Db
    proc: asyncio.subprocess.Process


async def juno(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        JUNO, *args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def wait_until_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 90
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise AssertionError("juno serve exited early")
            try:
                async with http.get(f"{url}/readyz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("juno serve did not become ready")


@pytest.fixture
async def served(db: Db, db_name: str, mongo_uri: str, tmp_path: Path) -> AsyncIterator[Served]:
    # One authority for both identities: the bot's (Bot Connector tokens) and the Graph app's.
    authority = FakeAuthority(
        tenants={TENANT, "botframework.com"},
        apps={CLIENT: App(CLIENT, secret=SECRET), BOT_APP_ID: App(BOT_APP_ID, secret=BOT_SECRET)},
    )
    await authority.start()
    graph = FakeGraph(page_size=50, token=None)
    graph.tokens, graph.check_auth, graph.tenant_id = authority.issued, True, TENANT
    await graph.start()
    populate(graph.directory, 30)
    await register(
        db, TENANT, graph=GraphCredentials(client_id=CLIENT, client_secret_env="GRAPH_SECRET")
    )
    peers = Peers()
    peers.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = bot_env(
        mongo_uri,
        db_name,
        port,
        metadata_url=peers.metadata_url,
        authority_host=authority.base,
        ca_file=str(authority.write_ca(tmp_path / "ca.pem")),
        JUNO_PUBLIC_BASE_URL=url,
        JUNO_GRAPH_BASE_URL=graph.base,
        JUNO_PSEUDONYM_KEY="notify-test-key",
        GRAPH_SECRET=SECRET,
        PYTHONPATH=str(REPO),
    )
    proc = await asyncio.create_subprocess_exec(
        JUNO, "serve", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await wait_until_ready(url, proc)
        bot = BotServer(url, peers, db_name, proc, env, tmp_path)  # type: ignore[arg-type]
        yield Served(bot, graph, db, proc)
    finally:
        if proc.returncode is None:
            proc.terminate()
        async with asyncio.timeout(30):
            _, err = await proc.communicate()
        peers.stop()
        await graph.stop()
        await authority.stop()
        assert "Traceback" not in err.decode(), err.decode()[-3000:]


async def search(chat: Chat, text: str) -> str:
    [reply] = await chat.send(1, text=text)
    return json.dumps(reply, ensure_ascii=False)


async def test_a_new_hire_is_found_in_search_seconds_after_the_notification(
    served: Served,
) -> None:
    graph, db = served.graph, served.db
    store = SubscriptionStore(db, TENANT)

    async def subscribed() -> bool:
        doc = await store.load() or {}
        return doc.get("status") == "active" and len(graph.subscriptions) == 1

    deadline = time.monotonic() + 60
    while not await subscribed():
        assert time.monotonic() < deadline, "juno serve did not subscribe"
        await asyncio.sleep(0.2)
    [sub] = graph.subscriptions.values()
    assert sub["notificationUrl"] == f"{served.bot.url}/api/graph/notifications"

    chat = Chat(served.bot, tenant=TENANT)
    await consent_fully(chat)
    surname = "Bildirimoğlu"
    assert "I found no one" in await search(chat, f"find {surname}")

    hire = {**make_user(500), "id": str(uuid.uuid4()), "givenName": "Zerrin",
            "surname": surname, "displayName": f"Zerrin {surname}"}  # fmt: skip
    graph.directory.add(hire)
    changed = time.monotonic()
    assert await graph.notify(hire["id"]) == [202]
    while True:
        if f"Zerrin {surname}" in await search(chat, f"find {surname}"):
            break
        assert time.monotonic() - changed < 60, "the new hire did not appear within a minute"
        await asyncio.sleep(0.5)
    elapsed = time.monotonic() - changed
    assert elapsed < 60
    doc = await store.load() or {}
    assert doc["notifications"] >= 1

    # The operator sees the same on the command line.
    code, out, err = await juno(
        served.bot.env, served.bot.cwd, "graph", "subscriptions", "list", "--json"
    )
    assert code == 0, err
    [row] = json.loads(out)
    assert row["tenant_id"] == TENANT and row["status"] == "active"
    assert row["subscription_id"] == sub["id"] and row["notifications"] >= 1
    code, out, err = await juno(served.bot.env, served.bot.cwd, "tenant", "show", "--tenant",
                                TENANT, "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["subscription"]["status"] == "active"
    env, cwd = served.bot.env, served.bot.cwd
    code, out, err = await juno(env, cwd, "graph", "subscriptions", "delete", "--tenant", TENANT)
    assert (code, out.strip()) == (0, f"tenant {TENANT}: subscription deleted"), err
    assert graph.subscriptions == {} and (await store.load() or {})["status"] == "deleted"
    code, out, err = await juno(env, cwd, "graph", "subscriptions", "renew", "--tenant", TENANT)
    assert (code, out.strip()) == (0, f"tenant {TENANT}: created"), err  # validated by serve
    assert len(graph.subscriptions) == 1


async def test_the_bot_can_be_a_user_assigned_managed_identity(
    db: Db, db_name: str, mongo_uri: str, tmp_path: Path
) -> None:
    """No secret, no certificate: the Bot Connector token comes from the host's managed
    identity endpoint (App Service's IDENTITY_ENDPOINT protocol, a loopback stand-in here)."""
    from aiohttp import web

    asked: list[dict[str, str]] = []

    async def msi(request: web.Request) -> web.Response:
        asked.append({**request.query, "header": request.headers.get("X-IDENTITY-HEADER", "")})
        return web.json_response({"access_token": "mi-token", "token_type": "Bearer",
                                  "expires_on": str(int(time.time()) + 3600),
                                  "resource": request.query.get("resource")})  # fmt: skip

    app = web.Application()
    app.router.add_get("/msi/token", msi)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    msi_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", msi_port).start()
    peers = Peers()
    peers.start()
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_PORT=str(port),
        JUNO_BOT_APP_ID=BOT_APP_ID,
        JUNO_BOT_AUTH_TYPE="user_managed_identity",
        JUNO_BOT_OPENID_METADATA_URL=peers.metadata_url,
        JUNO_BOT_VALIDATE_SERVICE_URL="0",
        IDENTITY_ENDPOINT=f"http://127.0.0.1:{msi_port}/msi/token",
        IDENTITY_HEADER="host-secret-header",
    )
    refused = await juno({**env, "JUNO_BOT_APP_SECRET": "s"}, tmp_path, "serve")
    assert refused[0] == 2
    assert (
        refused[2]
        .strip()
        .splitlines()[-1]
        .startswith("error: JUNO_BOT_AUTH_TYPE=user_managed_identity uses no JUNO_BOT_APP_SECRET")
    )
    proc = await asyncio.create_subprocess_exec(
        JUNO, "serve", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_until_ready(url, proc)
        await db["tenants"].insert_one({"_id": TENANT, "tenant_id": TENANT, "name": "MI Org"})
        chat = Chat(BotServer(url, peers, db_name, proc, env, tmp_path), tenant=TENANT)  # type: ignore[arg-type]
        await consent_fully(chat)
        assert peers.reply_auth and set(peers.reply_auth) == {"Bearer mi-token"}
        assert asked[0]["client_id"] == BOT_APP_ID
        assert asked[0]["resource"] == "https://api.botframework.com"
        assert asked[0]["header"] == "host-secret-header"
    finally:
        proc.terminate()
        _, err = await proc.communicate()
        peers.stop()
        await runner.cleanup()
    assert "Traceback" not in err.decode()
