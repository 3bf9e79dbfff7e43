"""Summarized directory profiles, one per employee, keyed by Entra object id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.scoped import BulkOutcome, KeyedUpsert, TenantCollection

Document = dict[str, Any]


class ProfilesRepo:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    def upsert_op(self, user_id: str, fields: Mapping[str, Any]) -> KeyedUpsert:
        return self._c.upsert_op([user_id], {**fields, "user_id": user_id})

    async def upsert_many(self, profiles: Sequence[Mapping[str, Any]]) -> BulkOutcome:
        """One round trip for a whole page of profiles."""
        return await self._c.bulk([self.upsert_op(p["user_id"], p) for p in profiles])

    async def get(self, user_id: str) -> Document | None:
        return await self._c.get(user_id)

    async def reports_of(self, manager_id: str) -> list[Document]:
        return await self._c.find({"manager_id": manager_id, "hidden": {"$ne": True}})

    async def count(self) -> int:
        return await self._c.count()

    async def delete(self, user_id: str) -> int:
        return await self._c.delete_many({"user_id": user_id})
