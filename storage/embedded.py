"""The embedded MongoDB wire-protocol server (mongoeco) for demos, trials and tests.

`EmbeddedProcess` is what the service uses: the server runs in a child process
(`python -m storage.embedded_server`), so its CPU work never shares the bot's GIL or core; the child
stops when its parent closes the pipe (or dies). It listens on loopback only and requires
SCRAM-SHA-256 with a password drawn at start, so other local users cannot reach the data
without the secret; the data directory is 0700 and every file in it 0600 (umask 077 in the
child). The address with its secret goes to the parent over the pipe and to a 0600 file in the
data directory, for other juno processes of the same user.

`EmbeddedMongo` runs the server on its own event loop in a daemon thread: for tests and
benchmarks, which start and stop it from synchronous code.

The server speaks the real wire protocol: the product always talks to it through the real
PyMongo driver, exactly as it would to a production MongoDB.

With the SQLite engine, one process owns the database files at a time (an exclusive file lock,
held by the serving child); any other process that wants the same data directory connects to
the owner's server instead of opening the files a second time, which the engine does not
support safely.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import quote_plus

from storage.errors import StorageError

EngineName = Literal["memory", "sqlite"]
_LOCK_FILE = "embedded-mongo.lock"
_ADDRESS_FILE = "embedded-mongo.json"
_SQLITE_FILE = "juno.sqlite3"
_USER = "juno"
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600
_JOIN_WAIT = 15.0  # seconds a starting process waits for a stopping owner to let go


def make_private(data_dir: Path) -> None:
    """The data directory 0700 and everything in it 0600: other local users read nothing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(_PRIVATE_DIR)
    for path in data_dir.iterdir():
        if path.is_file() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(_PRIVATE_FILE)


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
        """The address, with its secret, readable by this user only."""
        path = self.data_dir / _ADDRESS_FILE
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps({"pid": os.getpid(), "uri": uri}))
        tmp.replace(path)

    def owner_uri(self) -> str | None:
        try:
            data = json.loads((self.data_dir / _ADDRESS_FILE).read_text())
        except (OSError, ValueError):
            return None
        uri = data.get("uri") if isinstance(data, dict) else None
        return uri if isinstance(uri, str) else None

    def withdraw(self) -> None:
        with contextlib.suppress(OSError):
            (self.data_dir / _ADDRESS_FILE).unlink()

    def release(self) -> None:
        if self._lock_handle is None:
            return
        self.withdraw()
        fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
        self._lock_handle.close()
        self._lock_handle = None


class EmbeddedProcess:
    """The embedded server in a child process; `start()` returns its authenticated URI, or the
    URI of the process that already serves the data directory (then `owned` is False)."""

    def __init__(self, *, engine: EngineName = "sqlite", data_dir: Path | None = None) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self.owned = False
        self._proc: subprocess.Popen[str] | None = None

    @property
    def description(self) -> str:
        where = f" at {self.data_dir}" if self.engine == "sqlite" else ""
        return f"embedded mongoeco wire server ({self.engine} engine{where}, own process)"

    def start(self, timeout: float = 60.0) -> str:
        command = [sys.executable, "-m", "storage.embedded_server", "--engine", self.engine]
        if self.data_dir is not None:
            command += ["--data-dir", str(self.data_dir.resolve())]
        paths = [str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
        )
        self._proc = proc
        answer: dict[str, Any] = {}
        reader = threading.Thread(target=lambda: answer.update(_read_answer(proc)), daemon=True)
        reader.start()
        reader.join(timeout)
        if not answer:
            self.stop()
            raise StorageError("embedded MongoDB server did not start in time")
        if "error" in answer:
            self.stop()
            raise StorageError(f"embedded MongoDB server failed to start: {answer['error']}")
        uri = answer.get("uri")
        if not isinstance(uri, str):
            self.stop()
            raise StorageError(
                f"another juno process holds {self.data_dir} but has not published its address"
            )
        self.owned = not answer.get("joined", False)
        if not self.owned:
            self.stop()
        return uri

    def stop(self, timeout: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout is not None:
            proc.stdout.close()


def _read_answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        return {"error": f"exited with status {proc.wait()}"}
    try:
        data = json.loads(line)
    except ValueError:
        return {"error": "unreadable answer"}
    return data if isinstance(data, dict) else {"error": "unreadable answer"}


async def _serve_child(engine: EngineName, data_dir: Path | None, host: str) -> int:
    from mongoeco.wire import AsyncMongoEcoProxyServer
    from mongoeco.wire.auth import WireAuthUser

    ownership: EmbeddedOwnership | None = None
    if data_dir is not None:
        make_private(data_dir)
    if engine == "sqlite":
        if data_dir is None:
            raise StorageError("the SQLite engine needs a data directory")
        ownership = EmbeddedOwnership(data_dir)
        deadline = time.monotonic() + _JOIN_WAIT
        while not ownership.try_own():
            # The owner publishes its address once it serves and withdraws it first when it
            # stops: no address means it is starting or going (its parent was killed), so wait
            # for the address or for the lock rather than fail.
            uri = ownership.owner_uri()
            if uri is not None or time.monotonic() > deadline:
                print(json.dumps({"joined": True, "uri": uri}), flush=True)
                return 0
            await asyncio.sleep(0.1)
    secret = secrets.token_urlsafe(32)
    server = AsyncMongoEcoProxyServer(
        engine=_make_engine(engine, data_dir),
        host=host,
        port=0,
        auth_users=(WireAuthUser(_USER, secret, mechanisms=("SCRAM-SHA-256",)),),
    )
    try:
        address = await server.start()
        uri = (
            f"mongodb://{_USER}:{quote_plus(secret)}@{address.host}:{address.port}/"
            "?directConnection=true&authSource=admin&authMechanism=SCRAM-SHA-256"
        )
        if ownership is not None:
            ownership.publish(uri)
        print(json.dumps({"uri": uri}), flush=True)
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)

        # The parent closing our stdin (or dying) is the stop signal; a daemon thread, so a
        # SIGTERM does not wait on its blocked read.
        def watch_parent() -> None:
            sys.stdin.read()
            loop.call_soon_threadsafe(done.set)

        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
        await done.wait()
    finally:
        if ownership is not None:
            ownership.withdraw()  # nobody joins a server that is closing
        await server.close()
        if ownership is not None:
            ownership.release()
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m storage.embedded_server --engine sqlite --data-dir var`: serve until stdin
    closes."""
    parser = argparse.ArgumentParser(prog="python -m storage.embedded_server")
    parser.add_argument("--engine", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    os.umask(0o077)
    try:
        return asyncio.run(_serve_child(args.engine, args.data_dir, args.host))
    except (StorageError, OSError) as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        return 1
