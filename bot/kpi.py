"""Usage KPIs, counted per person per day and written in batches.

What is kept is how often each person used each kind of command on each UTC day (never text,
never the time of day): the data map's KPI store, written through `privacy.usage`. Writing on
every turn would add a database round trip to each; instead the recorder adds up counts in
memory per (tenant, person, day) and flushes them every second (and at shutdown) as one `$inc`
upsert per bucket, in one bulk write per tenant. A crash loses at most that second of counts,
an acceptable price for analytics that are anonymized after three months anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from entra.clock import utcnow
from privacy.rollup import day_of
from privacy.usage import bucket_update
from storage.collections import Coll
from storage.repositories import TenantStore

FLUSH_SECONDS = 1.0
# Buckets (person-days with their counts), not events, are what the buffer holds: this many
# wakes the flusher early, so memory stays bounded however busy the bot is.
MAX_BUFFER = 5_000

Clock = Callable[[], datetime]
Pending = dict[str, dict[tuple[str, datetime], Counter[str]]]


class KpiRecorder:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], log: Any, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._log = log
        self._clock = clock
        self._pending: Pending = defaultdict(dict)
        self._buckets = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def buffered(self) -> int:
        """Buckets waiting for the next flush."""
        return self._buckets

    def record(self, tenant_id: str, user_id: str, kind: str) -> None:
        buckets = self._pending[tenant_id]
        key = (user_id, day_of(self._clock()))
        counts = buckets.get(key)
        if counts is None:
            counts = buckets[key] = Counter()
            self._buckets += 1
        counts[kind] += 1
        if self._buckets >= MAX_BUFFER:
            self._wake.set()

    def forget(self, tenant_id: str, user_id: str) -> None:
        """Drop a person's buffered counts: they are being erased, and a flush after their
        erasure would write usage data about them again."""
        buckets = self._pending.get(tenant_id)
        if not buckets:
            return
        for key in [k for k in buckets if k[0] == user_id]:
            del buckets[key]
            self._buckets -= 1

    async def flush(self) -> None:
        pending, self._pending, self._buckets = self._pending, defaultdict(dict), 0
        now = self._clock()
        for tenant_id, buckets in pending.items():
            coll = TenantStore(self._db, tenant_id).collections[Coll.KPI_EVENTS]
            ops = [
                bucket_update(coll, user_id, day, counts, now)
                for (user_id, day), counts in buckets.items()
            ]
            try:
                await coll.bulk(ops)
            except PyMongoError as exc:
                self._log.warning(
                    "usage KPIs not written",
                    tenant=tenant_id,
                    buckets=len(ops),
                    events=sum(sum(c.values()) for c in buckets.values()),
                    error=str(exc),
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
