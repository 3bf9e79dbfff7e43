"""Tenant-scoped document keys: `<tenant_id>:<part>[:<part>...]`, stored as `_id` and `tkey`; and
the tenant-scoped person key `tuser` (`<tenant_id>:<user id>`), which mirrors a collection's
subject field (storage.collections.SUBJECT_FIELDS)."""

from __future__ import annotations

TKEY = "tkey"
TUSER = "tuser"


def scoped_key(tenant_id: str, *parts: str) -> str:
    if not tenant_id or any(not part for part in parts):
        raise ValueError("scoped keys need a tenant id and non-empty parts")
    return ":".join((tenant_id, *parts))


def person_key(tenant_id: str, user_id: str) -> str:
    return f"{tenant_id}:{user_id}"
