"""Erasing one user, store by store, as the tenant's removal policy and the data map say.

The work is a resumable run (`privacy.runs`): calling `erase_user` again for the same person
finishes an interrupted erasure instead of starting over, and every store that changed gets
exactly one destruction-log entry naming the subject only by pseudonym.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from privacy.datamap import DATA_MAP
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode
from privacy.runs import Hook, Run, Step, StoreOutcome, collection_of, execute, open_run
from privacy.strategies import Pseudonymizer, Target, subject_selector
from storage.collections import Coll
from storage.repositories import TenantStore

# The log is what erasure writes to, and the run document removes itself at the end.
_NOT_ERASED_HERE = {Coll.DESTRUCTION_LOG, Coll.DESTRUCTION_RUNS}

__all__ = ["StoreOutcome", "erase_user", "erasure_plan"]


def erasure_plan(policy: RemovalPolicy) -> list[Step]:
    return [
        Step(coll.value, action.strategy, action.fields)
        for coll, action in policy.plan().items()
        if coll not in _NOT_ERASED_HERE and action.strategy != "keep"
    ]


async def erase_user(
    store: TenantStore,
    user_id: str,
    mode: RemovalMode,
    *,
    reason: str,
    pseudonym: Pseudonymizer,
    overrides: Mapping[str, str] | None = None,
    hook: Hook | None = None,
    now: datetime | None = None,
) -> list[StoreOutcome]:
    """Erase `user_id` under `mode` and the tenant's per-category overrides (read from its
    registry entry unless given). Idempotent; resumes an interrupted erasure of the same
    person (with the plan it started with). Returns what was destroyed, store by store."""
    if not user_id:
        raise ValueError("erase_user needs a user id")
    if overrides is None:
        record = await store.own_record.get()
        overrides = record.removal_overrides if record else {}
    subject = pseudonym(user_id)
    fresh = Run(
        slot=f"erasure:{subject}",
        kind="erasure",
        reason=reason,
        steps=erasure_plan(RemovalPolicy(mode, dict(overrides))),
        user_id=user_id,
        subject=subject,
        mode=mode.value,
        started_at=now or datetime.now(UTC),
    )
    run = await open_run(store, fresh, hook)

    def target_for(step: Step) -> Target:
        decl = DATA_MAP[Coll(step.store)]
        key = decl.subject_key
        if key is None:  # pragma: no cover - the plan holds only stores with a subject key
            raise ValueError(f"{step.store} has no subject key")
        return Target(
            coll=collection_of(store, decl.collection),
            selector=subject_selector(key, user_id),
            subject_key=key,
            fields=step.fields,
            pseudonym=pseudonym,
            subject=user_id,
            flag=decl.anonymized_flag,
            rollup=decl.rollup,
            hook=hook,
        )

    return await execute(store, run, target_for, hook=hook)
