"""Tenant admins carry "since" dates (older plain-id records still read), access reviews are
recorded and flagged after 90 days; and all of it through the real `juno` entry point."""

from __future__ import annotations

import json
from datetime import timedelta

from privacy.access import record_review, review_status
from storage.collections import Coll
from storage.repositories import TenantRegistry, TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, register
from tests.support.processes import Cli, one_line

TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
ADMIN = "11111111-2222-3333-4444-555555555555"
SECOND = "66666666-7777-8888-9999-000000000000"


async def test_plain_id_admins_are_read_as_grants_without_a_date(db: Db) -> None:
    await db[Coll.TENANTS].insert_one(
        {"_id": TID, "tenant_id": TID, "name": "Legacy", "admins": [ADMIN]}
    )
    record = await TenantRegistry(db).require(TID)
    assert record.is_admin(ADMIN) and record.admins[0].since is None
    updated = await TenantRegistry(db).update(TID, {"admins": record.with_admins([SECOND])})
    assert [(g.user_id, g.since is not None) for g in updated.admins] == [
        (ADMIN, False),
        (SECOND, True),
    ]
    assert await undeclared(db) == []


async def test_reviews_are_flagged_after_90_days(db: Db) -> None:
    await register(db, TID, admins=(ADMIN,))
    await register(db, OTHER, name="Fabrikam")
    store = TenantStore(db, TID)
    [never, _] = sorted(await review_status(db, now=NOW), key=lambda s: s.name)
    assert never.last is None and never.overdue
    await record_review(store, reviewer="Ayşe Yılmaz", now=NOW - timedelta(days=90))
    [fresh] = await review_status(db, tenant_id=TID, now=NOW)
    assert not fresh.overdue and fresh.last is not None
    assert [g.user_id for g in fresh.last.admins] == [ADMIN]
    [stale] = await review_status(db, tenant_id=TID, now=NOW + timedelta(days=1))
    assert stale.overdue
    assert await undeclared(db) == []


def test_admins_and_access_review_through_the_cli(cli: Cli) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso", "--admin", ADMIN).code == 0
    assert cli("tenant", "add", "--tenant-id", OTHER, "--name", "Fabrikam").code == 0

    added = cli("tenant", "admins", "add", "--tenant", TID, "--user", SECOND)
    assert added.code == 0, added.err
    listed = cli("tenant", "admins", "list", "--tenant", TID, "--json")
    grants = json.loads(listed.out)
    assert [g["user_id"] for g in grants] == [ADMIN, SECOND]
    assert all(g["since"] for g in grants)
    again = cli("tenant", "admins", "add", "--tenant", TID, "--user", SECOND)
    assert again.code == 2 and "already an admin" in one_line(again.err)
    removed = cli("tenant", "admins", "remove", "--tenant", TID, "--user", ADMIN)
    assert removed.code == 0, removed.err
    missing = cli("tenant", "admins", "remove", "--tenant", TID, "--user", ADMIN)
    assert missing.code == 2 and "is not an admin" in one_line(missing.err)

    overview = cli("access-review")
    assert overview.code == 0, overview.err
    assert overview.out.count("REVIEW DUE") == 2 and "never" in overview.out
    recorded = cli("access-review", "--tenant", TID, "--record", "--reviewer", "Ayşe Yılmaz")
    assert recorded.code == 0, recorded.err
    assert (
        "recorded" in recorded.out and SECOND in recorded.out and "REVIEW DUE" not in (recorded.out)
    )
    [contoso, fabrikam] = sorted(
        json.loads(cli("access-review", "--json").out), key=lambda s: s["name"]
    )
    assert contoso["last_review"]["reviewer"] == "Ayşe Yılmaz" and not contoso["review_overdue"]
    assert fabrikam["last_review"] is None and fabrikam["review_overdue"]

    for args, expected in (
        (["access-review", "--record", "--reviewer", "X"], "--record needs --tenant"),
        (["access-review", "--tenant", TID, "--record"], "--record needs --tenant"),
        (["access-review", "--reviewer", "X"], "go with --record"),
        (["tenant", "admins", "add", "--tenant", TID, "--user", "bob"], "must be a GUID"),
        (
            ["tenant", "admins", "list", "--tenant", "aaaaaaaa-0000-0000-0000-000000000000"],
            "is not registered",
        ),
    ):
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        assert expected in one_line(result.err), args
