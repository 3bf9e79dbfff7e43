"""What used to be special cases in code is declared per dataset in the data map."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, Purge
from privacy.erasure import erasure_plan
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode
from privacy.tenant_purge import PURGE_ORDER
from storage.collections import Coll
from storage.repositories import TenantStore


def _never(value: str) -> str:
    raise AssertionError(value)


def test_the_runs_own_records_are_declared_and_never_erased_as_a_persons() -> None:
    own = {c for c, d in DATA_MAP.items() if d.run_record is not None}
    assert own == {Coll.DESTRUCTION_LOG, Coll.DESTRUCTION_RUNS}
    for mode in RemovalMode:
        assert not {s.store for s in erasure_plan(RemovalPolicy(mode)) if not s.reference} & {
            c.value for c in own
        }


def test_purge_order_follows_the_declared_phases() -> None:
    assert Coll.DESTRUCTION_LOG not in PURGE_ORDER  # the proof outlives the contract
    assert PURGE_ORDER[-2:] == (Coll.DESTRUCTION_RUNS, Coll.TENANTS)
    assert DATA_MAP[Coll.TENANTS].purge is Purge.LAST and DATA_MAP[Coll.TENANTS].registry
    assert set(PURGE_ORDER) == set(DATA_MAP) - {Coll.DESTRUCTION_LOG}


async def test_a_runs_target_leaves_that_runs_own_records_alone(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    store = TenantStore(db, "t-unit")
    log = DATA_MAP[Coll.DESTRUCTION_LOG]
    await log.handle(store).insert({"_id": log.handle(store).key("a"), "run_id": "mine"})
    await log.handle(store).insert({"_id": log.handle(store).key("b"), "run_id": "other"})
    target = log.target(store, {}, pseudonym=_never, run_id="mine")
    assert await target.coll.count(target.selector) == 1
    profiles = DATA_MAP[Coll.PROFILES]  # no run records: the selector is left as given
    assert profiles.target(store, {"x": 1}, pseudonym=_never, run_id="mine").selector == {"x": 1}
    registry = DATA_MAP[Coll.TENANTS].handle(store)
    assert registry is store.own_record.collection
