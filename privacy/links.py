"""Signed, single-use, expiring download links for prepared exports.

Why in the database rather than files under the data directory: bot replicas behind a load
balancer share nothing but MongoDB, so the replica that serves the link is rarely the one that
built the export; and the retention sweep and erasure then handle exports like any other store.

A link is `/api/v1/exports/<tenant>.<export id>.<expiry>.<signature>`. The signature is an
HMAC-SHA-256 over tenant, export id, expiry *and the user id*, under the service's signing key;
the user id is not in the URL (it would end up in proxies' access logs), it is read from the
stored export, so a link only ever opens the export of the user it was made for. The first
download claims the export atomically and removes the file; the empty record stays until its
expiry so a second attempt is told "already used" rather than "unknown".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.errors import PrivacyError
from storage.collections import Coll
from storage.repositories import TenantStore

LINK_PREFIX = "/api/v1/exports/"
MAX_TTL = timedelta(hours=24)
MAX_BYTES = 15 * 1024 * 1024  # a MongoDB document holds 16 MB
_TOKEN = re.compile(
    r"^(?P<tenant>[0-9a-fA-F-]{8,64})\.(?P<export>[A-Za-z0-9_-]{16,64})"
    r"\.(?P<exp>[0-9]{1,12})\.(?P<sig>[A-Za-z0-9_-]{43})$"
)


class LinkRefused(PrivacyError):
    """The link cannot be served; `status` is 404 (unknown, tampered) or 410 (expired,
    used), `reason` a short sentence safe to show."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Download:
    zip_bytes: bytes
    filename: str
    tenant_id: str
    user_id: str


def _sign(key: bytes, tenant_id: str, export_id: str, user_id: str, exp: int) -> str:
    message = "\x00".join(("juno-export-link/v1", tenant_id, export_id, user_id, str(exp)))
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


async def create_export_link(
    store: TenantStore,
    user_id: str,
    zip_bytes: bytes,
    *,
    key: bytes,
    filename: str = "juno-export.zip",
    now: datetime | None = None,
    ttl: timedelta = MAX_TTL,
) -> str:
    """Store the export and return the path of its download link (prefix it with the public
    base URL, JUNO_PUBLIC_BASE_URL). The link expires after `ttl`, at most 24 hours."""
    if not key:
        raise ValueError("a signing key is required")
    if len(zip_bytes) > MAX_BYTES:
        raise ValueError(f"the export is too large to store ({len(zip_bytes)} bytes)")
    at = now or datetime.now(UTC)
    expires = at + min(ttl, MAX_TTL)
    exp = int(expires.timestamp())
    export_id = secrets.token_urlsafe(18)
    await store.exports.put_once(
        export_id,
        {
            "user_id": user_id,
            "zip": zip_bytes,
            "filename": filename,
            "size": len(zip_bytes),
            "created_at": at,
            "expires_at": datetime.fromtimestamp(exp, UTC),
        },
    )
    signature = _sign(key, store.tenant_id, export_id, user_id, exp)
    return f"{LINK_PREFIX}{store.tenant_id}.{export_id}.{exp}.{signature}"


async def redeem_export_link(
    db: AsyncDatabase[dict[str, Any]],
    token: str,
    *,
    key: bytes,
    now: datetime | None = None,
    owner: tuple[str, str] | None = None,
) -> Download:
    """Serve a link once. Raises LinkRefused for unknown, tampered, expired or used links, and
    (403) when `owner` = (tenant id, user id) is given and is not whose export it is: checked
    before the export is claimed, so a stranger presenting it does not use it up."""
    parsed = _TOKEN.match(token)
    if parsed is None:
        raise LinkRefused(404, "unknown link")
    tenant_id, export_id = parsed["tenant"].lower(), parsed["export"]
    if owner is not None and owner[0] != tenant_id:
        raise LinkRefused(403, "this export belongs to someone else")
    exp = int(parsed["exp"])
    store = TenantStore(db, tenant_id)
    doc = await store.exports.get(export_id)
    if doc is None:
        raise LinkRefused(404, "unknown link")
    user_id = str(doc["user_id"])
    expected = _sign(key, tenant_id, export_id, user_id, exp)
    at = now or datetime.now(UTC)
    coll = store.collections[Coll.EXPORTS]
    if not hmac.compare_digest(expected, parsed["sig"]):
        await _audit(store, user_id, "refused: bad signature", at)
        raise LinkRefused(404, "invalid link")
    if owner is not None and owner[1] != user_id:
        await _audit(store, user_id, "refused: presented by someone else", at)
        raise LinkRefused(403, "this export belongs to someone else")
    if at.timestamp() >= min(exp, doc["expires_at"].timestamp()):
        await coll.update_one({"_id": coll.key(export_id)}, {"$unset": {"zip": ""}})
        await _audit(store, user_id, "refused: expired", at)
        raise LinkRefused(410, "this link has expired; ask JUNO for a new export")
    claimed = await coll.update_one(
        {"_id": coll.key(export_id), "used_at": {"$exists": False}},
        {"$set": {"used_at": at}, "$unset": {"zip": ""}},
    )
    if claimed == 0 or "zip" not in doc:
        await _audit(store, user_id, "refused: already used", at)
        raise LinkRefused(410, "this link was already used; ask JUNO for a new export")
    await _audit(store, user_id, "served", at)
    return Download(bytes(doc["zip"]), str(doc["filename"]), tenant_id, user_id)


async def _audit(store: TenantStore, user_id: str, outcome: str, at: datetime) -> None:
    await store.audit_log.record(
        actor=user_id,
        action="export_download",
        target="link",
        outcome=outcome,
        at=at,
    )
