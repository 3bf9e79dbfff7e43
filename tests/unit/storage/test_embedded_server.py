"""The embedded server: data written through the driver survives a restart (SQLite engine), and
a second process (here: a second open) joins the owner instead of opening the files twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storage import StorageError, migrate, open_database
from storage.repositories import TenantRecord, TenantRegistry, TenantStore

TENANT = "aaaaaaaa-0000-0000-0000-000000000001"


async def test_sqlite_data_survives_a_restart(tmp_path: Path) -> None:
    first = await open_database(uri=None, db_name="juno", data_dir=tmp_path, engine="sqlite")
    assert first.embedded is not None and "sqlite" in first.server_name
    await migrate(first.db)
    await TenantRegistry(first.db).add(TenantRecord(tenant_id=TENANT, name="Contoso"))
    await TenantStore(first.db, TENANT).profiles.upsert_many(
        [{"user_id": "u1", "display_name": "Ayşe Yılmaz"}]
    )
    await first.close()
    assert (tmp_path / "juno.sqlite3").exists()
    assert not (tmp_path / "embedded-mongo.json").exists(), "address file must go on close"

    second = await open_database(uri=None, db_name="juno", data_dir=tmp_path, engine="sqlite")
    try:
        record = await TenantRegistry(second.db).get(TENANT)
        assert record is not None and record.name == "Contoso"
        profile = await TenantStore(second.db, TENANT).profiles.get("u1")
        assert profile is not None and profile["display_name"] == "Ayşe Yılmaz"
    finally:
        await second.close()


async def test_a_second_opener_joins_the_owner(tmp_path: Path) -> None:
    owner = await open_database(uri=None, db_name="juno", data_dir=tmp_path, engine="sqlite")
    try:
        guest = await open_database(uri=None, db_name="juno", data_dir=tmp_path, engine="sqlite")
        try:
            assert guest.embedded is None and "another juno process" in guest.server_name
            await guest.db["probe"].insert_one({"_id": 1})
            assert await owner.db["probe"].find_one({"_id": 1}) == {"_id": 1}
        finally:
            await guest.close()
        assert await owner.ping()
    finally:
        await owner.close()


async def test_memory_engine_starts_and_stops(tmp_path: Path) -> None:
    db = await open_database(uri=None, db_name="juno", data_dir=tmp_path, engine="memory")
    assert await db.ping()
    await db.close()
    assert not (tmp_path / "juno.sqlite3").exists()


async def test_unreachable_uri_fails_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(StorageError) as info:
        await open_database(
            uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300",
            db_name="juno",
            data_dir=tmp_path,
            connect_timeout_ms=300,
        )
    assert str(info.value).startswith("cannot reach MongoDB")


async def test_files_are_private_and_the_server_wants_its_secret(tmp_path: Path) -> None:
    """Issue #13 item 13: other local users can neither read the embedded database's files nor
    talk to its wire server without the secret drawn at start (SCRAM-SHA-256)."""
    import json
    import stat
    from urllib.parse import urlsplit

    from pymongo import AsyncMongoClient
    from pymongo.errors import OperationFailure

    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    (data / "left-from-before.log").write_text("x")
    (data / "left-from-before.log").chmod(0o644)
    db = await open_database(uri=None, db_name="juno", data_dir=data, engine="sqlite")
    try:
        await TenantStore(db.db, TENANT).profiles.upsert_many([{"user_id": "u1"}])
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = [p for p in data.iterdir() if p.is_file()]
        assert {"juno.sqlite3", "embedded-mongo.json"} <= {p.name for p in files}
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        address = urlsplit(json.loads((data / "embedded-mongo.json").read_text())["uri"])
        secret, host, port = address.password, address.hostname, address.port
        assert secret and len(secret) >= 32 and host == "127.0.0.1"
        assert secret not in db.server_name
        for uri in (
            f"mongodb://{host}:{port}/?directConnection=true",
            f"mongodb://juno:wrong@{host}:{port}/?directConnection=true&authSource=admin",
        ):
            stranger: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
                uri, serverSelectionTimeoutMS=5_000
            )
            try:
                with pytest.raises(OperationFailure):
                    await stranger["juno"]["profiles"].find_one({})
            finally:
                await stranger.close()
    finally:
        await db.close()
