"""Staying inside Teams' rate limits on calls to the Bot Connector, and riding out its transient
refusals.

Teams limits each bot per conversation ("thread": a personal chat, a group chat, a team channel)
and each app per tenant, and answers 429 beyond that. Waiting here before sending is cheaper and
kinder than being refused, so every outgoing request first takes a slot in two sliding-window
limiters (its conversation, its tenant). What still fails with a status Microsoft calls transient
is retried with exponential backoff and jitter, honouring Retry-After, within a bounded number
of attempts and a bounded time, so a turn can never hang on a throttled connector.

The limits are those of one process: replicas do not share counters (the retries cover the rest).
Figures: https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit
"""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from aiohttp import ClientHandlerType, ClientMiddlewareType, ClientRequest, ClientResponse
from aiohttp.payload import Payload


@dataclass(frozen=True)
class Window:
    """At most `limit` operations in any `seconds`-long stretch of time."""

    seconds: float
    limit: int


# "Per bot per thread" limits for sending to a conversation.
TEAMS_THREAD_WINDOWS = (Window(1, 7), Window(2, 8), Window(30, 60), Window(3600, 1800))
# "The global limit per app per tenant is 50 Requests Per Second."
TEAMS_TENANT_WINDOWS = (Window(1, 50),)
# Microsoft asks for 429, 412, 502 and 504 to be retried; the current page adds 503.
TRANSIENT_STATUSES = frozenset({412, 429, 502, 503, 504})


class ConnectorThrottled(aiohttp.ClientError):
    """Sending now would break a rate limit, and waiting would outlast the time allowed."""


@dataclass
class _Thread:
    done: list[float] = field(default_factory=list)  # completion times, sorted
    busy: int = 0
    waiting: int = 0
    freed: asyncio.Event = field(default_factory=asyncio.Event)


class SlidingWindowLimiter:
    """Sliding-window admission per key, counting a request until its response has arrived.

    A request is stamped when its answer comes back rather than when it leaves, so the next one
    is sent a full window after the server certainly saw the earlier one: queueing or network
    jitter cannot squeeze more than `limit` requests into any window at the receiving end.
    Memory stays bounded: keys idle for longer than the longest window are dropped, and beyond
    `max_keys` the least recently used idle key is forgotten (a 429 then covers the gap).
    """

    def __init__(
        self,
        windows: Sequence[Window],
        *,
        max_keys: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not windows:
            raise ValueError("at least one window is required")
        self._windows = tuple(windows)
        self._horizon = max(w.seconds for w in windows)
        self._keep = max(w.limit for w in windows)
        self._max_keys = max_keys
        self._clock = clock
        self._threads: OrderedDict[str, _Thread] = OrderedDict()

    def __len__(self) -> int:
        return len(self._threads)

    @asynccontextmanager
    async def slot(self, key: str, deadline: float) -> AsyncIterator[None]:
        """Hold one of `key`'s operations for the duration of the block; raise
        ConnectorThrottled rather than wait past `deadline` (a `clock()` value)."""
        thread = self._thread(key)
        thread.waiting += 1
        try:
            while (delay := self._delay(thread, self._clock())) != 0:
                remaining = deadline - self._clock()
                if remaining <= 0 or (delay is not None and delay > remaining):
                    raise ConnectorThrottled("no room under the rate limit before the deadline")
                freed = thread.freed
                try:
                    async with asyncio.timeout(remaining if delay is None else delay):
                        await freed.wait()
                except TimeoutError:
                    pass
            thread.busy += 1
        finally:
            thread.waiting -= 1
        try:
            yield
        finally:
            thread.busy -= 1
            bisect.insort(thread.done, self._clock())
            del thread.done[: -self._keep]
            thread.freed.set()
            thread.freed = asyncio.Event()

    def _delay(self, thread: _Thread, now: float) -> float | None:
        """Seconds until one more operation fits every window; None while only the answer to
        a request in flight can make room."""
        wait = 0.0
        for window in self._windows:
            start = bisect.bisect_right(thread.done, now - window.seconds)
            recent = thread.done[start:]
            excess = len(recent) + thread.busy - window.limit + 1
            if excess <= 0:
                continue
            if excess > len(recent):
                return None
            wait = max(wait, recent[excess - 1] + window.seconds - now)
        return wait

    def _thread(self, key: str) -> _Thread:
        thread = self._threads.get(key)
        if thread is None:
            thread = self._threads[key] = _Thread()
        self._threads.move_to_end(key)
        now = self._clock()
        while len(self._threads) > 1:
            oldest, candidate = next(iter(self._threads.items()))
            if candidate.busy or candidate.waiting:
                break
            stale = not candidate.done or candidate.done[-1] <= now - self._horizon
            if not stale and len(self._threads) <= self._max_keys:
                break  # least recently used first: the rest are more recent still
            del self._threads[oldest]
        return thread


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying one request: attempts and total time are both bounded."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 20.0
    budget: float = 30.0
    statuses: frozenset[int] = TRANSIENT_STATUSES

    def delay(self, attempt: int, retry_after: str | None, rng: random.Random) -> float:
        """Retry-After when the connector says how long; else exponential backoff with "equal
        jitter" (half fixed, half random), so retries grow but do not collide."""
        told = _retry_after_seconds(retry_after)
        if told is not None:
            return told
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def conversation_of(request: ClientRequest) -> str | None:
    """The Teams thread a connector URL addresses: `…/v3/conversations/{id}/…`, with a channel
    reply chain (`;messageid=`) counted as its channel, as Teams does."""
    parts = request.url.parts
    for i in range(len(parts) - 2):
        if parts[i] == "v3" and parts[i + 1] == "conversations":
            return parts[i + 2].split(";messageid=")[0] or None
    return None


class ConnectorPacer:
    """Shared by every connector client of one adapter, so limits hold across turns and
    proactive messages alike."""

    def __init__(
        self,
        log: Any,
        *,
        thread_windows: Sequence[Window] = TEAMS_THREAD_WINDOWS,
        tenant_windows: Sequence[Window] = TEAMS_TENANT_WINDOWS,
        policy: RetryPolicy | None = None,
        max_keys: int = 4096,
        rng: random.Random | None = None,
    ) -> None:
        self._log = log
        self.threads = SlidingWindowLimiter(thread_windows, max_keys=max_keys)
        self.tenants = SlidingWindowLimiter(tenant_windows, max_keys=max_keys)
        self.policy = policy or RetryPolicy()
        self._rng = rng or random.SystemRandom()

    def middleware(self, tenant: str) -> ClientMiddlewareType:
        async def paced(request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
            return await self._send(tenant, request, handler)

        return paced

    async def _send(
        self, tenant: str, request: ClientRequest, handler: ClientHandlerType
    ) -> ClientResponse:
        policy = self.policy
        deadline = time.monotonic() + policy.budget
        conversation = conversation_of(request)
        attempt = 0
        while True:
            attempt += 1
            async with AsyncExitStack() as slots:
                if conversation:
                    await slots.enter_async_context(self.threads.slot(conversation, deadline))
                await slots.enter_async_context(self.tenants.slot(tenant, deadline))
                response = await handler(request)
            if response.status not in policy.statuses:
                return response
            reusable = not isinstance(request.body, Payload) or not request.body.consumed
            delay = policy.delay(attempt, response.headers.get("Retry-After"), self._rng)
            gives_up = (
                attempt >= policy.attempts or not reusable or time.monotonic() + delay > deadline
            )
            self._log.warning(
                "connector call refused" if gives_up else "connector call retried",
                tenant=tenant or None,
                method=request.method,
                status=response.status,
                attempt=attempt,
                retry_in=None if gives_up else round(delay, 3),
            )
            if gives_up:
                return response
            response.release()
            await asyncio.sleep(delay)
