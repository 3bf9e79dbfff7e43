"""Append-only, per-tenant records: consents, destruction and audit logs, access reviews.

They share one shape (append, read a subject's entries, newest first) so they share one class;
what each may hold is the privacy data map's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from storage.scoped import TenantCollection

Document = dict[str, Any]


class EventLog:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    async def append(self, entry: Mapping[str, Any]) -> Any:
        doc = dict(entry)
        doc.setdefault("at", datetime.now(UTC))
        return await self._c.insert(doc)

    async def for_user(self, user_id: str, *, limit: int = 0) -> list[Document]:
        return await self._c.find({"user_id": user_id}, sort=[("at", -1)], limit=limit)

    async def recent(self, *, limit: int = 50) -> list[Document]:
        return await self._c.find({}, sort=[("at", -1)], limit=limit)

    async def count(self, filter_: Mapping[str, Any] | None = None) -> int:
        return await self._c.count(filter_)

    async def older_than(self, cutoff: datetime, filter_: Mapping[str, Any]) -> int:
        return await self._c.count({**filter_, "at": {"$lt": cutoff}})


class AuditLog(EventLog):
    """The audit trail has one entry shape, so every writer goes through one typed call:
    a field added by hand at one site and not the others would be missed by the data map's
    scan for undeclared fields, and by erasure's pseudonymization of the actor."""

    async def record(
        self,
        *,
        actor: str | None,
        action: str,
        target: str | None,
        outcome: str,
        at: datetime | None = None,
    ) -> Any:
        entry: dict[str, Any] = {
            "actor": actor,
            "action": action,
            "target": target,
            "outcome": outcome,
        }
        if at is not None:
            entry["at"] = at
        return await self.append(entry)
