"""Per-tenant documents addressed by a natural key: sync state, conversation references,
bot state, data-subject requests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from storage.scoped import TenantCollection

Document = dict[str, Any]


class KeyedStore:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    async def get(self, key: str) -> Document | None:
        return await self._c.get(key)

    async def put(
        self,
        key: str,
        fields: Mapping[str, Any],
        set_on_insert: Mapping[str, Any] | None = None,
    ) -> Document:
        return await self._c.upsert([key], fields, set_on_insert)

    async def put_once(self, key: str, fields: Mapping[str, Any]) -> bool:
        return await self._c.insert_once([key], fields)

    async def claim(
        self, key: str, when: Mapping[str, Any], update: Mapping[str, Any]
    ) -> Document | None:
        """Apply `update` to the document `key` only if it matches `when`; the document as it
        is now, or None. Never inserts (`TenantCollection.claim`): leases and busy flags."""
        return await self._c.claim({**when, "_id": self._c.key(key)}, update)

    async def update(self, key: str, update: Mapping[str, Any]) -> int:
        """An update of the existing document `key` (`$inc`, `$push`...); never inserts."""
        return await self._c.update_one({"_id": self._c.key(key)}, update)

    async def get_many(self, keys: Sequence[str]) -> dict[str, Document]:
        wanted = [self._c.key(k) for k in keys]
        docs = await self._c.find({"_id": {"$in": wanted}})
        prefix = len(self._c.tenant_id) + 1
        return {doc["_id"][prefix:]: doc for doc in docs}

    async def delete(self, key: str) -> int:
        return await self._c.delete_many({"_id": self._c.key(key)})

    async def find(
        self,
        filter_: Mapping[str, Any] | None = None,
        *,
        projection: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        return await self._c.find(filter_, projection=projection)

    async def count(self, filter_: Mapping[str, Any] | None = None) -> int:
        return await self._c.count(filter_)
