"""What a Graph change or lifecycle notification does: check it, note it, schedule a delta round.

A notification is a hint, never data: Graph may lose, repeat or reorder them, so none is read
for what changed. Each valid one only asks `DeltaTrigger` for a delta round of its tenant; the
trigger coalesces a burst into one round, runs at most one round per tenant per
`min_interval`, and keeps asking until a round that *started after* the notification arrived
has finished, so a change is never left behind a round that was already under way.

The HTTP side (juno/graph_web.py) answers Graph first (202 within its 3 s) and lets the work
here run afterwards; only the `clientState` check happens before the answer, since it decides
the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import msgspec
from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.state import StateStore
from graph_sync.subscriptions import SubscriptionStore, client_state_matches

log = logging.getLogger("graph_sync.notifications")

MAX_ITEMS = 1000  # Graph batches; a body with more than this is not from Graph
LIFECYCLE_EVENTS = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
Clock = Callable[[], datetime]


class InvalidPayload(ValueError):
    """The body is not a changeNotificationCollection."""


class ChangeNotification(msgspec.Struct, frozen=True):
    subscriptionId: str = ""
    tenantId: str = ""
    clientState: str | None = None
    changeType: str | None = None
    lifecycleEvent: str | None = None


class _Collection(msgspec.Struct):
    value: list[ChangeNotification]


def parse(body: bytes) -> list[ChangeNotification]:
    try:
        items = msgspec.json.decode(body, type=_Collection).value
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidPayload(f"not a change notification collection: {exc}") from None
    if len(items) > MAX_ITEMS:
        raise InvalidPayload(f"more than {MAX_ITEMS} notifications in one request")
    return items


def tenant_of(item: ChangeNotification) -> str | None:
    try:
        return str(uuid.UUID(item.tenantId))
    except (ValueError, TypeError, AttributeError):
        return None


@dataclass
class Verdict:
    """Per request: which tenants sent valid items, and how many were refused."""

    accepted: Counter[str] = field(default_factory=Counter)
    lifecycle: list[tuple[str, str]] = field(default_factory=list)
    rejected: int = 0
    rejected_tenants: Counter[str] = field(default_factory=Counter)

    @property
    def any_valid(self) -> bool:
        return bool(self.accepted) or bool(self.lifecycle)


async def verify(
    db: AsyncDatabase[dict[str, Any]], items: list[ChangeNotification], *, lifecycle: bool
) -> Verdict:
    """Keep the items whose `clientState` matches their tenant's subscription (one read per
    tenant named in the request, whatever the number of items)."""
    verdict = Verdict()
    docs: dict[str, dict[str, Any] | None] = {}
    for item in items:
        tenant = tenant_of(item)
        if tenant is None:
            verdict.rejected += 1
            continue
        if tenant not in docs:
            docs[tenant] = await SubscriptionStore(db, tenant).load()
        doc = docs[tenant]
        if doc is None or not client_state_matches(
            item.clientState, doc.get("client_state_sha256")
        ):
            verdict.rejected += 1
            if doc is not None:  # counted where there is something to count on
                verdict.rejected_tenants[tenant] += 1
            continue
        event = item.lifecycleEvent or ""
        if lifecycle and event in LIFECYCLE_EVENTS:
            verdict.lifecycle.append((tenant, event))
        else:  # a change, or a lifecycle event we do not know: at least catch up
            verdict.accepted[tenant] += 1
    return verdict


RunNow = Callable[[str], Awaitable["asyncio.Task[None] | None"]]
Running = Callable[[str], "asyncio.Task[None] | None"]


class DeltaTrigger:
    """Debounced, per-tenant delta rounds on demand.

    `poke(tenant)` returns at once. The tenant's worker waits `settle` (Graph sends a burst
    for a bulk change), keeps `min_interval` between the rounds it starts, and stops once a
    round that started after the latest poke has finished `ok`. A round another worker runs
    counts too (it is read from the tenant's sync state), so replicas do not pile up rounds;
    the sync lease keeps them from overlapping, and while another worker holds it (a long full
    round, say) the worker waits without counting that as an attempt, for up to `max_wait`.
    Bounded: after `max_attempts` rounds that did
    not cover the poke, it gives up and leaves the change to the next scheduled poll.
    """

    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        run_now: RunNow,
        running: Running,
        *,
        min_interval: timedelta = timedelta(seconds=10),
        settle: timedelta = timedelta(seconds=1),
        max_attempts: int = 6,
        max_wait: timedelta = timedelta(minutes=30),
        clock: Clock = utcnow,
    ) -> None:
        self.db = db
        self.run_now = run_now
        self.running = running
        self.min_interval = min_interval
        self.settle = settle
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.clock = clock
        self._wanted: dict[str, datetime] = {}
        self._last_start: dict[str, float] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self.rounds_started: Counter[str] = Counter()

    def poke(self, tenant_id: str) -> None:
        if self._stopping:
            return
        self._wanted[tenant_id] = self.clock()
        if tenant_id not in self._workers:
            task = asyncio.create_task(self._work(tenant_id), name=f"delta-trigger-{tenant_id}")
            self._workers[tenant_id] = task

    @property
    def pending(self) -> bool:
        """True while some tenant still waits for its round."""
        return bool(self._workers)

    async def stop(self) -> None:
        self._stopping = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    @staticmethod
    def _covers(last_run: dict[str, Any] | None, wanted: datetime) -> bool:
        last = last_run or {}
        started = last.get("started_at")
        if not isinstance(started, datetime) or last.get("status") != "ok":
            return False
        # MongoDB keeps milliseconds: compare at that precision.
        return started >= wanted.replace(microsecond=wanted.microsecond // 1000 * 1000)

    async def _work(self, tenant_id: str) -> None:
        loop = asyncio.get_running_loop()
        attempts = 0
        try:
            await asyncio.sleep(self.settle.total_seconds())
            give_up = loop.time() + self.max_wait.total_seconds()
            while attempts < self.max_attempts and loop.time() < give_up:
                wanted = self._wanted[tenant_id]
                state = await StateStore(self.db, tenant_id).load()
                if self._covers(state.last_run, wanted) and self._wanted[tenant_id] == wanted:
                    return  # (no await from here to the worker's removal: a poke now starts one)
                current = self.running(tenant_id)
                if current is not None:  # a round is under way: it may predate the poke
                    await asyncio.wait([current])
                    continue
                until = state.lease_until
                if state.lease_holder and isinstance(until, datetime) and until > self.clock():
                    # Another worker's round (say a long full one): not an attempt of ours.
                    await asyncio.sleep(self.min_interval.total_seconds())
                    continue
                last = self._last_start.get(tenant_id)
                if last is not None:
                    wait = last + self.min_interval.total_seconds() - loop.time()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                task = await self.run_now(tenant_id)
                if task is None:
                    if self.running(tenant_id) is None:
                        return  # disabled, unconfigured or stopping: the poll decides later
                    continue
                attempts += 1
                self._last_start[tenant_id] = loop.time()
                self.rounds_started[tenant_id] += 1
                await asyncio.wait([task])
            log.warning(
                "tenant %s: %d delta rounds after a notification did not finish ok; "
                "leaving it to the schedule",
                tenant_id,
                attempts,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database away: the schedule still polls
            log.warning("tenant %s: notification round failed: %s", tenant_id, exc)
        finally:
            if self._workers.get(tenant_id) is asyncio.current_task():
                del self._workers[tenant_id]
