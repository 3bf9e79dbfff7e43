"""Contract end, second half: destroy every record of one tenant, leaving only the proof.

A purge is a destruction run (`privacy.runs`) like an erasure, so it resumes after a crash and
writes one destruction-log entry per store it emptied. What stays: the destruction log itself
(kept 3 years, KVKK destruction regulation) and nothing else. The tenant's registry entry goes
last, so an interrupted purge can still be found and finished by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from privacy.datamap import DATA_MAP
from privacy.runs import Hook, Run, Step, StoreOutcome, execute, open_run
from privacy.strategies import Target
from storage.collections import Coll
from storage.repositories import TenantStore

SLOT = "purge"
REASON = "contract ended: tenant purge"
# What each dataset declares: the data first, the runs around the purge's own run document
# next, the registry entry last; what outlives the contract (the log) not at all.
PURGE_ORDER: tuple[Coll, ...] = tuple(
    coll
    for _, coll in sorted(
        ((d.purge, c) for c, d in DATA_MAP.items() if d.purge is not None),
        key=lambda phase_coll: phase_coll[0],
    )
)


@dataclass(frozen=True)
class Remaining:
    """What a tenant still has, store by store (the destruction log counted apart)."""

    records: dict[str, int]
    log_entries: int

    @property
    def total(self) -> int:
        return sum(self.records.values())


async def remaining(store: TenantStore) -> Remaining:
    counts = {
        coll.value: await dataset.handle(store).count()
        for coll, dataset in DATA_MAP.items()
        if dataset.purge is not None
    }
    log = await store.collections[Coll.DESTRUCTION_LOG].count()
    return Remaining(counts, log)


async def nothing_to_purge(store: TenantStore) -> bool:
    """True when the tenant holds nothing but its destruction log and no purge is half done."""
    return await store.destruction_runs.get(SLOT) is None and (await remaining(store)).total == 0


async def purge_tenant(
    store: TenantStore, *, hook: Hook | None = None, now: datetime | None = None
) -> list[StoreOutcome]:
    """Delete everything of the tenant but its destruction log. Idempotent: a second purge
    finds nothing, opens no run and writes no entry."""
    if await nothing_to_purge(store):
        return []
    run = await open_run(
        store,
        Run(
            slot=SLOT,
            kind="purge",
            reason=REASON,
            steps=[Step(coll.value, "delete") for coll in PURGE_ORDER],
            started_at=now or datetime.now(UTC),
        ),
        hook,
    )

    def target_for(step: Step) -> Target:
        dataset = DATA_MAP[Coll(step.store)]
        return dataset.target(
            store, {}, subject_key="tenant_id", pseudonym=_no_pseudonym, run_id=run.run_id
        )

    return await execute(store, run, target_for, hook=hook)


def _no_pseudonym(value: str) -> str:  # a purge names no person
    raise AssertionError("a purge never pseudonymizes")
