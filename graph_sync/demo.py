"""The demo tenant: a fictional directory served as Graph delta pages from a bundled file.

`DemoSource` behaves like `/users/delta` for the sample in `demo_users.json`: pages with
`@odata.nextLink`, a final `@odata.deltaLink` whose token is the sample's digest, an empty
incremental page while the sample is unchanged, and a resync (with its sweep of people no longer
in it) when the sample changed. The engine reads those bytes exactly as it reads Graph's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.engine import OnDeleted, Screen
from graph_sync.erasure import make_erasure, make_screen
from graph_sync.errors import LeaseHeld, ResyncRequired
from graph_sync.lease import Holder
from graph_sync.runner import sync_tenant
from storage.repositories import AdminGrant, TenantExists, TenantRecord, TenantRegistry

DEMO_TENANT_ID = "0000de00-0000-4000-8000-00000000de00"
DEMO_TENANT_NAME = "Demo (JUNO)"
# Tuğba Işık, HR director in the sample: the demo tenant's admin, and whom `juno chat` is by
# default, so a newcomer can try the directory, their own profile and the admin desk.
DEMO_ADMIN_ID = "9c45c1a0-b340-4c21-a342-02d88db1cec0"
DEMO_BASE = "demo://graph.invalid/v1.0"
DEMO_PAGE_SIZE = 100


@cache
def _sample() -> tuple[bytes, str]:
    raw = resources.files("graph_sync").joinpath("demo_users.json").read_bytes()
    return raw, hashlib.sha256(raw).hexdigest()[:32]


class DemoSource:
    def __init__(self, raw: bytes | None = None, *, page_size: int = DEMO_PAGE_SIZE) -> None:
        if raw is None:
            raw, version = _sample()
        else:
            version = hashlib.sha256(raw).hexdigest()[:32]
        self.users: list[dict[str, Any]] = json.loads(raw)
        self.version = version
        self.page_size = page_size

    def initial_url(self) -> str:
        return f"{DEMO_BASE}/users/delta"

    def accepts(self, url: str) -> bool:
        return url.startswith(f"{DEMO_BASE}/")

    def restart_url(self, location: str | None) -> str:
        return self.initial_url()

    def _page(self, value: list[dict[str, Any]], **links: str) -> bytes:
        body: dict[str, Any] = {"@odata.context": f"{DEMO_BASE}/$metadata#users", **links}
        body["value"] = value
        return msgspec.json.encode(body)

    async def fetch(self, url: str) -> bytes:
        query = parse_qs(urlsplit(url).query)
        delta_link = f"{DEMO_BASE}/users/delta?$deltatoken={self.version}"
        if "$deltatoken" in query:
            if query["$deltatoken"][0] != self.version:
                raise ResyncRequired("the demo sample changed", location=self.initial_url())
            return self._page([], **{"@odata.deltaLink": delta_link})
        start = int(query.get("$skiptoken", ["0"])[0])
        end = start + self.page_size
        value = self.users[start:end]
        if end < len(self.users):
            return self._page(
                value, **{"@odata.nextLink": f"{DEMO_BASE}/users/delta?$skiptoken={end}"}
            )
        return self._page(value, **{"@odata.deltaLink": delta_link})

    async def aclose(self) -> None:
        return None


async def seed_demo_tenant(
    db: AsyncDatabase[dict[str, Any]],
    *,
    on_deleted: OnDeleted | None = None,
    screen: Screen | None = None,
) -> str:
    """Register the demo tenant if needed and sync it from the sample; returns its id.

    Idempotent: a second call finds the sample unchanged and writes nothing. If another worker
    holds the demo tenant's lease it is seeding it already, and this returns at once.
    """
    registry = TenantRegistry(db)
    if await registry.get(DEMO_TENANT_ID) is None:
        with contextlib.suppress(TenantExists):  # another process registered it first
            await registry.add(
                TenantRecord(
                    tenant_id=DEMO_TENANT_ID,
                    name=DEMO_TENANT_NAME,
                    demo=True,
                    admins=[AdminGrant(user_id=DEMO_ADMIN_ID, since=datetime.now(UTC))],
                )
            )
    with contextlib.suppress(LeaseHeld):  # another worker is seeding it right now
        await sync_tenant(
            db,
            DEMO_TENANT_ID,
            DemoSource(),
            on_deleted or make_erasure(db, None),  # fictional people: no key needed
            holder=Holder.here("juno-demo-seed"),
            screen=screen or make_screen(db, None),
        )
    return DEMO_TENANT_ID
