"""The per-tenant sync state document (`sync_state`, key `graph`): delta link, round counter,
lease, and the history of runs.

One document per tenant so that `juno tenant show` and the admin card read one record. Its
fields are declared in the data map (`sync_state`); nothing personal goes in here: run records
hold counts, times and our own one-line error messages only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from storage.collections import Coll
from storage.repositories import KeyedStore
from storage.scoped import TenantCollection

STATE_KEY = "graph"
RUNS_KEPT = 20


@dataclass(frozen=True)
class SyncState:
    delta_link: str | None = None
    round: int = 0
    lease_holder: str | None = None
    lease_until: datetime | None = None
    last_run: dict[str, Any] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None) -> SyncState:
        if doc is None:
            return cls()
        return cls(
            delta_link=doc.get("delta_link"),
            round=int(doc.get("round") or 0),
            lease_holder=doc.get("lease_holder"),
            lease_until=doc.get("lease_until"),
            last_run=doc.get("last_run"),
            runs=list(doc.get("runs") or []),
        )


class StateStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.coll = KeyedStore(TenantCollection(db[Coll.SYNC_STATE], tenant_id))

    async def load(self) -> SyncState:
        return SyncState.from_document(await self.coll.get(STATE_KEY))

    async def ensure(self, now: datetime) -> None:
        """Create the document if missing, so the lease can be claimed without an upsert."""
        await self.coll.put(STATE_KEY, {}, set_on_insert={"round": 0, "updated_at": now})

    async def begin_full_round(self, round_no: int, now: datetime) -> None:
        """Forget the delta link before a full round starts: if the round dies half-way, the next
        run is a full round again (with its sweep) instead of resuming an incremental link."""
        await self.coll.put(STATE_KEY, {"delta_link": None, "round": round_no, "updated_at": now})

    async def save_delta_link(self, link: str, round_no: int, now: datetime) -> None:
        """Called only after every write of the round was acknowledged."""
        await self.coll.put(STATE_KEY, {"delta_link": link, "round": round_no, "updated_at": now})

    async def record_run(self, run: dict[str, Any], now: datetime) -> None:
        """Also keeps the first successful run's time: the admin card's onboarding line
        ("the directory permission works since ...") must outlive the bounded run history."""
        await self.ensure(now)
        update: dict[str, Any] = {
            "$set": {"last_run": run, "updated_at": now},
            "$push": {"runs": {"$each": [run], "$slice": -RUNS_KEPT}},
        }
        if run.get("status") == "ok":
            update["$min"] = {"first_success_at": run.get("finished_at") or now}
        await self.coll.update(STATE_KEY, update)
