"""An erasure approved in Teams sticks: after a full resync nothing about the person is back.

The whole product, as a customer runs it: `juno serve` (real HTTP, real JWT validation, replies
through the fake Bot Connector) and `juno sync --full` as a cron job would run it, against the
fake Graph through real msal and the real transport; neither has JUNO_PSEUDONYM_KEY, so both
use $JUNO_DATA_DIR/pseudonym.key (one key resolution for every command). The person asks
"verilerimi sil" while still in the directory and manages two people; an admin approves on the
card; the full resync still lists her. Then every collection is scanned for her object id,
e-mail and name.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import GraphCredentials, TenantStore
from tests.support.bot_harness import Peers
from tests.support.bot_server import BotServer, Chat, action, bot_env, card, consent_fully
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, make_user
from tests.support.graph_authority import App, FakeAuthority
from tests.support.graph_helpers import TENANT, register
from tests.support.processes import JUNO, REPO, base_env, free_port, wait_ready

Db = AsyncDatabase[dict[str, Any]]
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c22"
SECRET = "sticks-s3cret-value"


async def everything(db: Db) -> str:
    dump = []
    for name in await db.list_collection_names():
        dump += [repr(d) for d in await db[name].find({}).to_list(None)]
    return "\n".join(dump)


@pytest.fixture
async def graph() -> AsyncIterator[tuple[FakeAuthority, FakeGraph]]:
    authority = FakeAuthority(tenants={TENANT}, apps={CLIENT: App(CLIENT, secret=SECRET)})
    await authority.start()
    fake = FakeGraph(page_size=3, token=None)
    fake.tokens = authority.issued
    fake.check_auth = True
    await fake.start()
    yield authority, fake
    await fake.stop()
    await authority.stop()


async def juno_sync(env: dict[str, str], cwd: Path, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        JUNO, "sync", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def start_serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [JUNO, "serve"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


async def test_an_erasure_approved_in_teams_survives_a_full_resync(
    db: Db,
    mongo_uri: str,
    db_name: str,
    tmp_path: Path,
    graph: tuple[FakeAuthority, FakeGraph],
) -> None:
    authority, fake = graph
    ceo = fake.directory.add(make_user(0))
    nermin = make_user(1) | {
        "givenName": "Nermin", "surname": "Karacaoğlu", "displayName": "Nermin Karacaoğlu",
        "mail": "nermin.k@fake.example", "userPrincipalName": "nermin.k@fake.example",
    }  # fmt: skip
    ann = fake.directory.add(nermin, manager=ceo)
    reports = [fake.directory.add(make_user(i), manager=ann) for i in (2, 3)]
    await register(
        db,
        TENANT,
        graph=GraphCredentials(client_id=CLIENT, client_secret_env="STICKS_GRAPH_SECRET"),
        admins=[{"user_id": ceo}],
    )
    sync_env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_AUTHORITY_HOST=authority.base,
        JUNO_GRAPH_BASE_URL=fake.base,
        STICKS_GRAPH_SECRET=SECRET,
        REQUESTS_CA_BUNDLE=str(authority.write_ca(tmp_path / "graph-ca.pem")),
        PYTHONPATH=str(REPO),
    )
    await juno_sync(sync_env, tmp_path)
    store = TenantStore(db, TENANT)
    assert (await store.profiles.get(reports[0]) or {}).get("manager_id") == ann

    peers = Peers()
    peers.start()
    port = free_port()
    serve_env = bot_env(
        mongo_uri,
        db_name,
        port,
        metadata_url=peers.metadata_url,
        authority_host=peers.authority_host,
        ca_file=peers.ca_file(str(tmp_path / "bot-ca.pem")),
        # The scheduler finds the tenant synced a moment ago; should it run anyway, it may
        # only ever reach the fake Graph.
        JUNO_GRAPH_BASE_URL=fake.base,
    )
    proc = start_serve(serve_env, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, proc)
        server = BotServer(url, peers, db_name, proc, serve_env, tmp_path)
        user = Chat(server, tenant=TENANT, locale="tr-TR")
        user.user = ann
        await consent_fully(user)
        [asked] = await user.send(1, text="verilerimi sil")
        request_id = asked["text"].split()[0]
        admin = Chat(server, tenant=TENANT)
        admin.user = ceo
        await consent_fully(admin)
        home = card((await admin.send(1, text="admin"))[0])
        confirm = card((await admin.send(1, value=action(home, "dsr_approve")))[0])
        erase = {**action(confirm, "dsr_approve"), "confirm": "nermin karacaoglu"}
        [done] = await admin.send(1, value=erase)
        assert done["text"] == f"Request {request_id} is now completed."
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        peers.stop()
    assert "Traceback" not in err, err

    # She is still in Entra ID; a full resync enumerates her again.
    fake.directory.update(ann, jobTitle="Kıdemli Uzman")
    out = await juno_sync(sync_env, tmp_path, "--full")
    assert "0 created" in out, out
    assert await store.profiles.get(ann) is None
    for report in reports:
        profile = await store.profiles.get(report)
        assert profile is not None and profile.get("manager_id") is None
    held = await everything(db)
    for trace in (ann, "nermin.k@fake.example", "Nermin", "Karacaoğlu"):
        assert trace not in held, trace
    assert (tmp_path / "var" / "pseudonym.key").exists()  # the one key both commands used
    assert await store.suppressions.count() == 1
    assert await undeclared(db) == []
