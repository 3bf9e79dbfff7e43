"""Erasing one user, store by store, as the tenant's removal policy and the data map say.

The work is a resumable run (`privacy.runs`): calling `erase_user` again for the same person
finishes an interrupted erasure instead of starting over, and every store that changed gets
exactly one destruction-log entry. The log names the subject by a keyed hash under a key
derived for the log alone, so its entries cannot be joined to the pseudonyms the erasure
leaves in retained records (consent trail, requests, audit).

Besides the person's own records, the plan treats every declared reference to them in other
people's records (`Reference` in the data map: a report's manager, the admin who decided a
request, an access review's reviewer), one step per reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from privacy.datamap import DATA_MAP
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode
from privacy.runs import Hook, Run, Step, StoreOutcome, execute, open_run
from privacy.strategies import LOG_PREFIX, LOG_SUBJECT, Pseudonymizer, Target
from privacy.suppression import suppress as record_suppression
from storage.collections import Coll
from storage.repositories import TenantStore

__all__ = ["StoreOutcome", "erase_user", "erasure_plan"]


def erasure_plan(policy: RemovalPolicy) -> list[Step]:
    steps = [
        Step(coll.value, action.strategy, action.fields)
        for coll, action in policy.plan().items()
        if DATA_MAP[coll].run_record is None and action.strategy != "keep"
    ]
    for coll, dataset in DATA_MAP.items():
        for ref in dataset.references:
            method = ref.strategy(policy.mode)
            steps.append(Step(coll.value, method, (ref.field,), reference=ref.field))
    return steps


def log_subject(pseudonym: Pseudonymizer, user_id: str) -> str:
    """How the destruction log names the person: not the pseudonym of retained records."""
    return pseudonym.derive(LOG_SUBJECT, LOG_PREFIX)(user_id)


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
    suppress: bool = False,
) -> list[StoreOutcome]:
    """Erase `user_id` under `mode` and the tenant's per-category overrides (read from its
    registry entry unless given). Idempotent; resumes an interrupted erasure of the same
    person (with the plan it started with). Returns what was destroyed, store by store.

    `suppress`: the person may still be in the directory (an erasure they asked for), so a
    suppression is recorded first (privacy.suppression) and no sync writes them again."""
    if not user_id:
        raise ValueError("erase_user needs a user id")
    if suppress:
        await record_suppression(store, user_id, pseudonym, now=now)
    if overrides is None:
        record = await store.own_record.get()
        overrides = record.removal_overrides if record else {}
    subject = log_subject(pseudonym, user_id)
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
        dataset = DATA_MAP[Coll(step.store)]
        if step.reference:
            return dataset.reference_target(
                store, step.reference, user_id, pseudonym=pseudonym, hook=hook
            )
        return dataset.subject_target(
            store, user_id, pseudonym=pseudonym, fields=step.fields, hook=hook
        )

    return await execute(store, run, target_for, hook=hook)
