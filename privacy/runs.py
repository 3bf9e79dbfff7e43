"""Resumable destruction runs: the one engine behind erasure and retention sweeps.

Why a run document and a keyed log: without multi-document transactions (the embedded server
has none that are safe, and standalone MongoDB has none at all) a crash can land between any two
writes. So each run is a list of steps (one per store) saved before the first step, and each
step goes:

1. count what the step will change;
2. write its destruction-log entry as *pending* with that count (keyed by run and store, so a
   retry rewrites the same entry rather than adding a second one);
3. change the records (every strategy is idempotent);
4. mark the entry *done*;
5. mark the step done in the run document.

A rerun resumes the saved run. A step found pending is recounted; whatever is left is destroyed,
and the entry keeps the larger of the two counts (what was there when the run first counted).
The run document, which holds the raw id while an erasure is in progress, is deleted when the
run completes, so only the pseudonymous log remains.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from privacy.rollup import Hook
from privacy.strategies import STRATEGIES, Target
from storage.collections import Coll
from storage.repositories import TenantStore
from storage.scoped import TenantCollection

# `Hook` is called after every write of a run with a label like `logged:kpi_events` (and inside
# strategies that write more than once, e.g. `merged:kpi_events`); tests inject a failure there
# to prove a rerun converges from any point.
__all__ = [
    "DONE",
    "PENDING",
    "Hook",
    "Run",
    "Step",
    "StoreOutcome",
    "execute",
    "open_run",
    "outcomes_of",
    "pending_runs",
]

PENDING = "pending"
DONE = "done"


@dataclass(frozen=True)
class StoreOutcome:
    store: str
    method: str
    records: int


@dataclass(frozen=True)
class Step:
    store: str
    method: str
    fields: tuple[str, ...] = ()
    cutoff: datetime | None = None  # retention: records whose clock is older than this
    expiry: datetime | None = None  # retention: records whose expiry is before this
    reference: str | None = None  # erasure: a field naming the person in others' records;
    # retention: which part of the store a second step of it treats (`small-totals`)

    @property
    def label(self) -> str:
        """The step's name in the run and the log: the store, or `store#part` for a
        reference or a second step (a store can have its own step and such steps)."""
        return f"{self.store}#{self.reference}" if self.reference else self.store

    def to_doc(self) -> dict[str, Any]:
        doc = {
            "store": self.store,
            "method": self.method,
            "fields": list(self.fields),
            "cutoff": self.cutoff,
            "expiry": self.expiry,
        }
        if self.reference:
            doc["reference"] = self.reference
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Step:
        return cls(
            store=doc["store"],
            method=doc["method"],
            fields=tuple(doc.get("fields") or ()),
            cutoff=doc.get("cutoff"),
            expiry=doc.get("expiry"),
            reference=doc.get("reference"),
        )


@dataclass
class Run:
    slot: str  # one run at a time per slot: "erasure:<pseudonym>" or "retention"
    kind: str
    reason: str
    steps: list[Step]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: str | None = None
    subject: str | None = None
    mode: str | None = None
    done: set[str] = field(default_factory=set)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    resumed: bool = False

    def to_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "run_id": self.run_id,
            "kind": self.kind,
            "subject": self.subject,
            "mode": self.mode,
            "reason": self.reason,
            "steps": [s.to_doc() for s in self.steps],
            "done": sorted(self.done),
            "started_at": self.started_at,
            "updated_at": self.started_at,
        }
        if self.user_id is not None:
            doc["user_id"] = self.user_id
        return doc

    @classmethod
    def from_doc(cls, slot: str, doc: Mapping[str, Any]) -> Run:
        return cls(
            slot=slot,
            kind=doc["kind"],
            reason=doc.get("reason") or "",
            steps=[Step.from_doc(s) for s in doc.get("steps") or ()],
            run_id=doc["run_id"],
            user_id=doc.get("user_id"),
            subject=doc.get("subject"),
            mode=doc.get("mode"),
            done=set(doc.get("done") or ()),
            started_at=doc.get("started_at") or datetime.now(UTC),
            resumed=True,
        )


async def _noop(_: str) -> None:
    return None


async def open_run(store: TenantStore, fresh: Run, hook: Hook | None = None) -> Run:
    """Resume the run in `fresh.slot` if one is in progress, else save and return `fresh`."""
    hook = hook or _noop
    existing = await store.destruction_runs.get(fresh.slot)
    if existing is not None:
        return Run.from_doc(fresh.slot, existing)
    if not await store.destruction_runs.put_once(fresh.slot, fresh.to_doc()):
        raced = await store.destruction_runs.get(fresh.slot)
        if raced is not None:  # another worker started the same run a moment ago
            return Run.from_doc(fresh.slot, raced)
    await hook(f"opened:{fresh.kind}")
    return fresh


async def pending_runs(store: TenantStore, kind: str) -> list[Run]:
    slot_start = len(store.tenant_id) + 1
    docs = await store.destruction_runs.find({"kind": kind})
    return [Run.from_doc(d["_id"][slot_start:], d) for d in docs]


Special = Callable[[Step], Awaitable[None]]


async def execute(
    store: TenantStore,
    run: Run,
    target_for: Callable[[Step], Target],
    *,
    hook: Hook | None = None,
    special: Mapping[str, Special] | None = None,
) -> list[StoreOutcome]:
    """Run (or finish) every step, then delete the run document. Returns what the run
    destroyed, store by store, as the destruction log records it."""
    hook = hook or _noop
    log = store.collections[Coll.DESTRUCTION_LOG]
    for step in run.steps:
        if step.label in run.done:
            continue
        handler = (special or {}).get(step.method)
        if handler is not None:
            await handler(step)
        else:
            await _run_step(store, run, step, target_for(step), log, hook)
        # An update, never an upsert: a worker that finished the same run may have deleted
        # the document already, and a half document must not come back.
        runs = store.collections[Coll.DESTRUCTION_RUNS]
        await runs.update_one(
            {"_id": runs.key(run.slot)},
            {"$set": {"done": sorted(run.done | {step.label}), "updated_at": datetime.now(UTC)}},
        )
        run.done.add(step.label)
        await hook(f"step-done:{step.label}")
    outcomes = await outcomes_of(store, run.run_id, [s.label for s in run.steps])
    await store.destruction_runs.delete(run.slot)
    await hook(f"closed:{run.kind}")
    return outcomes


async def _run_step(
    store: TenantStore,
    run: Run,
    step: Step,
    target: Target,
    log: TenantCollection,
    hook: Hook,
) -> None:
    strategy = STRATEGIES[step.method]
    entry = await log.get(run.run_id, step.label)
    if entry is not None and entry.get("status") == DONE:
        return
    records = await strategy.count(target)
    if entry is not None:
        records = max(int(entry.get("records") or 0), records)
    elif records == 0:
        return  # nothing of this subject here: no entry, as there is nothing to prove
    fields: dict[str, Any] = {
        "subject": run.subject,
        "store": step.store,
        "records": records,
        "method": step.method,
        "reason": run.reason,
        "run_id": run.run_id,
        "status": PENDING,
        "at": datetime.now(UTC),
    }
    if step.reference:
        fields["reference"] = step.reference
    await log.upsert([run.run_id, step.label], fields)
    await hook(f"logged:{step.label}")
    await strategy.apply(target)
    await hook(f"applied:{step.label}")
    # An update, not an upsert: if the entry were gone, a half entry must not appear.
    await log.update_one(
        {"_id": log.key(run.run_id, step.label)},
        {"$set": {"status": DONE, "at": datetime.now(UTC)}},
    )
    await hook(f"confirmed:{step.label}")


async def outcomes_of(store: TenantStore, run_id: str, stores: Sequence[str]) -> list[StoreOutcome]:
    """`stores` are step labels (`store` or `store#reference`)."""
    log = store.collections[Coll.DESTRUCTION_LOG]
    wanted = [log.key(run_id, s) for s in stores]
    entries = {
        e["store"] + (f"#{e['reference']}" if e.get("reference") else ""): e
        for e in await log.find({"_id": {"$in": wanted}})
    }
    return [
        StoreOutcome(s, entries[s]["method"], int(entries[s]["records"]))
        for s in stores
        if s in entries and entries[s].get("status") == DONE
    ]
