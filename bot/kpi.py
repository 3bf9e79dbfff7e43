"""Usage KPIs, written in batches.

One event per handled command (kind and time only; never text). Writing each on its own would add
a database round trip to every turn; instead events are buffered and flushed as one bulk write per
tenant every second (and at shutdown). A crash loses at most that second of usage counts, which
is an acceptable price for analytics that are anonymized after three months anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from storage.collections import Coll
from storage.repositories import TenantStore

FLUSH_SECONDS = 1.0
MAX_BUFFER = 5_000


class KpiRecorder:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], log: Any) -> None:
        self._db = db
        self._log = log
        self._pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def record(self, tenant_id: str, user_id: str, kind: str) -> None:
        self._pending[tenant_id].append({"user_id": user_id, "kind": kind, "at": datetime.now(UTC)})
        if sum(len(v) for v in self._pending.values()) >= MAX_BUFFER:
            self._wake.set()

    async def flush(self) -> None:
        pending, self._pending = self._pending, defaultdict(list)
        for tenant_id, events in pending.items():
            coll = TenantStore(self._db, tenant_id).collections[Coll.KPI_EVENTS]
            ops = [coll.upsert_op([f"kpi:{uuid.uuid4().hex}"], event) for event in events]
            try:
                await coll.bulk(ops)
            except PyMongoError as exc:
                self._log.warning(
                    "usage KPIs not written", tenant=tenant_id, events=len(events), error=str(exc)
                )

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            await self.flush()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="kpi-flush")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
