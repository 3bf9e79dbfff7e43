"""Tenant-scoped document keys: `<tenant_id>:<part>[:<part>...]`, stored as `_id` and `tkey`."""

from __future__ import annotations

TKEY = "tkey"


def scoped_key(tenant_id: str, *parts: str) -> str:
    if not tenant_id or any(not part for part in parts):
        raise ValueError("scoped keys need a tenant id and non-empty parts")
    return ":".join((tenant_id, *parts))
