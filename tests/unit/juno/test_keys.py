"""`juno sync` resolves the pseudonym key the way `juno serve` does: with no JUNO_PSEUDONYM_KEY
it uses (or creates) $JUNO_DATA_DIR/pseudonym.key, so a user deleted in Entra is erased from
cron too, under the same pseudonyms the bot's erasures use."""

from __future__ import annotations

from pathlib import Path

from privacy.erasure import log_subject
from privacy.strategies import keyed_hash
from tests.support.datamap_checks import undeclared
from tests.support.fake_graph import FakeGraph, populate
from tests.support.graph_authority import FakeAuthority
from tests.support.graph_helpers import TENANT, assert_converged
from tests.support.sync_cli import Db, Env, add_tenant, env, servers

__all__ = ["env", "servers"]


async def test_sync_erases_a_departed_user_with_the_data_dir_key(
    db: Db, env: Env, servers: tuple[FakeAuthority, FakeGraph], tmp_path: Path
) -> None:
    _, graph = servers
    del env.vars["JUNO_PSEUDONYM_KEY"]
    env.vars["JUNO_DATA_DIR"] = str(tmp_path / "data")
    await add_tenant(db)
    ids = populate(graph.directory, 10)
    first = await env()
    assert first.code == 0, first.err
    graph.directory.hard_delete(ids[4])
    second = await env("--tenant", TENANT)
    assert second.code == 0, second.err
    assert "1 removed" in second.out
    await assert_converged(db, graph.directory)
    key = (tmp_path / "data" / "pseudonym.key").read_text("ascii").strip().encode()
    log = await db["destruction_log"].find({"tenant_id": TENANT}).to_list(None)
    assert {e["subject"] for e in log} == {log_subject(keyed_hash(key, TENANT), ids[4])}
    assert ids[4] not in repr(await db["profiles"].find({}).to_list(None))
    assert await undeclared(db) == []
