"""The real `juno` entry point, run in a subprocess against the test database."""

from __future__ import annotations

import json
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from storage.collections import ALL_COLLECTIONS
from tests.support.datamap_checks import undeclared
from tests.support.processes import Cli, one_line

TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
ADMIN = "11111111-2222-3333-4444-555555555555"


async def test_tenant_lifecycle(cli: Cli, db: AsyncDatabase[dict[str, Any]]) -> None:
    added = cli(
        "tenant", "add", "--tenant-id", TID.upper(), "--name", "Contoso",
        "--client-id", CLIENT, "--client-secret-env", "CONTOSO_GRAPH_SECRET",
        "--admin", ADMIN,
    )  # fmt: skip
    assert added.code == 0, added.err
    assert f"tenant {TID} (Contoso) registered" in added.out

    listed = cli("tenant", "list", "--json")
    assert listed.code == 0, listed.err
    [tenant] = json.loads(listed.out)
    assert tenant["tenant_id"] == TID
    assert tenant["graph"] == {
        "client_id": CLIENT,
        "client_secret_env": "CONTOSO_GRAPH_SECRET",
        "certificate_path": None,
    }
    assert tenant["kpi_retention_days"] == 90
    assert tenant["removal_mode"] == "directory_delete_rest_anonymize"
    assert [grant["user_id"] for grant in tenant["admins"]] == [ADMIN]

    changed = cli(
        "tenant", "set", "--tenant", TID, "--disabled", "--removal-mode", "delete_all",
        "--kpi-retention-days", "30",
    )  # fmt: skip
    assert changed.code == 0, changed.err
    shown = cli("tenant", "show", "--tenant", TID, "--json")
    assert shown.code == 0, shown.err
    data = json.loads(shown.out)
    assert data["tenant"]["enabled"] is False
    assert data["tenant"]["removal_mode"] == "delete_all"
    assert data["tenant"]["kpi_retention_days"] == 30
    assert data["records"]["profiles"] == 0

    human = cli("tenant", "show", "--tenant", TID)
    assert human.code == 0 and "Contoso" in human.out

    url = cli("tenant", "consent-url", "--tenant", TID)
    assert url.code == 0, url.err
    assert url.out.strip() == (
        f"https://login.microsoftonline.com/{TID}/adminconsent?client_id={CLIENT}"
    )
    assert await undeclared(db) == []


def test_secrets_are_referenced_never_stored(cli: Cli) -> None:
    result = cli(
        "tenant", "add", "--tenant-id", TID, "--name", "X", "--client-id", CLIENT,
        "--client-secret-env", "s3cr3t-value!",
    )  # fmt: skip
    assert result.code == 2
    assert "NAME of an environment variable" in one_line(result.err)


def test_bad_input_exits_non_zero_with_one_line(cli: Cli) -> None:
    cases: list[tuple[list[str], str]] = [
        (["tenant", "add", "--tenant-id", "not-a-guid", "--name", "X"], "must be a GUID"),
        (["tenant", "add", "--tenant-id", "", "--name", "X"], "must be a GUID"),
        (["tenant", "add", "--tenant-id", TID, "--name", "  "], "--name must not be empty"),
        (
            ["tenant", "add", "--tenant-id", TID, "--name", "X", "--removal-mode", "shred"],
            "unknown removal mode 'shred'",
        ),
        (
            ["tenant", "add", "--tenant-id", TID, "--name", "X", "--client-id", CLIENT],
            "exactly one of --client-secret-env VAR or --certificate PATH",
        ),
        (["tenant", "show", "--tenant", TID], f"tenant {TID} is not registered"),
        (["tenant", "set", "--tenant", TID, "--name", "Y"], f"tenant {TID} is not registered"),
        (["tenant", "set", "--tenant", TID], "nothing to change"),
        (["ropa", "--removal-mode", "nope"], "unknown removal mode 'nope'"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        line = one_line(result.err)
        assert line.startswith("error: ") and expected in line, (args, line)


def test_missing_tenant_id_is_a_usage_error(cli: Cli) -> None:
    result = cli("tenant", "add", "--name", "X")
    assert result.code == 2
    assert "Missing option '--tenant-id'" in result.err
    assert "Traceback" not in result.err


def test_duplicate_tenant_and_out_of_range_setting(cli: Cli) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso").code == 0
    again = cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso")
    assert again.code == 2 and "already registered" in one_line(again.err)
    bad = cli("tenant", "set", "--tenant", TID, "--kpi-retention-days", "0")
    assert bad.code == 2
    assert "kpi_retention_days" in one_line(bad.err)


def test_ropa_prints_every_store(cli: Cli) -> None:
    md = cli("ropa")
    assert md.code == 0, md.err
    for coll in ("tenants", "profiles", "consents", "kpi_events", "destruction_log"):
        assert f"(`{coll}`)" in md.out
    as_json = cli("ropa", "--json")
    assert as_json.code == 0
    assert len(json.loads(as_json.out)["stores"]) == len(ALL_COLLECTIONS)


def test_db_migrate_is_repeatable(cli: Cli) -> None:
    first = cli("db", "migrate")
    assert first.code == 0, first.err
    second = cli("db", "migrate")
    assert second.code == 0
    assert "collections created now: none" in second.out


def test_an_unreachable_database_is_one_line(cli: Cli) -> None:
    cli.env["MONGODB_URI"] = "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300"
    cli.env["JUNO_MONGO_CONNECT_TIMEOUT_MS"] = "300"
    result = cli("tenant", "list")
    assert result.code == 1
    assert one_line(result.err).startswith("error: cannot reach MongoDB")


def test_invalid_setting_is_one_line(cli: Cli) -> None:
    cli.env["JUNO_PORT"] = "seventy"
    result = cli("tenant", "list")
    assert result.code == 2
    assert "invalid setting JUNO_PORT" in one_line(result.err)
