"""Contract end: `juno tenant export` gives back everything of one tenant and nothing of another;
`juno tenant purge` then leaves only destruction-log entries, survives a crash at any write, and
is a no-op the second time."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP
from privacy.retention import sweep_tenants
from privacy.runs import collection_of
from privacy.tenant_archive import verify_archive, write_tenant_archive
from privacy.tenant_purge import purge_tenant, remaining
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.crash import Crash, CrashAt
from tests.support.privacy_seed import NOW, seed_every_store
from tests.support.processes import Cli

A = "a1a1a1a1-0000-4000-8000-0000000000a1"
B = "b2b2b2b2-0000-4000-8000-0000000000b2"
ALICE, BOB = "alice-0000-a", "bob-0000-a"
CAROL, DAVE = "carol-0000-b", "dave-0000-b"
Db = AsyncDatabase[dict[str, Any]]


async def seed_tenant(db: Db, tenant_id: str, user: str, other: str) -> TenantStore:
    """Every store of the data map holds something of the tenant (personal stores per user,
    the rest one operational record each)."""
    store = await seed_every_store(db, tenant_id, user, other)
    for coll in DATA_MAP:
        handle = collection_of(store, coll)
        if await handle.count() == 0:
            await handle.insert({"_id": handle.key("sample"), "note": f"{coll.value} sample"})
    return store


async def tenant_docs(db: Db, tenant_id: str) -> dict[str, int]:
    return {
        coll.value: await db[coll].count_documents({"tenant_id": tenant_id})
        for coll in Coll
        if await db[coll].count_documents({"tenant_id": tenant_id})
    }


async def test_export_holds_every_store_of_the_tenant_and_nothing_of_another(
    db: Db, cli: Cli, tmp_path: Path
) -> None:
    await seed_tenant(db, A, ALICE, BOB)
    await seed_tenant(db, B, CAROL, DAVE)
    out = tmp_path / "contoso.zip"

    done = cli("tenant", "export", "--tenant", A, "--out", str(out))

    assert done.code == 0, done.err
    assert "written to" in done.out
    manifest = verify_archive(out)
    assert manifest["tenant_id"] == A
    held = await tenant_docs(db, A)
    archived = {s["collection"]: s["records"] for s in manifest["stores"]}
    assert set(archived) == {c.value for c in DATA_MAP}  # every store of the map, by name
    assert all(archived[c.value] > 0 for c in DATA_MAP)
    assert archived == {c.value: held.get(c.value, 0) for c in DATA_MAP}
    with zipfile.ZipFile(out) as zf:
        sums = zf.read("SHA256SUMS").decode().splitlines()
        for line in sums:  # `sha256sum -c` format
            digest, name = line.split("  ", 1)
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
        everything = b"".join(zf.read(n) for n in zf.namelist())
        first = json.loads(zf.read("stores/profiles.jsonl").splitlines()[0])
    assert first["tenant_id"] == A
    for foreign in (B, CAROL, DAVE):
        assert foreign.encode() not in everything


async def test_export_refuses_to_overwrite_and_unknown_tenants(
    db: Db, cli: Cli, tmp_path: Path
) -> None:
    await seed_tenant(db, A, ALICE, BOB)
    out = tmp_path / "taken.zip"
    out.write_bytes(b"keep me")

    taken = cli("tenant", "export", "--tenant", A, "--out", str(out))
    unknown = cli("tenant", "export", "--tenant", B, "--out", str(tmp_path / "b.zip"))

    assert taken.code == 2 and "exists" in taken.err and out.read_bytes() == b"keep me"
    assert unknown.code == 2 and "not registered" in unknown.err
    assert not (tmp_path / "b.zip").exists()
    assert not list(tmp_path.glob(".juno-archive-*"))  # noqa: ASYNC240


async def test_purge_leaves_only_the_destruction_log_and_twice_is_a_no_op(db: Db, cli: Cli) -> None:
    await seed_tenant(db, A, ALICE, BOB)
    await seed_tenant(db, B, CAROL, DAVE)
    before_a = await tenant_docs(db, A)
    before_b = await tenant_docs(db, B)

    wrong = cli("tenant", "purge", "--tenant", A, "--confirm", "contoso ")
    assert wrong.code == 2 and "--confirm must be the tenant's name" in wrong.err
    assert await tenant_docs(db, A) == before_a

    purged = cli("tenant", "purge", "--tenant", A, "--confirm", "Contoso")

    assert purged.code == 0, purged.err
    assert f"tenant {A} purged" in purged.out
    after = await tenant_docs(db, A)
    assert set(after) == {Coll.DESTRUCTION_LOG.value}
    assert await db[Coll.TENANTS].count_documents({"_id": A}) == 0
    assert await tenant_docs(db, B) == before_b  # the other tenant is untouched
    entries = (
        await db[Coll.DESTRUCTION_LOG]
        .find({"tenant_id": A, "method": "delete", "reason": {"$regex": "^contract ended"}})
        .to_list(None)
    )
    logged = {e["store"]: e["records"] for e in entries}
    expected = {k: v for k, v in before_a.items() if k != Coll.DESTRUCTION_LOG.value}
    assert logged == expected  # one entry per store, with what was there
    assert all(e["status"] == "done" and e["subject"] is None for e in entries)

    shown = cli("tenant", "show", "--tenant", A, "--json")
    assert shown.code == 0, shown.err
    body = json.loads(shown.out)
    assert body["tenant"] is None
    assert {k: v for k, v in body["records"].items() if v} == {
        Coll.DESTRUCTION_LOG.value: after[Coll.DESTRUCTION_LOG.value]
    }
    human = cli("tenant", "show", "--tenant", A)
    assert "no records are held" in human.out

    again = cli("tenant", "purge", "--tenant", A, "--confirm", "Contoso")
    assert again.code == 0 and "nothing to purge" in again.out
    assert await tenant_docs(db, A) == after


async def test_show_still_refuses_an_unknown_tenant(cli: Cli) -> None:
    shown = cli("tenant", "show", "--tenant", A)
    assert shown.code == 2 and "not registered" in shown.err


@pytest.mark.parametrize("crash_at", range(1, 54, 3))
async def test_purge_killed_at_any_write_converges(db: Db, crash_at: int) -> None:
    store = await seed_tenant(db, A, ALICE, BOB)
    await seed_tenant(db, B, CAROL, DAVE)
    before = await tenant_docs(db, A)
    before_b = await tenant_docs(db, B)
    hook = CrashAt(crash_at)

    with pytest.raises(Crash):  # each point is inside the purge (which makes 54 writes here)
        await purge_tenant(store, hook=hook, now=NOW)
    await purge_tenant(store, now=NOW)

    left = await remaining(store)
    assert left.total == 0
    assert await tenant_docs(db, B) == before_b
    entries = (
        await db[Coll.DESTRUCTION_LOG]
        .find({"tenant_id": A, "reason": {"$regex": "^contract ended"}})
        .to_list(None)
    )
    logged: dict[str, int] = {}
    for entry in entries:
        assert entry["status"] == "done"
        logged[entry["store"]] = logged.get(entry["store"], 0) + entry["records"]
    assert logged == {k: v for k, v in before.items() if k != Coll.DESTRUCTION_LOG.value}


async def test_archive_of_a_purged_tenant_is_empty_but_valid(db: Db, tmp_path: Path) -> None:
    store = await seed_tenant(db, A, ALICE, BOB)
    await purge_tenant(store)
    path = tmp_path / "empty.zip"
    with path.open("wb") as fh:
        archive = await write_tenant_archive(store, fh)
    manifest = verify_archive(path)
    assert manifest["tenant_name"] is None
    counts = {s.collection: s.records for s in archive.stores}
    assert counts.pop(Coll.DESTRUCTION_LOG.value) > 0
    assert set(counts.values()) == {0}


async def test_a_purged_tenants_destruction_log_still_ends_after_three_years(db: Db) -> None:
    store = await seed_tenant(db, A, ALICE, BOB)
    await purge_tenant(store, now=NOW)
    proof = await db[Coll.DESTRUCTION_LOG].count_documents({"tenant_id": A})
    key = b"k" * 32

    await sweep_tenants(db, key=key, now=datetime.now(UTC) + timedelta(days=1000))
    assert await db[Coll.DESTRUCTION_LOG].count_documents({"tenant_id": A}) == proof

    reports = await sweep_tenants(db, key=key, now=datetime.now(UTC) + timedelta(days=1100))

    [report] = [r for r in reports if r.tenant_id == A]
    assert report.records == {Coll.DESTRUCTION_LOG.value: proof}
    left = await db[Coll.DESTRUCTION_LOG].find({"tenant_id": A}).to_list(None)
    # Only the sweep's own proof of that deletion remains, and nothing else of the tenant.
    assert [(e["store"], e["records"]) for e in left] == [(Coll.DESTRUCTION_LOG.value, proof)]
    assert (await remaining(store)).total == 0
