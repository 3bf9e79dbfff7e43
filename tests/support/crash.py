"""Crash injection for consistency tests: an in-process failure raised at the N-th step, and a
real `juno` process killed with SIGKILL after a random delay."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.killable import READY


class Crash(Exception):
    pass


@dataclass
class CrashAt:
    at: int
    seen: int = 0

    async def __call__(self, label: str) -> None:
        self.seen += 1
        if self.seen == self.at:
            raise Crash(label)


# --- SIGKILL of a real process ------------------------------------------------------------
# The injector above proves every step boundary in-process; these helpers kill a real `juno`
# process at a random moment, so a crash also lands inside a write the server is still
# carrying out, with half-sent commands and the driver's own state lost.

Probe = Callable[[], Awaitable[bool]]


@dataclass
class Outcome:
    """How one run ended: `killed` if the SIGKILL came first, else its exit code. `took` is
    the time from the anchor (or the start) to `until` (or the exit)."""

    delay: float
    killed: bool
    code: int | None
    out: str
    err: str
    took: float


class Forker:
    """The fork server of tests.support.killable: each `run` is a fresh `juno` process, forked from
    one that has done the imports, which would otherwise cost more than the work killed."""

    def __init__(self, proc: Process, workdir: Path) -> None:
        self.proc = proc
        self.workdir = workdir
        self.count = 0

    @classmethod
    async def open(cls, env: Mapping[str, str], cwd: Path) -> Forker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.killable",
            env=dict(env),
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        forker = cls(proc, cwd)
        if await forker._line(60) != READY:
            await forker.close()
            raise AssertionError("the fork server did not start")
        return forker

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        async with asyncio.timeout(60):
            await self.proc.wait()

    async def _line(self, limit: float) -> str:
        assert self.proc.stdout is not None
        async with asyncio.timeout(limit):
            return (await self.proc.stdout.readline()).decode().strip()

    async def _say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def run(
        self,
        args: Sequence[str],
        *,
        delay: float | None = None,
        anchor: Probe | None = None,
        until: Probe | None = None,
        limit: float = 120,
    ) -> Outcome:
        """Run `juno <args>`; SIGKILL it `delay` seconds after `anchor` first answers True
        (polled every 10 ms; at once without one) unless it exits first. Without a delay it
        runs to its end, and `until` marks when its work was done, for timing."""
        self.count += 1
        out, err = (self.workdir / f"juno-{self.count}.{s}" for s in ("out", "err"))
        await self._say(json.dumps({"args": list(args), "out": str(out), "err": str(err)}))
        assert (await self._line(60)).startswith("PID ")
        exited = asyncio.ensure_future(self._line(limit))
        began = time.perf_counter()
        if anchor is not None:
            async with asyncio.timeout(limit):
                # Polled: the anchor is another process's progress, which no Event can show.
                while not exited.done() and not await anchor():  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            began = time.perf_counter()
        ended: float | None = None

        async def watch(done: Probe) -> None:
            nonlocal ended
            while not await done():  # noqa: ASYNC110 (as above)
                await asyncio.sleep(0.01)
            ended = time.perf_counter()

        watcher = asyncio.ensure_future(watch(until)) if until is not None else None
        done, _ = await asyncio.wait({exited}, timeout=limit if delay is None else delay)
        if not done:
            await self._say("kill")
        line = await exited
        finished = time.perf_counter()
        if watcher is not None:
            async with asyncio.timeout(10):
                await watcher
        status = int(line.split()[2])
        code = os.waitstatus_to_exitcode(status)
        return Outcome(
            delay=delay or 0.0,
            killed=code == -signal.SIGKILL,
            code=None if code < 0 else code,
            out=out.read_text(),
            err=err.read_text(),
            took=(ended or finished) - began,
        )


def seeded_rng(name: str, default: int) -> tuple[random.Random, int]:
    """A random source for kill delays, seeded from CRASH_SEED (or `default`) and printed, so a
    failing sequence of kills can be replayed: `CRASH_SEED=<n> pytest -s <test>`."""
    seed = int(os.environ.get("CRASH_SEED", default))
    print(f"{name}: CRASH_SEED={seed}")
    return random.Random(seed), seed


def runs(default: int) -> int:
    """How many kills a suite makes: CRASH_RUNS, or the default that keeps it bounded."""
    return max(1, int(os.environ.get("CRASH_RUNS", default)))
