"""`juno sync` against the fake Graph and Entra authority: the settings and servers the CLI tests
share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import GraphCredentials
from tests.support.fake_graph import FakeGraph
from tests.support.graph_authority import App, FakeAuthority
from tests.support.graph_helpers import TENANT, register
from tests.support.processes import JUNO, REPO, base_env

Db = AsyncDatabase[dict[str, Any]]


CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
SECRET = "cli-s3cret-value"
SYNC = [JUNO, "sync"]


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Env:
    vars: dict[str, str]
    cwd: Path

    async def start(self, *args: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *SYNC,
            *args,
            env=self.vars,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )

    async def __call__(self, *args: str) -> Result:
        proc = await self.start(*args)
        async with asyncio.timeout(120):
            out, err = await proc.communicate()
        return Result(proc.returncode or 0, out.decode(), err.decode())


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FakeAuthority, FakeGraph]]:
    authority = FakeAuthority(tenants={TENANT}, apps={CLIENT: App(CLIENT, secret=SECRET)})
    await authority.start()
    graph = FakeGraph(page_size=6, token=None)
    graph.tokens = authority.issued
    graph.check_auth = True
    await graph.start()
    yield authority, graph
    await graph.stop()
    await authority.stop()


@pytest.fixture
def env(
    mongo_uri: str, db_name: str, tmp_path: Path, servers: tuple[FakeAuthority, FakeGraph]
) -> Env:
    authority, graph = servers
    ca = authority.write_ca(tmp_path / "ca.pem")
    variables = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_AUTHORITY_HOST=authority.base,
        JUNO_GRAPH_BASE_URL=graph.base,
        JUNO_PSEUDONYM_KEY="cli-test-key",
        CONTOSO_GRAPH_SECRET=SECRET,
        REQUESTS_CA_BUNDLE=str(ca),
        PYTHONPATH=str(REPO),
    )
    return Env(variables, tmp_path)


async def add_tenant(db: Db) -> None:
    graph = GraphCredentials(client_id=CLIENT, client_secret_env="CONTOSO_GRAPH_SECRET")
    await register(db, TENANT, graph=graph)
