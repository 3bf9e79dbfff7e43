"""The data-subject request queue: access/export, rectification and erasure requests, with
their statutory deadline, decided by the tenant's admins (in Teams) or an operator (`juno dsr`).

Deadline: 30 days under KVKK Art. 13, "one month" under GDPR Art. 12(3). A month from 31
January ends on 28/29 February (EU Regulation 1182/71, Art. 3(2)(c)), which is sooner than 30
days, so the due date is whichever of the two comes first.

Lifecycle: open -> approved -> completed, or open -> rejected. This module holds the requests
themselves; what deciding one does (erasing, applying a correction) is privacy.dsr_decisions,
which builds on both this queue and privacy.rectification.
"""

from __future__ import annotations

import calendar
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from privacy.errors import PrivacyError
from storage.repositories import TenantStore

DEADLINE_DAYS = 30


class DsrType(StrEnum):
    ACCESS = "access"  # access and export (Art. 15, 20)
    RECTIFICATION = "rectification"
    ERASURE = "erasure"


class DsrStatus(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    COMPLETED = "completed"


CLOSED = (DsrStatus.REJECTED, DsrStatus.COMPLETED)


class DsrError(PrivacyError):
    """A request that does not exist or cannot make the asked transition; one line."""


def add_one_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def due_date(created: datetime) -> datetime:
    return min(created + timedelta(days=DEADLINE_DAYS), add_one_month(created))


@dataclass(frozen=True)
class DsrRequest:
    id: str
    user_id: str
    type: DsrType
    status: DsrStatus
    created_at: datetime
    due_at: datetime
    channel: str
    details: str | None = None
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str | None = None
    note: str | None = None
    closed_at: datetime | None = None
    run_id: str | None = None

    def overdue(self, now: datetime | None = None) -> bool:
        at = now or datetime.now(UTC)
        return self.status not in CLOSED and self.due_at < at

    def days_left(self, now: datetime | None = None) -> int:
        at = now or datetime.now(UTC)
        return (self.due_at - at).days

    @classmethod
    def from_doc(cls, request_id: str, doc: Mapping[str, Any]) -> DsrRequest:
        return cls(
            id=request_id,
            user_id=str(doc.get("user_id")),
            type=DsrType(doc["type"]),
            status=DsrStatus(doc["status"]),
            created_at=doc["created_at"],
            due_at=doc["due_at"],
            channel=doc.get("channel") or "bot",
            details=doc.get("details"),
            decided_at=doc.get("decided_at"),
            decided_by=doc.get("decided_by"),
            reason=doc.get("reason"),
            note=doc.get("note"),
            closed_at=doc.get("closed_at"),
            run_id=doc.get("run_id"),
        )

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "id": self.id,
            "user_id": self.user_id,
            "type": self.type.value,
            "status": self.status.value,
            "channel": self.channel,
            "details": self.details,
            "created_at": iso(self.created_at),
            "due_at": iso(self.due_at),
            "overdue": self.overdue(now),
            "decided_at": iso(self.decided_at),
            "decided_by": self.decided_by,
            "reason": self.reason,
            "note": self.note,
            "closed_at": iso(self.closed_at),
        }


def parse_type(value: str) -> DsrType:
    try:
        return DsrType(value)
    except ValueError:
        names = ", ".join(t.value for t in DsrType)
        raise DsrError(f"unknown request type {value!r}; choose one of: {names}") from None


async def open_request(
    store: TenantStore,
    user_id: str,
    kind: DsrType,
    *,
    details: str | None = None,
    channel: str = "bot",
    now: datetime | None = None,
) -> DsrRequest:
    """Record a request. Asking again while the same kind is still open returns that one."""
    if not user_id:
        raise DsrError("a request needs the requester's user id")
    for existing in await requests_of(store, user_id):
        if existing.type is kind and existing.status not in CLOSED:
            return existing
    at = now or datetime.now(UTC)
    fields = {
        "user_id": user_id,
        "type": kind.value,
        "status": DsrStatus.OPEN.value,
        "details": details,
        "channel": channel,
        "created_at": at,
        "due_at": due_date(at),
    }
    while True:
        request_id = "r" + secrets.token_hex(4)
        if await store.dsr_requests.put_once(request_id, fields):
            return DsrRequest.from_doc(request_id, fields)


async def request_erasure(
    store: TenantStore,
    user_id: str,
    *,
    details: str | None = None,
    channel: str = "bot",
    now: datetime | None = None,
) -> DsrRequest:
    return await open_request(
        store, user_id, DsrType.ERASURE, details=details, channel=channel, now=now
    )


async def request_rectification(
    store: TenantStore,
    user_id: str,
    details: str,
    *,
    channel: str = "bot",
    now: datetime | None = None,
) -> DsrRequest:
    if not details.strip():
        raise DsrError("say what should be corrected")
    return await open_request(
        store, user_id, DsrType.RECTIFICATION, details=details.strip(), channel=channel, now=now
    )


async def get_request(store: TenantStore, request_id: str) -> DsrRequest:
    doc = await store.dsr_requests.get(request_id)
    if doc is None:
        raise DsrError(f"no request {request_id!r} in tenant {store.tenant_id}")
    return DsrRequest.from_doc(request_id, doc)


def _id_of(store: TenantStore, doc: Mapping[str, Any]) -> str:
    return str(doc["_id"])[len(store.tenant_id) + 1 :]


async def requests_of(store: TenantStore, user_id: str) -> list[DsrRequest]:
    docs = await store.dsr_requests.find({"user_id": user_id})
    found = [DsrRequest.from_doc(_id_of(store, d), d) for d in docs]
    return sorted(found, key=lambda r: r.created_at, reverse=True)


async def list_requests(
    store: TenantStore, *, status: DsrStatus | None = None, now: datetime | None = None
) -> list[DsrRequest]:
    """Overdue requests first (most overdue on top), then the rest by due date."""
    at = now or datetime.now(UTC)
    docs = await store.dsr_requests.find({"status": status.value} if status else {})
    found = [DsrRequest.from_doc(_id_of(store, d), d) for d in docs]
    return sorted(found, key=lambda r: (not r.overdue(at), r.status in CLOSED, r.due_at))
