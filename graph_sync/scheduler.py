"""Periodic syncs inside `juno serve`: every enabled tenant with Graph credentials (or the demo
tenant), every `sync_interval_minutes`.

Whether a tenant is due is read from its sync state in MongoDB (`last_run`), not from memory, so
several replicas agree: they may all find a tenant due, one takes the lease, the others skip it
quietly, and once the winner records its run nobody finds it due until the next interval. A
failed run is retried sooner (after at most `retry_after_failure`).

`stop()` is graceful: running rounds stop at their next page boundary (everything written so far
is kept, the delta link is not advanced, the next run replays), then leases are released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.engine import OnDeleted, Screen
from graph_sync.errors import GraphSyncError, LeaseHeld
from graph_sync.lease import Holder
from graph_sync.runner import DEFAULT_LEASE_TTL, sync_tenant
from graph_sync.source import DeltaSource
from graph_sync.state import StateStore
from graph_sync.subscriptions import SubscriptionStore
from storage.repositories import TenantRecord, TenantRegistry

log = logging.getLogger("graph_sync.scheduler")

MakeClient = Callable[[TenantRecord], DeltaSource]
MAX_HEALTHY_INTERVAL = timedelta(hours=24)
HEALTHY_POLL_FACTOR = 4


def eligible(record: TenantRecord) -> bool:
    return record.enabled and (record.graph is not None or record.demo)


def is_due(
    record: TenantRecord,
    last_run: dict[str, Any] | None,
    now: datetime,
    retry_after_failure: timedelta,
    factor: int = 1,
) -> bool:
    """`factor` stretches the interval while change notifications are healthy: the poll is
    then only the safety net for what notifications missed (capped at a day)."""
    if not last_run:
        return True
    finished = last_run.get("finished_at") or last_run.get("started_at")
    if not isinstance(finished, datetime):
        return True
    interval = min(
        timedelta(minutes=record.sync_interval_minutes * max(factor, 1)), MAX_HEALTHY_INTERVAL
    )
    interval = max(interval, timedelta(minutes=record.sync_interval_minutes))
    if last_run.get("status") != "ok":
        interval = min(interval, retry_after_failure)
    return finished + interval <= now


class Scheduler:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        registry: TenantRegistry,
        make_client: MakeClient,
        on_deleted: OnDeleted,
        *,
        holder_label: str = "juno-serve",
        tick: timedelta = timedelta(seconds=30),
        lease_ttl: timedelta = DEFAULT_LEASE_TTL,
        retry_after_failure: timedelta = timedelta(minutes=5),
        stop_timeout: float = 30.0,
        concurrency: int = 4,
        clock: Callable[[], datetime] = utcnow,
        healthy_poll_factor: int = 1,
        screen: Screen | None = None,
    ) -> None:
        self.db = db
        self.screen = screen
        self.registry = registry
        self.make_client = make_client
        self.on_deleted = on_deleted
        self.holder = Holder.here(holder_label)
        self.tick_interval = tick
        self.lease_ttl = lease_ttl
        self.retry_after_failure = retry_after_failure
        self.stop_timeout = stop_timeout
        self.concurrency = concurrency
        self.clock = clock
        self.healthy_poll_factor = healthy_poll_factor
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self.running: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> None:
        if self._loop_task is None:
            self._stopping.clear()
            self._loop_task = asyncio.create_task(self._loop(), name="graph-sync-scheduler")

    async def stop(self) -> None:
        """Stop scheduling, let running rounds stop at a page boundary, release leases."""
        self._stopping.set()
        if self._loop_task is not None:
            await self._loop_task
            self._loop_task = None
        tasks = list(self.running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=self.stop_timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception as exc:  # the database may be briefly away; next tick retries
                log.warning("sync scheduling failed: %s: %s", type(exc).__name__, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.tick_interval.total_seconds())

    async def tick(self) -> list[str]:
        """Start a run for every tenant that is due; returns their ids."""
        started: list[str] = []
        now = self.clock()
        for record in await self.registry.list_all():
            if self._stopping.is_set():
                break
            if len(self.running) >= self.concurrency:
                break  # the rest wait for a later tick
            if not eligible(record) or record.tenant_id in self.running:
                continue
            state = await StateStore(self.db, record.tenant_id).load()
            factor = await self._poll_factor(record.tenant_id, now)
            if not is_due(record, state.last_run, now, self.retry_after_failure, factor):
                continue
            task = asyncio.create_task(self._run(record), name=f"sync-{record.tenant_id}")
            self.running[record.tenant_id] = task
            task.add_done_callback(self._forget(record.tenant_id))
            started.append(record.tenant_id)
        return started

    async def _poll_factor(self, tenant_id: str, now: datetime) -> int:
        if self.healthy_poll_factor <= 1:
            return 1
        view = await SubscriptionStore(self.db, tenant_id).view()
        return self.healthy_poll_factor if view is not None and view.healthy(now) else 1

    def running_task(self, tenant_id: str) -> asyncio.Task[None] | None:
        """The tenant's round under way in this process, if any."""
        return self.running.get(tenant_id)

    async def run_now(self, tenant_id: str) -> asyncio.Task[None] | None:
        """Start a run for one tenant at once (an admin's "sync now"), whatever its schedule.
        None when it cannot start: unknown, disabled or unconfigured tenant, a run already
        going here, or the service stopping. Another replica holding the lease makes the
        run end quietly, as a scheduled one would."""
        record = await self.registry.get(tenant_id)
        if self._stopping.is_set() or record is None or not eligible(record):
            return None
        if tenant_id in self.running:
            return None
        task = asyncio.create_task(self._run(record), name=f"sync-{tenant_id}")
        self.running[tenant_id] = task
        task.add_done_callback(self._forget(tenant_id))
        return task

    def _forget(self, tenant_id: str) -> Callable[[asyncio.Task[None]], None]:
        def done(_task: asyncio.Task[None]) -> None:
            self.running.pop(tenant_id, None)

        return done

    async def _run(self, record: TenantRecord) -> None:
        tid = record.tenant_id
        try:
            source = self.make_client(record)
        except Exception as exc:  # e.g. credentials removed since the tick read the record
            log.warning("sync of tenant %s cannot start: %s", tid, exc)
            return
        try:
            stats = await sync_tenant(
                self.db,
                tid,
                source,
                self.on_deleted,
                holder=self.holder,
                lease_ttl=self.lease_ttl,
                stop=self._stopping,
                clock=self.clock,
                screen=self.screen,
            )
        except LeaseHeld:
            return  # another worker is on it
        except GraphSyncError as exc:
            log.warning("sync of tenant %s failed: %s", tid, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("sync of tenant %s failed: %s: %s", tid, type(exc).__name__, exc)
        else:
            log.info(
                "sync of tenant %s: %s round, %d created, %d updated, %d hidden, %d removed",
                tid,
                stats.mode,
                stats.created,
                stats.updated,
                stats.hidden,
                stats.removed,
            )
        finally:
            await source.aclose()
