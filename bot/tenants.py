"""The tenant registry as turns read it: every turn needs the caller's tenant record, so it is
cached briefly; whoever changes a record (the admin desk) forgets it at once."""

from __future__ import annotations

import time
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import TenantRecord, TenantRegistry

CACHE_SECONDS = 30.0


class TenantCache:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._registry = TenantRegistry(db)
        self._records: dict[str, tuple[float, TenantRecord | None]] = {}

    async def get(self, tenant_id: str) -> TenantRecord | None:
        cached = self._records.get(tenant_id)
        now = time.monotonic()
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        record = await self._registry.get(tenant_id)
        self._records[tenant_id] = (now, record)
        return record

    def forget(self, tenant_id: str) -> None:
        self._records.pop(tenant_id, None)
