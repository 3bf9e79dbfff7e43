"""Retention sweeps, derived from the data map: every store whose retention names a clock or
an expiry field gets a step; nothing here lists stores by hand.

What the shipped map yields: daily usage-KPI buckets whose day began more than the tenant's
`kpi_retention_days` ago are merged into the tenant's anonymous daily totals and deleted (no
per-person count outlives the retention, so a day's last hours go up to a day early); expired
exports and bot dialog state are deleted; data-subject requests closed three years ago are
pseudonymized; destruction-log, audit-log and access-review entries older than three years are
deleted; soft-deleted directory accounts past the grace period are erased in full under the
tenant's removal policy.

A sweep is a resumable run (`privacy.runs`) with its cutoffs saved, so an interrupted sweep is
finished with the same cutoffs by the next one. The law asks for periodic destruction at most
every six months; `juno serve` sweeps daily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, Store, retention_days
from privacy.erasure import erase_user
from privacy.removal_modes import DEFAULT_REMOVAL_MODE, RemovalMode, parse_mode
from privacy.rollup import small_totals
from privacy.runs import Hook, Run, Step, StoreOutcome, collection_of, execute, open_run
from privacy.strategies import Pseudonymizer, Target, keyed_hash
from storage.collections import Coll
from storage.repositories import TenantRecord, TenantRegistry, TenantStore

ERASE = "erase"
SMALL = "small-totals"
DEFAULT_GRACE_DAYS = 30
SLOT = "retention"
# An erasure run untouched this long was interrupted (a killed `juno dsr erase`, a crash during
# an approval), not merely slow: every step updates the run document.
STALLED_ERASURE = timedelta(minutes=15)


@dataclass
class SweepReport:
    tenant_id: str
    at: datetime
    records: dict[str, int] = field(default_factory=dict)  # store -> records destroyed/changed
    erased_users: int = 0
    resumed: bool = False
    finished_erasures: int = 0

    @property
    def total(self) -> int:
        return sum(self.records.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "at": self.at.isoformat(),
            "records": dict(self.records),
            "erased_users": self.erased_users,
            "resumed_interrupted_run": self.resumed,
            "finished_interrupted_erasures": self.finished_erasures,
        }


def sweep_plan(record: TenantRecord | None, now: datetime, grace_days: int) -> list[Step]:
    steps: list[Step] = []
    for decl in DATA_MAP.values():
        rule = decl.retention
        if rule.erase_after:
            steps.append(Step(decl.collection.value, ERASE, cutoff=now - timedelta(grace_days)))
            continue
        if not rule.swept or rule.at_end == "keep":
            continue
        days = retention_days(decl, record)
        cutoff = now - timedelta(days=days) if days is not None and rule.clock else None
        expiry = now if rule.expires else None
        steps.append(Step(decl.collection.value, rule.at_end, rule.fields, cutoff, expiry))
        if decl.rollup is not None and cutoff is not None:
            # After the merge, every total that covers fewer than k people (`small_totals`).
            steps.append(Step(decl.collection.value, "delete", cutoff=cutoff, reference=SMALL))
    return steps


def min_subjects(decl: Store, record: TenantRecord | None) -> int:
    """The store's k for its anonymous totals, the tenant's own setting first."""
    rollup = decl.rollup
    if rollup is None:
        return 0
    if rollup.tenant_min_subjects and record is not None:
        value = getattr(record, rollup.tenant_min_subjects, None)
        if isinstance(value, int):
            return value
    return rollup.min_subjects


def _selector(decl: Store, step: Step) -> dict[str, Any]:
    rule = decl.retention
    parts: list[dict[str, Any]] = []
    if step.cutoff is not None and rule.clock:
        parts.append({rule.clock: {"$lt": step.cutoff}})
    if step.expiry is not None and rule.expires:
        parts.append({rule.expires: {"$lt": step.expiry}})
    if not parts:
        raise ValueError(f"{decl.collection.value}: a sweep step without a cutoff")
    return parts[0] if len(parts) == 1 else {"$or": parts}


async def sweep_tenant(
    store: TenantStore,
    *,
    pseudonym: Pseudonymizer,
    now: datetime | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
    hook: Hook | None = None,
) -> SweepReport:
    """Finish any interrupted sweep of this tenant, then sweep it as of `now`."""
    at = now or datetime.now(UTC)
    record = await store.own_record.get()
    report = SweepReport(store.tenant_id, at)
    for outcomes in await finish_stalled_erasures(store, pseudonym, before=at - STALLED_ERASURE):
        report.finished_erasures += 1
        _add(report, outcomes)
    existing = await store.destruction_runs.get(SLOT)
    if existing is not None:
        report.resumed = True
        await _sweep_once(store, Run.from_doc(SLOT, existing), record, pseudonym, report, hook)
    fresh = Run(
        slot=SLOT,
        kind="retention",
        reason="retention",
        steps=sweep_plan(record, at, grace_days),
        started_at=at,
    )
    run = await open_run(store, fresh, hook)
    await _sweep_once(store, run, record, pseudonym, report, hook)
    return report


async def finish_stalled_erasures(
    store: TenantStore, pseudonym: Pseudonymizer, *, before: datetime
) -> list[list[StoreOutcome]]:
    """Finish erasures that stopped half-way: only someone erasing the same person again
    would otherwise resume them, and the run document holds the raw id until it ends."""
    finished = []
    for doc in await store.destruction_runs.find({"kind": "erasure"}):
        touched = doc.get("updated_at") or doc.get("started_at")
        user_id, mode = doc.get("user_id"), doc.get("mode")
        if not isinstance(touched, datetime) or touched >= before or not user_id or not mode:
            continue
        outcomes = await erase_user(
            store,
            str(user_id),
            RemovalMode(mode),
            reason=str(doc.get("reason") or "erasure"),
            pseudonym=pseudonym,
        )
        finished.append(outcomes)
    return finished


async def _sweep_once(
    store: TenantStore,
    run: Run,
    record: TenantRecord | None,
    pseudonym: Pseudonymizer,
    report: SweepReport,
    hook: Hook | None,
) -> None:
    mode = parse_mode(record.removal_mode) if record else DEFAULT_REMOVAL_MODE

    def target_for(step: Step) -> Target:
        decl = DATA_MAP[Coll(step.store)]
        if step.reference == SMALL and decl.rollup is not None and step.cutoff is not None:
            return Target(
                coll=collection_of(store, decl.collection),
                selector=small_totals(decl.rollup, min_subjects(decl, record)),
                subject_key=decl.rollup.subject,
                fields=(),
                pseudonym=pseudonym,
                hook=hook,
            )
        selector = _selector(decl, step)
        if decl.collection is Coll.DESTRUCTION_LOG:
            # Never this run's own proof: with a clock ahead of the entries' time it would
            # match the entry the step just wrote.
            selector = {"$and": [selector, {"run_id": {"$ne": run.run_id}}]}
        return Target(
            coll=collection_of(store, decl.collection),
            selector=selector,
            subject_key=decl.subject_key or "_id",
            fields=step.fields,
            pseudonym=pseudonym,
            flag=decl.anonymized_flag,
            rollup=decl.rollup,
            hook=hook,
        )

    async def erase_departed(step: Step) -> None:
        decl = DATA_MAP[Coll(step.store)]
        since, key = decl.retention.erase_after, decl.subject_key
        if since is None or key is None or step.cutoff is None:
            return
        coll = collection_of(store, decl.collection)
        for doc in await coll.find({since: {"$lt": step.cutoff}}, projection={key: 1}):
            outcomes = await erase_user(
                store,
                doc[key],
                mode,
                reason=f"retention: soft-deleted in the directory before {step.cutoff:%Y-%m-%d}",
                pseudonym=pseudonym,
            )
            report.erased_users += 1
            _add(report, outcomes)

    outcomes = await execute(store, run, target_for, hook=hook, special={ERASE: erase_departed})
    _add(report, outcomes)


def _add(report: SweepReport, outcomes: list[StoreOutcome]) -> None:
    for outcome in outcomes:
        report.records[outcome.store] = report.records.get(outcome.store, 0) + outcome.records


async def sweep_tenants(
    db: AsyncDatabase[dict[str, Any]],
    *,
    key: bytes,
    now: datetime | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
    tenant_id: str | None = None,
) -> list[SweepReport]:
    """Sweep every registered tenant (disabled ones too: the law does not pause), or one.

    Purged tenants are swept too: their registry entry is gone but their destruction log
    stays, and it must still end after its three years."""
    registry = TenantRegistry(db)
    if tenant_id is not None:
        tenants = [(await registry.require(tenant_id)).tenant_id]
    else:
        tenants = [r.tenant_id for r in await registry.list_all()]
        known = set(tenants)
        logged = await db[Coll.DESTRUCTION_LOG].distinct("tenant_id")
        tenants += sorted(str(t) for t in logged if t and t not in known)
    return [
        await sweep_tenant(
            TenantStore(db, tid),
            pseudonym=keyed_hash(key, tid),
            now=now,
            grace_days=grace_days,
        )
        for tid in tenants
    ]
