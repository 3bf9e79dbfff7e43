"""Each removal mode (and a tenant's per-category overrides) leaves exactly what it should, and
an erasure interrupted after any single write converges when run again, with a destruction log
that matches what was destroyed and names nobody."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from privacy.datamap import DATA_MAP, Action
from privacy.erasure import erase_user
from privacy.policy import RemovalPolicy, override_problems, parse_override
from privacy.removal_modes import RemovalMode
from privacy.runs import StoreOutcome
from privacy.strategies import keyed_hash
from storage.collections import Coll
from storage.repositories import AdminGrant, TenantRecord, TenantRegistry, TenantStore
from tests.support.crash import Crash, CrashAt
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, record_kpis

TENANT = "aaaaaaaa-0000-0000-0000-00000000a001"
GONE = "99999999-0000-0000-0000-000000000009"
STAYS = "88888888-0000-0000-0000-000000000008"
KEY = b"test-pseudonym-key"


async def seed(db: Db, tenant_id: str, overrides: dict[str, str] | None = None) -> TenantStore:
    await TenantRegistry(db).add(
        TenantRecord(
            tenant_id=tenant_id,
            name="Contoso",
            admins=[AdminGrant(user_id=u, since=NOW) for u in (GONE, STAYS)],
            removal_overrides=overrides or {},
        )
    )
    store = TenantStore(db, tenant_id)
    for user in (GONE, STAYS):
        await store.profiles.upsert_many([{"user_id": user, "display_name": user[:4]}])
        await store.consents.append(
            {"user_id": user, "document": "notice", "version": 1, "conversation_id": "c1"}
        )
        # Two days of usage: one bucket a day.
        await record_kpis(db, tenant_id, user, ["search"], NOW - timedelta(days=1))
        await record_kpis(db, tenant_id, user, ["card", "search", "card"], NOW)
        await store.dsr_requests.put_once(
            f"r{user[:4]}",
            {"user_id": user, "type": "access", "status": "open", "details": f"about {user}"},
        )
        await store.conversations.put(user, {"user_id": user, "reference": {"id": "c"}})
        await store.bot_state.put(f"state/{user}", {"user_id": user, "state": {}})
        await store.audit_log.append({"actor": user, "action": "login"})
        await store.legal_documents.put(
            f"notice:{user[:2]}", {"kind": "notice", "version": 2, "published_by": user}
        )
        await store.exports.put_once(f"x{user[:4]}", {"user_id": user, "zip": b"PK"})
    await store.access_reviews.append(
        {"reviewer": "Ayşe", "admins": [{"user_id": GONE, "since": NOW}, {"user_id": STAYS}]}
    )
    return store


def everything(docs: dict[str, list[dict[str, Any]]]) -> str:
    return repr(docs)


async def dump(db: Db) -> dict[str, list[dict[str, Any]]]:
    return {
        name: await db[name].find({}).to_list(None)
        for name in sorted(await db.list_collection_names())
    }


# What must remain of GONE, per mode: store -> "gone" | "kept" | "pseudonymized".
EXPECTED: dict[RemovalMode, dict[str, str]] = {
    RemovalMode.DELETE_ALL: {
        "profiles": "gone",
        "consents": "pseudonymized",
        "kpi_events": "gone",
        "dsr_requests": "pseudonymized",
        "conversations": "gone",
        "audit_log": "pseudonymized",
        "bot_state": "gone",
        "legal_documents": "pseudonymized",
        "exports": "gone",
    },
    RemovalMode.DIRECTORY_ONLY: {
        "profiles": "gone",
        "consents": "kept",
        "kpi_events": "kept",
        "dsr_requests": "kept",
        "conversations": "kept",
        "audit_log": "kept",
        "bot_state": "kept",
        "legal_documents": "kept",
        "exports": "gone",
    },
    RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: {
        "profiles": "gone",
        "consents": "pseudonymized",
        "kpi_events": "gone",  # not merged: a day's total of one person names them
        "dsr_requests": "pseudonymized",
        "conversations": "gone",
        "audit_log": "pseudonymized",
        "bot_state": "gone",
        "legal_documents": "pseudonymized",
        "exports": "gone",
    },
}
SUBJECT_FIELD = {"audit_log": "actor", "legal_documents": "published_by"}


async def check_leftovers(store: TenantStore, expected: dict[str, str]) -> None:
    psn = keyed_hash(KEY, store.tenant_id)(GONE)
    for name, what in expected.items():
        coll = store.collections[Coll(name)]
        field = SUBJECT_FIELD.get(name, "user_id")
        raw = await coll.count({field: GONE})
        pseudo = await coll.count({field: psn})
        if name == "kpi_events":
            # No mode merges GONE's recent buckets into a total (it would be a total of one
            # person, whatever crashed in between): the totals stay empty.
            assert (raw, await store.kpi_events.totals()) == {"gone": (0, []), "kept": (2, [])}[
                what
            ], name
            assert await coll.count({"user_id": STAYS}) == 2
            assert await coll.count({"merge_token": {"$exists": True}}) == 0
            continue
        assert (raw, pseudo) == {"gone": (0, 0), "kept": (1, 0), "pseudonymized": (0, 1)}[what], (
            name
        )
        assert await coll.count({field: STAYS}) == 1, name  # the other user is untouched
    record = await store.own_record.get()
    assert record is not None and record.admin_ids == [STAYS]
    [review] = await store.access_reviews.recent()
    assert [a["user_id"] for a in review["admins"]] == [psn, STAYS]


@pytest.mark.parametrize("mode", list(RemovalMode))
async def test_each_mode_leaves_exactly_what_it_should(db: Db, mode: RemovalMode) -> None:
    store = await seed(db, TENANT)
    outcomes = await erase_user(
        store, GONE, mode, reason="left the company", pseudonym=keyed_hash(KEY, TENANT)
    )
    await check_leftovers(store, EXPECTED[mode])
    if mode is not RemovalMode.DIRECTORY_ONLY:
        assert GONE not in everything(await dump(db))  # no raw id anywhere
    log = await store.destruction_log.recent(limit=100)
    assert Counter((e["store"], e["method"], e["records"]) for e in log) == Counter(
        (o.store, o.method, o.records) for o in outcomes
    )
    assert {e["status"] for e in log} == {"done"}
    assert GONE not in everything({"log": log})
    assert await store.destruction_runs.count() == 0
    assert await undeclared(db) == []


async def test_overrides_change_single_categories(db: Db) -> None:
    overrides = {"user.behavior": "delete", "user.communication": "keep"}
    store = await seed(db, TENANT, overrides)
    mode = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE
    await erase_user(store, GONE, mode, reason="left", pseudonym=keyed_hash(KEY, TENANT))
    await check_leftovers(
        store,
        {
            **EXPECTED[mode],
            "kpi_events": "gone",
            "conversations": "kept",
            "bot_state": "kept",
        },
    )


def test_override_resolution_and_validation() -> None:
    policy = RemovalPolicy(RemovalMode.DELETE_ALL, {"user": "keep", "user.behavior": "nullify"})
    plan = {c.value: a for c, a in policy.plan().items()}
    # KPI buckets are keyed by the person: removing a field cannot anonymize them, and merging
    # one person's recent counts into a day's total would leave a total of one, so an
    # anonymizing override deletes them (the store's declared anonymizer).
    assert plan["kpi_events"] == Action("delete")
    pseudonymizing = RemovalPolicy(RemovalMode.DELETE_ALL, {"user.behavior": "pseudonymize"})
    assert pseudonymizing.action_for(DATA_MAP[Coll.KPI_EVENTS]) == Action("delete")
    assert plan["consents"].strategy == "keep"  # the "user" branch covers it
    assert plan["profiles"].strategy == "delete"  # the directory entry is never overridable
    assert policy.overridden(DATA_MAP[Coll.KPI_EVENTS]) == "user.behavior"
    assert parse_override(" user.behavior = delete ") == ("user.behavior", "delete")
    with pytest.raises(ValueError, match="CATEGORY=STRATEGY"):
        parse_override("user.behavior")
    problems = override_problems(
        {
            "user.hobbies": "delete",
            "user.behavior": "shred",
            "user.communication": "nullify",
            "user.name": "delete",
        }
    )
    assert any("'user.hobbies' is not a personal data category" in p for p in problems)
    assert any("strategy must be one of" in p for p in problems)
    assert any("conversations has no identifying fields" in p for p in problems)
    assert any("user.name: no store it can apply to" in p for p in problems)
    assert override_problems({"user.behavior": "delete"}) == []


# --- crash at every step ----------------------------------------------------------------


async def erase(store: TenantStore, mode: RemovalMode, hook: Any = None) -> list[StoreOutcome]:
    return await erase_user(
        store, GONE, mode, reason="left", pseudonym=keyed_hash(KEY, store.tenant_id), hook=hook
    )


@pytest.mark.parametrize(
    "mode", [RemovalMode.DELETE_ALL, RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE]
)
async def test_a_crash_after_any_write_converges_on_rerun(db: Db, mode: RemovalMode) -> None:
    labels: list[str] = []

    async def record(label: str) -> None:
        labels.append(label)

    clean_store = await seed(db, "cccccccc-0000-0000-0000-000000000000")
    clean = await erase(clean_store, mode, record)
    clean_log = Counter((o.store, o.method, o.records) for o in clean)
    assert labels[0] == "opened:erasure" and labels[-1] == "closed:erasure"
    assert len(labels) > 30

    # Every write for the mode with the most of them; every third for the other (runtime).
    every = 1 if mode is RemovalMode.DELETE_ALL else 3
    for step, label in list(enumerate(labels, start=1))[::every]:
        tenant = f"cccccccc-0000-0000-0000-{step:012d}"
        store = await seed(db, tenant)
        with pytest.raises(Crash):
            await erase(store, mode, CrashAt(step))
        rerun = await erase(store, mode)
        if label == "closed:erasure":  # the crash came after the run had completed
            assert rerun == []
        else:
            assert Counter((o.store, o.method, o.records) for o in rerun) == clean_log, label
        log = await store.destruction_log.recent(limit=100)
        assert Counter((e["store"], e["method"], e["records"]) for e in log) == clean_log, label
        assert {e["status"] for e in log} == {"done"}, label
        assert len({e["run_id"] for e in log}) == 1, label  # one run, resumed, not restarted
        assert await store.destruction_runs.count() == 0, label
        await check_leftovers(store, EXPECTED[mode])
        # A third run finds nothing left to do and logs nothing more.
        assert await erase(store, mode) == []
        assert await store.destruction_log.count() == len(log)
    assert GONE not in everything(await dump(db))
    assert await undeclared(db) == []


async def test_a_run_interrupted_twice_still_converges(db: Db) -> None:
    store = await seed(db, TENANT)
    mode = RemovalMode.DELETE_ALL
    for at in (6, 3, 9):
        with pytest.raises(Crash):
            await erase(store, mode, CrashAt(at))
    await erase(store, mode)
    await check_leftovers(store, EXPECTED[mode])
    log = await store.destruction_log.recent(limit=100)
    assert {e["status"] for e in log} == {"done"} and len({e["run_id"] for e in log}) == 1
