"""The delta engine: one round of `/users/delta` into the tenant's profiles.

A round follows `@odata.nextLink` until a page carries `@odata.deltaLink`. Each page becomes one
bulk write (upserts plus update-only soft deletes), then the erasures its `deleted` entries ask
for. The delta link is saved only after every write of the round was acknowledged, so a crash
anywhere loses nothing: the next run replays from the previous link, and replays are harmless
because every write is a keyed upsert.

Rounds come in two kinds:
- **full** (first sync, `--full`, or Graph dropped the delta state: 410 / `resyncRequired` /
  `syncStateNotFound`): every profile written is stamped `seen_in_round = N`; when the round
  completes, profiles not stamped N are no longer in the directory and are erased. The delta
  link is cleared when a full round starts, so a full round that dies is redone as a full round.
- **incremental** (from the saved link): only what changed.

While one page is written, the next is already being fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import msgspec
from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.errors import GraphRequestError, ResyncRequired
from graph_sync.mapping import clear_caches, gc_paused, plan_page
from graph_sync.models import DeltaPage, decode_page
from graph_sync.source import DeltaSource
from graph_sync.state import StateStore
from privacy.runs import pending_runs
from storage.repositories import TenantStore

OnDeleted = Callable[[str, str, str], Awaitable[object]]
"""`(tenant_id, user_id, reason)`: erase a user per the tenant's removal mode."""

Screen = Callable[[str], Awaitable[Callable[[str], bool]]]
"""`tenant_id -> is_suppressed(user_id)`: who was erased on request and must not be written
again (privacy.suppression), read afresh for each page."""

Interrupt = Callable[[], Exception | None]
"""Asked between pages; an exception returned is raised there (graceful stop, lease lost)."""

MAX_RESYNCS = 2
REASON_DELETED = "user permanently deleted in Entra ID"
REASON_ABSENT = "user absent from the directory at a full sync"


@dataclass
class RoundStats:
    mode: str = "incremental"
    round: int = 0
    created: int = 0
    updated: int = 0
    hidden: int = 0
    removed: int = 0
    suppressed: int = 0  # entries skipped: people erased on request (privacy.suppression)
    pages: int = 0
    entries: int = 0
    resynced: bool = False
    seconds: float = 0.0
    graph_seconds: float = 0.0  # waiting for pages the prefetch had not brought yet
    map_seconds: float = 0.0  # decode + map + building the writes
    db_seconds: float = 0.0  # bulk writes, erasures, sweep

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("seconds", "graph_seconds", "map_seconds", "db_seconds"):
            data[key] = round(data[key], 3)
        return data


class DeltaEngine:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        tenant_id: str,
        source: DeltaSource,
        on_deleted: OnDeleted,
        *,
        progress: Callable[[RoundStats], None] | None = None,
        interrupt: Interrupt | None = None,
        clock: Callable[[], datetime] = utcnow,
        screen: Screen | None = None,
    ) -> None:
        self.tenant_id = tenant_id
        self.screen = screen
        self.store = TenantStore(db, tenant_id)
        self.state = StateStore(db, tenant_id)
        self.source = source
        self.on_deleted = on_deleted
        self.progress = progress
        self.interrupt = interrupt
        self.clock = clock
        self.stats = RoundStats()

    async def run(self, *, full: bool = False) -> RoundStats:
        """One round; `self.stats` holds its counts so far, also when it fails."""
        try:
            return await self._run(full)
        finally:
            clear_caches(self.tenant_id)

    async def _run(self, full: bool) -> RoundStats:
        started = time.perf_counter()
        state = await self.state.load()
        round_no = state.round
        link = None if full else state.delta_link
        stats = self.stats = RoundStats(
            mode="full" if link is None else "incremental", round=round_no
        )
        restart_at: str | None = None  # where a resync restarts (Graph's Location, vetted)
        for _ in range(MAX_RESYNCS + 1):
            full_round = link is None
            held_before = True
            if full_round:
                # Into an empty tenant nobody can be stale: the sweep's scan is skipped.
                held_before = await self.store.profiles.holds_any()
                round_no += 1
                stats.mode, stats.round = "full", round_no
                await self.state.begin_full_round(round_no, self.clock())
                link = restart_at or self.source.initial_url()
            assert link is not None
            try:
                delta_link = await self._pages(link, round_no, full_round, stats)
            except ResyncRequired as exc:
                stats.resynced = True
                restart_at = self.source.restart_url(exc.location)
                link = None
                continue
            if full_round:
                await self._sweep(round_no, stats, held_before)
            await self.state.save_delta_link(delta_link, round_no, self.clock())
            stats.seconds = time.perf_counter() - started
            return stats
        raise GraphRequestError(f"Graph asked for a full resync {MAX_RESYNCS + 1} times in a row")

    async def _pages(self, link: str, round_no: int, full_round: bool, stats: RoundStats) -> str:
        pending = asyncio.ensure_future(self.source.fetch(link))
        try:
            while True:
                waited = time.perf_counter()
                body = await pending
                mapped = time.perf_counter()
                stats.graph_seconds += mapped - waited
                with gc_paused():
                    page = self._decode(body)
                next_link = page.next_link
                if next_link:
                    self._check_link(next_link)
                    pending = asyncio.ensure_future(self.source.fetch(next_link))
                    await asyncio.sleep(0)  # let the request go out before we map and write
                await self._apply(page, round_no, full_round, stats, mapped)
                stats.pages += 1
                if self.progress is not None:
                    self.progress(stats)
                self._check_interrupt()
                if next_link:
                    continue
                if page.delta_link:
                    self._check_link(page.delta_link)
                    return page.delta_link
                raise GraphRequestError("a delta page had neither a nextLink nor a deltaLink")
        finally:
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pending
            elif not pending.cancelled():
                pending.exception()  # retrieved, so an abandoned prefetch's error is not logged

    def _decode(self, body: bytes) -> DeltaPage:
        try:
            return decode_page(body)
        except msgspec.MsgspecError as exc:
            raise GraphRequestError(f"Graph sent a page that cannot be read: {exc}") from None

    def _check_link(self, link: str) -> None:
        if not self.source.accepts(link):
            raise GraphRequestError("Graph sent a link to another host; not following it")

    def _check_interrupt(self) -> None:
        if self.interrupt is not None:
            reason = self.interrupt()
            if reason is not None:
                raise reason

    async def _apply(
        self, page: DeltaPage, round_no: int, full_round: bool, stats: RoundStats, t0: float
    ) -> None:
        users = page.value
        suppressed = await self.screen(self.tenant_id) if self.screen is not None else None
        if suppressed is not None:
            # Erased on request while still in the directory: nothing about them is written,
            # not even as someone's manager (the edge is dropped, docs/privacy.md).
            users = [u for u in users if not suppressed(u.id)]
            stats.suppressed += len(page.value) - len(users)
        with gc_paused():
            plan = plan_page(
                users,
                self.store.profiles,
                round_no=round_no,
                full_round=full_round,
                now=self.clock(),
            )
        if suppressed is not None:
            for op in plan.upserts:
                fields = op.update["$set"]
                manager = fields.get("manager_id")
                if isinstance(manager, str) and suppressed(manager):
                    fields["manager_id"] = None
        t1 = time.perf_counter()
        stats.map_seconds += t1 - t0
        outcome = await self.store.profiles.apply_page(
            plan.upserts, plan.soft_deleted, whole=full_round
        )
        for user_id in plan.deleted:
            await self.on_deleted(self.tenant_id, user_id, REASON_DELETED)
        stats.db_seconds += time.perf_counter() - t1
        stats.created += outcome.inserted
        stats.updated += outcome.modified
        stats.hidden += plan.hidden
        stats.removed += len(plan.deleted)
        stats.entries += plan.entries

    async def _sweep(self, round_no: int, stats: RoundStats, held_before: bool) -> None:
        """After a full round: whoever was not seen has left the directory.

        So has anyone whose erasure an earlier round began and a crash cut short: the erasure
        deletes the profile early on, so no stale profile is left to find them by, and a full
        round (a resync, or the redo of a full round that died in this very sweep) never
        mentions them again. Their run document (privacy.runs) still names them, and erasing
        them again finishes that run.
        """
        t0 = time.perf_counter()
        gone = await self.store.profiles.not_seen_in(round_no) if held_before else []
        cut_short = [
            run.user_id
            for run in await pending_runs(self.store, "erasure")
            if run.user_id and run.reason in (REASON_DELETED, REASON_ABSENT)
        ]
        for user_id in dict.fromkeys(gone + cut_short):
            self._check_interrupt()
            await self.on_deleted(self.tenant_id, user_id, REASON_ABSENT)
            stats.removed += 1
        stats.db_seconds += time.perf_counter() - t0
