"""A per-tenant lease in MongoDB so two workers (replicas of `juno serve`, a CronJob running
`juno sync`) never sync one tenant at the same time.

The lease lives in the tenant's sync-state document (`lease_holder`, `lease_until`). It is taken
with one conditional `find_one_and_update` (free, expired, or already ours), which a single
document update makes atomic on any MongoDB. The holder renews it while the round runs; a
crashed holder stops renewing and the lease expires. A holder that died on this very host is
recognised at once (its process is gone), so an operator's rerun after a kill does not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from entra.clock import utcnow
from graph_sync.errors import LeaseHeld
from graph_sync.state import STATE_KEY, StateStore

log = logging.getLogger("graph_sync.lease")
Clock = Callable[[], datetime]
_HOLDER = re.compile(r"^(?P<label>[^@]*)@(?P<host>.+):(?P<pid>\d+)#(?P<nonce>[0-9a-f]+)$")


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: readable for operators, unique per worker object."""

    label: str
    host: str
    pid: int
    nonce: str

    @classmethod
    def here(cls, label: str) -> Holder:
        return cls(label, socket.gethostname(), os.getpid(), secrets.token_hex(4))

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        match = _HOLDER.match(text)
        if match is None:
            return None
        return cls(match["label"], match["host"], int(match["pid"]), match["nonce"])

    def __str__(self) -> str:
        return f"{self.label}@{self.host}:{self.pid}#{self.nonce}"

    def died_here(self) -> bool:
        """True only for a holder of this host whose process no longer exists."""
        if self.host != socket.gethostname() or self.pid == os.getpid():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class Lease:
    def __init__(
        self,
        state: StateStore,
        holder: Holder,
        *,
        ttl: timedelta = timedelta(minutes=2),
        clock: Clock = utcnow,
    ) -> None:
        self.state = state
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.lost = asyncio.Event()

    async def _claim(self, extra: Mapping[str, object]) -> bool:
        now = self.clock()
        doc = await self.state.coll.claim(
            STATE_KEY,
            extra,
            {"$set": {"lease_holder": str(self.holder), "lease_until": now + self.ttl}},
        )
        return doc is not None

    async def acquire(self) -> None:
        """Take the lease or raise `LeaseHeld` naming the current holder."""
        free = {
            "$or": [
                {"lease_holder": None},
                {"lease_until": {"$lt": self.clock()}},
                {"lease_holder": str(self.holder)},
            ]
        }
        if await self._claim(free):
            return
        current = await self.state.coll.get(STATE_KEY)
        if current is None:
            await self.state.ensure(self.clock())
            if await self._claim(free):
                return
            current = await self.state.coll.get(STATE_KEY)
        holder_text = str((current or {}).get("lease_holder") or "unknown")
        until = (current or {}).get("lease_until")
        other = Holder.parse(holder_text)
        if (
            other is not None
            and other.died_here()
            and await self._claim({"lease_holder": holder_text})
        ):
            return
        raise LeaseHeld(self.state.tenant_id, holder_text, until)

    async def renew(self) -> bool:
        """Extend the lease; False when it is no longer ours."""
        return await self._claim({"lease_holder": str(self.holder)})

    async def release(self) -> None:
        await self.state.coll.claim(
            STATE_KEY,
            {"lease_holder": str(self.holder)},
            {"$set": {"lease_holder": None, "lease_until": None}},
        )

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[Lease]:
        """Hold the lease for the block, renewing every third of its time to live; `lost` is
        set if a renewal finds it taken (the round then stops at its next page)."""
        await self.acquire()
        keeper = asyncio.create_task(self._keep(), name=f"lease-{self.state.tenant_id}")
        try:
            yield self
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await asyncio.shield(self.release())

    async def _keep(self) -> None:
        interval = max(self.ttl.total_seconds() / 3, 0.05)
        while True:
            await asyncio.sleep(interval)
            try:
                still_ours = await self.renew()
            except Exception as exc:  # a database hiccup: try again; expiry is the backstop
                log.warning("lease renewal failed: %s: %s", type(exc).__name__, exc)
                continue
            if not still_ours:
                self.lost.set()
                return
