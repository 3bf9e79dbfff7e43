"""The embedded MongoDB wire-protocol server (mongoeco) for demos and tests.

It runs on its own event loop in a daemon thread so the service's loop never waits on the
engine's CPU work, and so synchronous code (CLI, pytest session fixtures) can start and stop it.
The server speaks the real wire protocol on loopback: the product always talks to it through
the real PyMongo driver, exactly as it would to a production MongoDB.

With the SQLite engine, one process owns the database files at a time (an exclusive file lock);
any other process that wants the same data directory connects to the owner's server instead of
opening the files a second time, which the engine does not support safely.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import IO, Any, Literal

from storage.errors import StorageError

EngineName = Literal["memory", "sqlite"]
_LOCK_FILE = "embedded-mongo.lock"
_ADDRESS_FILE = "embedded-mongo.json"
_SQLITE_FILE = "juno.sqlite3"


def _make_engine(engine: EngineName, data_dir: Path | None) -> Any:
    # Aggregations over 50k documents need the limit lifted (see DESIGN.md §4).
    if engine == "memory":
        from mongoeco.engines.memory import MemoryEngine

        return MemoryEngine(aggregation_materialization_limit=None)
    from mongoeco.engines.sqlite import SQLiteEngine

    if data_dir is None:
        raise StorageError("the SQLite engine needs a data directory")
    return SQLiteEngine(path=str(data_dir / _SQLITE_FILE), aggregation_materialization_limit=None)


class EmbeddedMongo:
    """A mongoeco wire server in a background thread; `start()` returns its mongodb:// URI."""

    def __init__(
        self,
        *,
        engine: EngineName = "memory",
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.host = host
        self.port = port
        self._uri: str | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    @property
    def uri(self) -> str:
        if self._uri is None:
            raise StorageError("embedded MongoDB server is not running")
        return self._uri

    @property
    def description(self) -> str:
        where = f" at {self.data_dir}" if self.engine == "sqlite" else ""
        return f"embedded mongoeco wire server ({self.engine} engine{where})"

    def start(self, timeout: float = 60.0) -> str:
        if self._thread is not None:
            return self.uri
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="embedded-mongo", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise StorageError("embedded MongoDB server did not start in time")
        if self._error is not None:
            raise StorageError(f"embedded MongoDB server failed to start: {self._error}")
        return self.uri

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is None or self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        self._thread = None
        self._uri = None

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        from mongoeco.wire import AsyncMongoEcoProxyServer

        self._stop = asyncio.Event()
        try:
            server = AsyncMongoEcoProxyServer(
                engine=_make_engine(self.engine, self.data_dir), host=self.host, port=self.port
            )
            address = await server.start()
        except BaseException as exc:  # reported to the starting thread, then re-raised there
            self._error = exc
            self._started.set()
            return
        self._uri = address.uri
        self._started.set()
        try:
            await self._stop.wait()
        finally:
            await server.close()


class EmbeddedOwnership:
    """Decides whether this process serves the data directory or joins the process that does."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock_handle: IO[str] | None = None

    def try_own(self) -> bool:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.data_dir / _LOCK_FILE).open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_handle = handle
        return True

    def publish(self, uri: str) -> None:
        path = self.data_dir / _ADDRESS_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "uri": uri}))
        tmp.replace(path)

    def owner_uri(self) -> str | None:
        try:
            data = json.loads((self.data_dir / _ADDRESS_FILE).read_text())
        except (OSError, ValueError):
            return None
        uri = data.get("uri") if isinstance(data, dict) else None
        return uri if isinstance(uri, str) else None

    def release(self) -> None:
        if self._lock_handle is None:
            return
        with contextlib.suppress(OSError):
            (self.data_dir / _ADDRESS_FILE).unlink()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()
        self._lock_handle = None
