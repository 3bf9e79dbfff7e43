"""Erasure of users who left the directory, as the engine's injected `on_deleted`.

The engine never touches keys or removal modes: it calls `on_deleted(tenant_id, user_id,
reason)`. This module builds that callable from the pseudonym key (settings
`JUNO_PSEUDONYM_KEY`, passed in by the composition root) and the tenant registry, and hands the
work to `privacy.erasure.erase_user`, which follows the tenant's removal mode and writes the
destruction log. `make_screen` builds the engine's `screen` from the same key: who was erased
on request and is suppressed (privacy.suppression).
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.engine import OnDeleted, Screen
from graph_sync.errors import ErasureUnavailable
from privacy.erasure import erase_user
from privacy.removal_modes import parse_mode
from privacy.strategies import keyed_hash
from privacy.suppression import IsSuppressed
from privacy.suppression import screen as read_suppressions
from storage.repositories import TenantRegistry, TenantStore

# The demo tenant's people are fictional, so their destruction-log pseudonyms need no secret
# key; real tenants always use JUNO_PSEUDONYM_KEY.
FICTIONAL_PEOPLE_KEY = b"juno-demo-tenant-fictional-people"


def make_erasure(db: AsyncDatabase[dict[str, Any]], key: bytes | None) -> OnDeleted:
    """`on_deleted` for the engine. Without a key, erasing a real tenant's user fails with one
    clear line (and the round with it, so its delta link is not saved and the deletion is
    replayed once a key is configured) rather than erasing without a destruction-log pseudonym.
    """
    registry = TenantRegistry(db)

    async def on_deleted(tenant_id: str, user_id: str, reason: str) -> int:
        record = await registry.require(tenant_id)
        tenant_key = key or (FICTIONAL_PEOPLE_KEY if record.demo else None)
        if not tenant_key:
            raise ErasureUnavailable(
                f"tenant {tenant_id}: a user left the directory but JUNO_PSEUDONYM_KEY is not "
                "set, so the erasure cannot be logged; set it and run the sync again"
            )
        outcomes = await erase_user(
            TenantStore(db, tenant_id),
            user_id,
            parse_mode(record.removal_mode),
            reason=reason,
            pseudonym=keyed_hash(tenant_key, tenant_id),
        )
        return sum(o.records for o in outcomes)

    return on_deleted


def make_screen(db: AsyncDatabase[dict[str, Any]], key: bytes | None) -> Screen:
    """`screen` for the engine: which ids of a tenant were erased on request and must not be
    written again. Needs the same key the erasure used (juno.keys resolves it one way for
    every command)."""
    registry = TenantRegistry(db)

    async def screen(tenant_id: str) -> IsSuppressed:
        tenant_key = key
        if not tenant_key:
            record = await registry.get(tenant_id)
            tenant_key = FICTIONAL_PEOPLE_KEY if record is not None and record.demo else None
        pseudonym = keyed_hash(tenant_key, tenant_id) if tenant_key else None
        try:
            return await read_suppressions(TenantStore(db, tenant_id), pseudonym)
        except LookupError as exc:
            raise ErasureUnavailable(str(exc)) from None

    return screen
