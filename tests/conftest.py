"""Shared fixtures: one embedded MongoDB wire server per session (on its own loop in a thread),
and a fresh database per test reached through the real PyMongo async driver.

`JUNO_TEST_ENGINE=sqlite` runs the whole suite on mongoeco's SQLite engine (files in a temporary
directory); the default, `memory`, is the faster one for CI. Nothing may rely on one engine's
quirks (docs/operations.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage import migrate
from storage.embedded import EmbeddedMongo
from tests.support.processes import Cli, base_env

TEST_ENGINE = os.environ.get("JUNO_TEST_ENGINE", "memory")


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if TEST_ENGINE not in ("memory", "sqlite"):
        raise pytest.UsageError(f"JUNO_TEST_ENGINE must be memory or sqlite, not {TEST_ENGINE!r}")
    data_dir = tmp_path_factory.mktemp("embedded") if TEST_ENGINE == "sqlite" else None
    server = EmbeddedMongo(
        engine="sqlite" if TEST_ENGINE == "sqlite" else "memory", data_dir=data_dir
    )
    uri = server.start()
    yield uri
    server.stop()


@pytest.fixture
def db_name() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def db(mongo_uri: str, db_name: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, connectTimeoutMS=60_000, tz_aware=True
    )
    database = client[db_name]
    await migrate(database)
    yield database
    await client.drop_database(db_name)
    await client.close()


@pytest.fixture
def cli(mongo_uri: str, db_name: str, tmp_path: Path) -> Cli:
    return Cli(env=base_env(MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name), cwd=tmp_path)
