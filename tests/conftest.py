"""Shared fixtures: one embedded MongoDB wire server per session (on its own loop in a thread),
and a fresh database per test reached through the real PyMongo async driver.

`JUNO_TEST_ENGINE=sqlite` runs the whole suite on mongoeco's SQLite engine (files in a temporary
directory); the default, `memory`, is the faster one for CI. Nothing may rely on one engine's
quirks (docs/operations.md)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage import migrate
from storage.embedded import EmbeddedMongo

REPO = Path(__file__).resolve().parent.parent
JUNO = str(Path(sys.executable).with_name("juno"))


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


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs the real `juno` entry point in a subprocess against the test database."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, timeout: float = 120) -> CliResult:
        proc = subprocess.run(
            [JUNO, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNO_", "MONGODB_"))}
    env.update(extra)
    return env


@pytest.fixture
def cli(mongo_uri: str, db_name: str, tmp_path: Path) -> Cli:
    return Cli(env=base_env(MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name), cwd=tmp_path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(base_url: str, proc: subprocess.Popen[str], within: float = 60) -> None:
    """Poll /readyz of a `juno serve` subprocess until it answers 200."""
    import time
    import urllib.request

    deadline = time.monotonic() + within
    while True:
        try:
            urllib.request.urlopen(f"{base_url}/readyz", timeout=2).close()  # noqa: S310
            return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"juno serve exited: {err}") from None
            if time.monotonic() > deadline:
                raise AssertionError("juno serve did not become ready") from None
            time.sleep(0.2)
