"""Per-subject daily count documents (usage KPIs) and the anonymous daily totals beside them.

Reads only: how buckets are written, merged and swept is declared in the privacy data map and
done by `privacy.usage` and the strategies, so this module knows nothing but the field names
it reads by.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.scoped import TenantCollection

Document = dict[str, Any]


class DailyCounts:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    async def for_user(self, user_id: str) -> list[Document]:
        """The person's buckets, oldest day first."""
        return await self._c.find({"user_id": user_id}, sort=[("day", 1)])

    async def totals(self) -> list[Document]:
        """The anonymous per-day totals (documents naming nobody), oldest day first."""
        return await self._c.find({"user_id": {"$exists": False}}, sort=[("day", 1)])

    async def count(self, filter_: Mapping[str, Any] | None = None) -> int:
        return await self._c.count(filter_)
