"""The retention job `juno serve` runs: a sweep of every tenant shortly after start and then
every JUNO_RETENTION_INTERVAL_HOURS (daily by default; the law's ceiling is six months).

Sweeps are resumable and idempotent (privacy.retention), so replicas that each run the job, or
a restart mid-sweep, cost a little duplicate reading and never a double destruction. A failing
sweep is logged and retried at the next interval; it never stops the service.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from privacy.retention import SweepReport, sweep_tenants
from storage import StorageError


class RetentionJob:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        key: bytes,
        interval: timedelta,
        grace_days: int,
        log: Any,
        first_delay: float = 60.0,
    ) -> None:
        self._db = db
        self._key = key
        self._interval = interval
        self._grace_days = grace_days
        self._log = log
        self._first_delay = first_delay
        self._task: asyncio.Task[None] | None = None
        self.runs = 0

    async def run_once(self) -> list[SweepReport]:
        reports = await sweep_tenants(self._db, key=self._key, grace_days=self._grace_days)
        for report in reports:
            self._log.info(
                "retention sweep",
                tenant=report.tenant_id,
                records=report.total,
                by_store=report.records,
                erased_users=report.erased_users,
                resumed=report.resumed,
            )
        self.runs += 1
        return reports

    async def _loop(self) -> None:
        await asyncio.sleep(self._first_delay)
        while True:
            try:
                await self.run_once()
            except (PyMongoError, StorageError, ValueError) as exc:
                self._log.error(
                    "retention sweep failed; retrying at the next interval",
                    error=type(exc).__name__,
                    detail=str(exc)[:200],
                )
            await asyncio.sleep(self._interval.total_seconds())

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="juno-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
