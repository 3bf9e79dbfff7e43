"""The demo tenant: seeded from the bundled Graph-shaped sample through the production
pipeline (decode, map, bulk upsert, delta link), idempotently."""

from __future__ import annotations

import json
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.demo import DEMO_TENANT_ID, DemoSource, _sample, seed_demo_tenant
from graph_sync.demo_build import build
from graph_sync.lease import Holder
from graph_sync.runner import sync_tenant
from graph_sync.state import StateStore
from storage.repositories import TenantRegistry
from storage.search_keys import stored_keys
from tests.support.datamap_checks import undeclared
from tests.support.graph_helpers import profiles

Db = AsyncDatabase[dict[str, Any]]


def test_committed_sample_is_what_the_script_builds() -> None:
    raw, _ = _sample()
    assert json.loads(raw) == build()


async def test_seed_demo_tenant_is_idempotent(db: Db) -> None:
    tenant_id = await seed_demo_tenant(db)
    assert tenant_id == DEMO_TENANT_ID
    record = await TenantRegistry(db).require(tenant_id)
    assert record.demo and record.name == "Demo (JUNO)" and record.graph is None
    people = await profiles(db, tenant_id)
    sample = json.loads(_sample()[0])
    assert len(people) == len(sample) >= 300
    by_title = {p["job_title"]: p for p in people}
    assert by_title["Yazılım Stajyeri"]["is_intern"] and by_title["Finance Intern"]["is_intern"]
    assert sum(p["is_intern"] for p in people) == 2
    hidden = [p for p in people if p["hidden"]]
    assert sorted(p["user_type"] or "" for p in hidden) == ["Guest", "Member"]
    assert next(p for p in hidden if p["user_type"] == "Member")["account_enabled"] is False
    departments = {p["department"] for p in people}
    assert {"Finans", "İnsan Kaynakları", "Engineering", "Sales"} <= departments
    top = [p for p in people if p["manager_id"] is None and not p["hidden"]]
    assert [p["job_title"] for p in top] == ["Genel Müdür"]
    assert any("ismail" in stored_keys(p["search_keys"]) for p in people)
    assert any("insan kaynaklari" in stored_keys(p["search_keys"]) for p in people)

    assert await seed_demo_tenant(db) == tenant_id
    state = await StateStore(db, tenant_id).load()
    assert len(state.runs) == 2 and state.last_run is not None
    assert (state.last_run["mode"], state.last_run["created"], state.last_run["updated"]) == (
        "incremental",
        0,
        0,
    )
    assert len(await profiles(db, tenant_id)) == len(sample)
    assert await undeclared(db) == []


async def test_a_changed_sample_resyncs_and_removes_who_left(db: Db) -> None:
    await seed_demo_tenant(db)
    users = json.loads(_sample()[0])
    leaver = users.pop(5)
    users[6]["jobTitle"] = "Kıdemli Uzman"
    changed = DemoSource(json.dumps(users).encode())
    stats = await sync_tenant(
        db,
        DEMO_TENANT_ID,
        changed,
        _on_deleted(db),
        holder=Holder.here("test"),
    )
    assert stats.resynced and (stats.mode, stats.removed) == ("full", 1)
    people = {p["user_id"]: p for p in await profiles(db, DEMO_TENANT_ID)}
    assert leaver["id"] not in people and len(people) == len(users)
    assert people[users[6]["id"]]["job_title"] == "Kıdemli Uzman"


def _on_deleted(db: Db) -> Any:
    from graph_sync.erasure import make_erasure

    return make_erasure(db, None)  # the demo tenant needs no pseudonym key


async def test_the_demo_admin_is_a_demo_employee_and_juno_chats_as_them(db: Db) -> None:
    from graph_sync.demo import DEMO_ADMIN_ID
    from juno.cli.chat import DEMO_USER
    from storage.repositories import TenantStore

    await seed_demo_tenant(db)
    record = await TenantRegistry(db).get(DEMO_TENANT_ID)
    assert record is not None and record.admin_ids == [DEMO_ADMIN_ID] == [DEMO_USER]
    profile = await TenantStore(db, DEMO_TENANT_ID).profiles.get(DEMO_ADMIN_ID)
    assert profile is not None and profile["display_name"] == "Tuğba Işık"
