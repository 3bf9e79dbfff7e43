"""Background work: kept until it ends, waited for at shutdown, cut off after the drain time."""

from __future__ import annotations

import asyncio

from bot.tasks import BackgroundTasks


async def test_drain_waits_for_work_in_time_and_cancels_what_runs_late() -> None:
    tasks = BackgroundTasks()
    done: list[str] = []
    cancelled: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        done.append("quick")

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
            done.append("slow")
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise

    tasks.start(quick())
    tasks.start(slow())
    await tasks.drain(seconds=0.5)
    assert done == ["quick"]
    assert cancelled == ["slow"]
    await tasks.drain(seconds=0.5)  # nothing left: returns at once
