"""`juno dsr`, `juno retention`, `juno tenant removal` and `juno ropa --tenant` through the real
entry point, against the test database."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from privacy.dsr import due_date
from privacy.strategies import STRATEGIES
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import Db, record_kpis
from tests.support.processes import Cli, one_line

TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ANN = "11111111-0000-0000-0000-00000000d001"
BOB = "22222222-0000-0000-0000-00000000d002"
CAROL = "33333333-0000-0000-0000-00000000d003"


async def test_request_queue_erasure_export_and_retention(cli: Cli, db: Db, tmp_path: Path) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso").code == 0
    store = TenantStore(db, TID)
    for user in (ANN, BOB, CAROL):
        await store.profiles.upsert_many([{"user_id": user, "display_name": user[:4]}])
        await record_kpis(db, TID, user, ["search"], datetime.now(UTC))
    long_ago = datetime.now(UTC) - timedelta(days=40)
    await store.dsr_requests.put_once(
        "rlate0001",
        {
            "user_id": CAROL,
            "type": "access",
            "status": "open",
            "channel": "bot",
            "created_at": long_ago,
            "due_at": due_date(long_ago),
        },
    )

    opened = cli("dsr", "open", "--tenant", TID, "--user", ANN, "--type", "erasure", "--json")
    assert opened.code == 0, opened.err
    erasure = json.loads(opened.out)
    assert erasure["status"] == "open" and erasure["channel"] == "operator"
    access = json.loads(
        cli("dsr", "open", "--tenant", TID, "--user", BOB, "--type", "access", "--json").out
    )

    listed = cli("dsr", "list", "--tenant", TID)
    assert listed.code == 0, listed.err
    [late_row] = [line for line in listed.out.splitlines() if "rlate0001" in line]
    assert "OVERDUE" in late_row
    assert listed.out.index("rlate0001") < listed.out.index(erasure["id"])
    as_json = json.loads(cli("dsr", "list", "--tenant", TID, "--json").out)
    assert as_json[0]["id"] == "rlate0001" and as_json[0]["overdue"]
    assert {r["id"] for r in as_json} == {"rlate0001", erasure["id"], access["id"]}

    shown = cli("dsr", "show", "--tenant", TID, "--id", "rlate0001")
    assert shown.code == 0 and "(OVERDUE)" in shown.out

    rejected = cli(
        "dsr", "reject", "--tenant", TID, "--id", access["id"], "--reason", "duplicate",
        "--by", "Deniz",
    )  # fmt: skip
    assert rejected.code == 0, rejected.err
    assert "rejected" in rejected.out and "operator:Deniz" in rejected.out

    approved = cli("dsr", "approve", "--tenant", TID, "--id", erasure["id"], "--json")
    assert approved.code == 0, approved.err
    assert json.loads(approved.out)["status"] == "completed"
    assert await store.profiles.get(ANN) is None
    key_file = tmp_path / "var" / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # generated, private
    assert "JUNO_PSEUDONYM_KEY is not set" in approved.err

    erased = cli("dsr", "erase", "--tenant", TID, "--user", BOB, "--reason", "ticket 42")
    assert erased.code == 0, erased.err
    assert "profiles: 1 records (delete)" in erased.out
    # The default mode deletes a person's recent usage counts (a total of one would name them).
    assert "kpi_events: 1 records (delete)" in erased.out
    again = cli("dsr", "erase", "--tenant", TID, "--user", BOB)
    assert again.code == 0 and "nothing to erase" in again.out
    # Both erasures keep the person out of the next syncs until the controller says otherwise.
    assert await store.suppressions.count() == 2
    assert BOB not in repr(await store.suppressions.find({}))
    lifted = cli("dsr", "unsuppress", "--tenant", TID, "--user", BOB, "--by", "Deniz")
    assert lifted.code == 0, lifted.err
    assert "suppression lifted" in lifted.out
    assert await store.suppressions.count() == 1
    none_left = cli("dsr", "unsuppress", "--tenant", TID, "--user", BOB)
    assert none_left.code == 2 and one_line(none_left.err).endswith(
        f"no suppression for {BOB} in tenant {TID}"
    )
    audit = await store.audit_log.recent(limit=5)
    assert [e["outcome"] for e in audit if e["action"] == "lift_suppression"] == [
        "none found",
        "lifted",
    ]

    out = tmp_path / "carol.zip"
    exported = cli("dsr", "export", "--tenant", TID, "--user", CAROL, "--out", str(out))
    assert exported.code == 0, exported.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        data = json.loads(zf.read("data.json"))
    assert data["subject"]["user_id"] == CAROL

    swept = cli("retention", "run", "--json")
    assert swept.code == 0, swept.err
    [report] = json.loads(swept.out)
    assert report["tenant_id"] == TID and report["records"] == {}
    human = cli("retention", "run", "--tenant", TID)
    assert human.code == 0 and f"tenant {TID}: nothing due" in human.out
    assert await undeclared(db) == []


def test_removal_overrides_and_the_tenant_record_of_processing(cli: Cli) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso").code == 0
    changed = cli(
        "tenant", "removal", "set", "--tenant", TID, "--mode", "delete_all",
        "--override", "user.behavior=nullify",
    )  # fmt: skip
    assert changed.code == 0, changed.err
    assert "removal mode: delete_all; overrides: user.behavior=nullify" in changed.out
    shown = json.loads(cli("tenant", "removal", "show", "--tenant", TID, "--json").out)
    # Buckets are keyed by the person, and merging one person's recent counts would make a total
    # of one, so an anonymizing override becomes the store's anonymizer: delete.
    assert shown["stores"]["kpi_events"] == {
        "in_force": STRATEGIES["delete"].describe(()),
        "decided_by": "override user.behavior",
    }
    assert shown["stores"]["profiles"]["decided_by"] == "mode delete_all"

    ropa = cli("ropa", "--tenant", TID)
    assert ropa.code == 0, ropa.err
    assert "Removal mode in force:** `delete_all`" in ropa.out
    assert "`user.behavior=nullify`" in ropa.out
    assert "(override user.behavior)" in ropa.out
    record = json.loads(cli("ropa", "--tenant", TID, "--json").out)
    assert record["tenant"]["removal_mode"] == "delete_all"
    kpi = next(s for s in record["stores"] if s["collection"] == "kpi_events")
    assert kpi["retention"]["days"] == 90 and kpi["recipients"]

    cleared = cli("tenant", "removal", "set", "--tenant", TID, "--clear-overrides")
    assert cleared.code == 0 and "overrides: none" in cleared.out


def test_bad_input_is_one_line(cli: Cli) -> None:
    assert cli("tenant", "add", "--tenant-id", TID, "--name", "Contoso").code == 0
    unknown_tenant = "aaaaaaaa-0000-0000-0000-000000000000"
    cases: list[tuple[list[str], str]] = [
        (["dsr", "list", "--tenant", unknown_tenant], "is not registered"),
        (["dsr", "list", "--tenant", TID, "--status", "pending"], "unknown status 'pending'"),
        (["dsr", "show", "--tenant", TID, "--id", "rnope"], "no request 'rnope'"),
        (["dsr", "approve", "--tenant", TID, "--id", "rnope"], "no request 'rnope'"),
        (["dsr", "open", "--tenant", TID, "--user", ANN, "--type", "delete"], "unknown request"),
        (["dsr", "open", "--tenant", TID, "--user", "ann", "--type", "access"], "must be a GUID"),
        (["dsr", "erase", "--tenant", TID, "--user", ANN, "--reason", " "], "--reason must not"),
        (
            ["dsr", "erase", "--tenant", TID, "--user", ANN, "--removal-mode", "x"],
            "unknown removal mode 'x'",
        ),
        (
            ["dsr", "export", "--tenant", TID, "--user", ANN, "--out", "x.zip", "--locale", "de"],
            "--locale must be tr or en",
        ),
        (["retention", "run", "--tenant", unknown_tenant], "is not registered"),
        (["tenant", "removal", "set", "--tenant", TID], "nothing to change"),
        (
            ["tenant", "removal", "set", "--tenant", TID, "--override", "user.behavior"],
            "CATEGORY=STRATEGY",
        ),
        (
            ["tenant", "removal", "set", "--tenant", TID, "--override", "user.hobby=delete"],
            "not a personal data category",
        ),
        (["ropa", "--tenant", unknown_tenant], "is not registered"),
        (["ropa", "--tenant", TID, "--removal-mode", "delete_all"], "drop --removal-mode"),
    ]
    for args, expected in cases:
        result = cli(*args)
        assert result.code == 2, (args, result.err)
        line = one_line(result.err)
        assert line.startswith("error: ") and expected in line, (args, line)
    cli.env["JUNO_SIGNING_KEY"] = "short"
    assert cli("dsr", "list", "--tenant", TID).code == 0  # only serve needs the signing key
