"""Opening the database: a configured MongoDB, or the embedded server when none is configured."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.monitoring import CommandListener

from storage.embedded import EmbeddedProcess, EngineName
from storage.errors import StorageError

Document = dict[str, Any]


@dataclass
class Database:
    """One client and one database, plus the embedded server child this process runs, if any."""

    client: AsyncMongoClient[Document]
    db: AsyncDatabase[Document]
    server_name: str
    embedded: EmbeddedProcess | None = None
    _closed: bool = field(default=False, repr=False)

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(2.0):
                await self.db.command("ping")
        except (PyMongoError, TimeoutError):
            return False
        return True

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.client.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


def _client(
    uri: str, connect_timeout_ms: int, listeners: Sequence[CommandListener]
) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        uri,
        connectTimeoutMS=connect_timeout_ms,
        serverSelectionTimeoutMS=max(connect_timeout_ms // 2, 5_000),
        event_listeners=list(listeners),
        tz_aware=True,
        appname="juno",
    )


async def _describe_server(client: AsyncMongoClient[Document]) -> str:
    try:
        info = await client.server_info()
    except OperationFailure:  # mongoeco has no buildInfo; other compatible servers may not either
        return "MongoDB-compatible server (no buildInfo)"
    return f"MongoDB {info.get('version', '?')}"


async def open_database(
    *,
    uri: str | None,
    db_name: str,
    data_dir: Path,
    engine: EngineName = "sqlite",
    connect_timeout_ms: int = 60_000,
    listeners: Sequence[CommandListener] = (),
) -> Database:
    """Connect to `uri`, or start the embedded server in a child process (joining another
    process's server if that one already serves `data_dir`).

    The database is pinged before returning so a bad URI fails here, in one readable line,
    rather than at the first query.
    """
    embedded: EmbeddedProcess | None = None
    if uri:
        server_name = "MongoDB at the configured MONGODB_URI"
    else:
        child = EmbeddedProcess(engine=engine, data_dir=data_dir if engine == "sqlite" else None)
        uri = await asyncio.to_thread(child.start)
        if child.owned:
            embedded = child
            server_name = child.description
        else:
            server_name = f"embedded server of another juno process ({data_dir})"
    client = _client(uri, connect_timeout_ms, listeners)
    database = Database(
        client=client, db=client[db_name], server_name=server_name, embedded=embedded
    )
    try:
        await database.db.command("ping")
        if embedded is None and "embedded" not in server_name:
            database.server_name = await _describe_server(client)
    except PyMongoError as exc:
        await database.close()
        raise StorageError(f"cannot reach MongoDB: {exc}") from exc
    return database
