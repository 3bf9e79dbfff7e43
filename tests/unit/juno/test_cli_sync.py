"""`juno sync` in a subprocess: real msal against the local HTTPS authority (trusted through
REQUESTS_CA_BUNDLE, as an operator would), the real transport against the fake Graph, the real
driver against the test database. The fake servers run on this test's event loop, so the
subprocess is awaited, not waited for."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import UTC, datetime, timedelta

from graph_sync.demo import DEMO_TENANT_ID, seed_demo_tenant
from graph_sync.state import StateStore
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, Fault, populate
from tests.support.graph_authority import FakeAuthority
from tests.support.graph_helpers import TENANT, assert_converged, profiles
from tests.support.processes import JUNO, one_line
from tests.support.sync_cli import SECRET, Db, Env, add_tenant, env, servers

# Fixtures used by name in this module's tests.
__all__ = ["env", "servers"]


async def test_sync_prints_json_summary_then_syncs_incrementally(
    db: Db, env: Env, servers: tuple[FakeAuthority, FakeGraph]
) -> None:
    _, graph = servers
    await add_tenant(db)
    ids = populate(graph.directory, 20)
    first = await env("--json")
    assert first.code == 0, first.err
    assert first.err == ""  # no progress bar with --json
    [summary] = json.loads(first.out)["tenants"]
    assert summary["tenant_id"] == TENANT and summary["status"] == "ok"
    assert (summary["mode"], summary["created"], summary["pages"]) == ("full", 20, 4)
    await assert_converged(db, graph.directory)

    graph.directory.hard_delete(ids[3])
    graph.directory.update(ids[4], jobTitle="Direktör")
    second = await env("--tenant", TENANT)
    assert second.code == 0, second.err
    assert one_line(second.out) == (
        f"Contoso ({TENANT}): incremental round: 0 created, 1 updated, 0 hidden, 1 removed, "
        f"1 pages, {second.out.split(', ')[-1].strip()}"
    )
    await assert_converged(db, graph.directory)
    log = await db["destruction_log"].find({"tenant_id": TENANT}).to_list(None)
    assert [e["store"] for e in log] == ["profiles"] and ids[3] not in str(log)
    assert await undeclared(db) == []

    shown = await asyncio.create_subprocess_exec(
        JUNO, "tenant", "show", "--tenant", TENANT, "--json", env=env.vars, cwd=env.cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await shown.communicate()
    assert shown.returncode == 0, err.decode()
    sync = json.loads(out)["sync"]
    assert sync["last_run"]["status"] == "ok" and sync["runs_recorded"] == 2
    assert sync["delta_link_saved"] is True and sync["lease_holder"] is None


async def test_token_error_is_one_line_without_the_secret(db: Db, env: Env) -> None:
    await add_tenant(db)
    env.vars["CONTOSO_GRAPH_SECRET"] = "wrong-value"
    result = await env("--tenant", TENANT)
    assert result.code == 1
    line = one_line(result.err)
    assert line.startswith(f"error: tenant {TENANT}: token request refused: invalid_client")
    assert "wrong-value" not in result.err + result.out and SECRET not in result.err


async def test_lease_held_elsewhere_is_one_line_naming_the_holder(db: Db, env: Env) -> None:
    await add_tenant(db)
    state = StateStore(db, TENANT)
    holder = "juno-serve@replica-7:4242#c0de"
    until = datetime.now(UTC) + timedelta(minutes=1)
    await state.coll.upsert(["graph"], {"lease_holder": holder, "lease_until": until})
    result = await env("--tenant", TENANT, "--json")
    assert result.code == 1
    assert holder in one_line(result.err)
    assert json.loads(result.out)["tenants"][0]["status"] == "failed"


async def test_killed_mid_round_then_rerun_converges(
    db: Db, env: Env, servers: tuple[FakeAuthority, FakeGraph]
) -> None:
    _, graph = servers
    await add_tenant(db)
    populate(graph.directory, 30)
    graph.faults.append(Fault("stall", on="next", skip=2))
    proc = await env.start("--tenant", TENANT)
    await asyncio.wait_for(graph.stalled.wait(), 60)
    for _ in range(100):  # the pages before the stalled one are written
        if len(await profiles(db)) >= 12:
            break
        await asyncio.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()
    graph.release.set()
    state = await StateStore(db, TENANT).load()
    assert state.delta_link is None and state.lease_holder is not None  # died holding it
    assert 0 < len(await profiles(db)) < 30

    rerun = await env("--tenant", TENANT, "--json")
    assert rerun.code == 0, rerun.err  # the dead holder's lease is taken over at once
    assert json.loads(rerun.out)["tenants"][0]["mode"] == "full"
    await assert_converged(db, graph.directory)
    assert (await StateStore(db, TENANT).load()).delta_link is not None


async def test_demo_tenant_and_nothing_to_do(db: Db, env: Env) -> None:
    quiet = await env()
    assert quiet.code == 0 and "nothing to sync" in quiet.out
    await seed_demo_tenant(db)
    result = await env("--tenant", DEMO_TENANT_ID, "--json", "--full")
    assert result.code == 0, result.err
    [summary] = json.loads(result.out)["tenants"]
    assert (summary["mode"], summary["created"], summary["removed"]) == ("full", 0, 0)
    assert summary["updated"] == len(await profiles(db, DEMO_TENANT_ID))
