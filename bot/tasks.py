"""Work that outlives its turn (exports, archives, announcements, a sync's report): started
after the person is told it began, kept until it ends, and waited for at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

DRAIN_SECONDS = 30.0


class BackgroundTasks:
    """Tasks are kept so they are not garbage-collected mid-flight and can be awaited at
    shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float = DRAIN_SECONDS) -> None:
        """Let background work finish, but not for longer than `seconds` (a "sync now" report
        waits on a whole sync run, which resumes after a restart anyway)."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
