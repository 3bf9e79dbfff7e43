"""One sync run of one tenant: take the lease, run a round, record how it went.

Shared by the scheduler (inside `juno serve`), `juno sync` and the demo seeding, so all three
leave the same trail in the tenant's sync state: `last_run` and the last runs in `runs`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.engine import DeltaEngine, OnDeleted, RoundStats, Screen
from graph_sync.errors import GraphSyncError, LeaseLost, SyncInterrupted
from graph_sync.lease import Holder, Lease
from graph_sync.source import DeltaSource
from graph_sync.state import StateStore

DEFAULT_LEASE_TTL = timedelta(minutes=2)


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, GraphSyncError):
        text = str(exc)
    else:  # not ours: name the type, keep it short; no payloads
        text = f"{type(exc).__name__}: {str(exc)[:200]}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


async def sync_tenant(
    db: AsyncDatabase[dict[str, Any]],
    tenant_id: str,
    source: DeltaSource,
    on_deleted: OnDeleted,
    *,
    holder: Holder,
    full: bool = False,
    lease_ttl: timedelta = DEFAULT_LEASE_TTL,
    progress: Callable[[RoundStats], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], datetime] = utcnow,
    screen: Screen | None = None,
) -> RoundStats:
    """Run one round under the tenant's lease. `screen` names who is suppressed (erased on
    request, still in the directory); every caller in `juno` passes it.

    Raises `LeaseHeld` (nothing recorded: the holder records its own run), or whatever ended
    the round after recording it as `failed` / `interrupted`.
    """
    state = StateStore(db, tenant_id)
    await state.ensure(clock())
    lease = Lease(state, holder, ttl=lease_ttl, clock=clock)

    def interrupt() -> Exception | None:
        if lease.lost.is_set():
            return LeaseLost(f"tenant {tenant_id}: the sync lease was lost; stopped early")
        if stop is not None and stop.is_set():
            return SyncInterrupted(f"tenant {tenant_id}: sync stopped on request")
        return None

    async with lease.held():
        started_at = clock()
        t0 = time.perf_counter()
        engine = DeltaEngine(
            db,
            tenant_id,
            source,
            on_deleted,
            progress=progress,
            interrupt=interrupt,
            clock=clock,
            screen=screen,
        )
        run: dict[str, Any] = {"started_at": started_at, "holder": str(holder), "full": full}
        try:
            stats = await engine.run(full=full)
        except BaseException as exc:
            status = "interrupted" if isinstance(exc, SyncInterrupted | LeaseLost) else "failed"
            if isinstance(exc, asyncio.CancelledError):
                status = "interrupted"
            run.update(
                engine.stats.to_dict(),
                status=status,
                error=_one_line(exc),
                finished_at=clock(),
                seconds=round(time.perf_counter() - t0, 3),
            )
            await asyncio.shield(_record(state, run, clock))
            raise
        run.update(status="ok", finished_at=clock(), **stats.to_dict())
        await state.record_run(run, clock())
        return stats


async def _record(state: StateStore, run: dict[str, Any], clock: Callable[[], datetime]) -> None:
    with contextlib.suppress(Exception):  # the run's own error matters more than its record
        await state.record_run(run, clock())
