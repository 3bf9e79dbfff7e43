"""Rectification of directory data (GDPR Art. 16, KVKK Art. 11): a user proposes a value for one
field of their profile; once a tenant admin approves, the value is kept as an *override* with its
provenance. Overrides live in their own profile field, which Graph sync never writes, so they
survive later syncs and are shown on top of the synced value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from privacy.dsr import DsrError, DsrRequest, DsrType, get_request, request_rectification
from storage.repositories import TenantStore

CORRECTABLE = ("job_title", "department", "office_location", "given_name", "surname")
MAX_VALUE = 120


@dataclass(frozen=True)
class Proposal:
    field: str
    value: str

    def details(self) -> str:
        return json.dumps({"field": self.field, "value": self.value}, ensure_ascii=False)

    @classmethod
    def from_request(cls, request: DsrRequest) -> Proposal:
        try:
            data = json.loads(request.details or "")
            return cls(str(data["field"]), str(data["value"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise DsrError(f"request {request.id} does not name a field and a value") from exc


def validate(field: str, value: str) -> Proposal:
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if field not in CORRECTABLE:
        raise DsrError(
            f"{field!r} cannot be corrected here; choose one of {', '.join(CORRECTABLE)}"
        )
    if not cleaned:
        raise DsrError("the corrected value is empty")
    if len(cleaned) > MAX_VALUE:
        raise DsrError(f"the corrected value is longer than {MAX_VALUE} characters")
    return Proposal(field, cleaned)


async def propose(
    store: TenantStore, user_id: str, field: str, value: str, *, now: datetime | None = None
) -> DsrRequest:
    proposal = validate(field, value)
    return await request_rectification(store, user_id, proposal.details(), now=now)


async def apply_override(
    store: TenantStore, request_id: str, *, now: datetime | None = None
) -> Proposal:
    """Store an approved correction on the requester's profile (idempotent)."""
    request = await get_request(store, request_id)
    if request.type is not DsrType.RECTIFICATION:
        raise DsrError(f"request {request_id} is not a rectification")
    proposal = Proposal.from_request(request)
    at = now or datetime.now(UTC)
    profiles = store.profiles
    if await profiles.get(request.user_id) is None:
        raise DsrError(f"{request.user_id} has no directory profile to correct")
    await profiles.set_override(
        request.user_id,
        proposal.field,
        {"value": proposal.value, "approved_at": at, "request_id": request.id},
    )
    return proposal
