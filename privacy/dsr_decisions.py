"""What deciding a data-subject request does: approving an erasure performs it (a resumable
run: approving again after a crash finishes it) and completes the request; approving a
correction proposed in the bot applies it to the profile; rejecting or completing closes it.
Every function returns the request so the caller (the bot) can tell the requester the outcome.

Apart from the queue (privacy.dsr) because it builds on what the requests are about
(privacy.rectification, privacy.erasure), which themselves build on the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from privacy.dsr import CLOSED, DsrError, DsrRequest, DsrStatus, DsrType, get_request
from privacy.erasure import erase_user
from privacy.rectification import Proposal, apply_override
from privacy.removal_modes import DEFAULT_REMOVAL_MODE, RemovalMode, parse_mode
from privacy.runs import Hook
from privacy.strategies import Pseudonymizer
from storage.collections import Coll
from storage.repositories import TenantStore


async def _set(store: TenantStore, request: DsrRequest, fields: Mapping[str, Any]) -> DsrRequest:
    coll = store.collections[Coll.DSR_REQUESTS]
    await coll.update_one({"_id": coll.key(request.id)}, {"$set": dict(fields)})
    doc = await store.dsr_requests.get(request.id)
    fresh = DsrRequest.from_doc(request.id, doc or {})
    # After an erasure the stored user id is a pseudonym; the caller still needs to know who
    # asked (to tell them), so the returned request keeps the id it was loaded with.
    return replace(fresh, user_id=request.user_id)


async def _audit(store: TenantStore, actor: str, request: DsrRequest, outcome: str) -> None:
    await store.audit_log.record(
        actor=actor,
        action=f"dsr_{request.type.value}",
        target=f"dsr:{request.id}",
        outcome=outcome,
    )


Notify = Callable[[DsrRequest], Awaitable[None]]


def is_structured_proposal(request: DsrRequest) -> bool:
    try:
        Proposal.from_request(request)
    except DsrError:
        return False
    return True


async def approve(
    store: TenantStore,
    request_id: str,
    *,
    decided_by: str,
    pseudonym: Pseudonymizer | None,
    mode: RemovalMode | None = None,
    before_erasure: Notify | None = None,
    now: datetime | None = None,
    hook: Hook | None = None,
) -> DsrRequest:
    """Approve a request. An erasure is performed now (under `mode`, by default the tenant's
    removal mode, and its overrides) and the request completed; approving an erasure that
    was interrupted finishes it. `before_erasure` runs first, while the user's conversation
    reference still exists, so the bot can tell them their data is being erased. `pseudonym`
    may be None for other kinds of request."""
    request = await get_request(store, request_id)
    at = now or datetime.now(UTC)
    if request.status in CLOSED:
        raise DsrError(f"request {request_id} is already {request.status.value}")
    if request.type is DsrType.ERASURE and pseudonym is None:
        raise DsrError("approving an erasure needs the pseudonym key")
    if request.status is DsrStatus.OPEN:
        request = await _set(
            store,
            request,
            {"status": DsrStatus.APPROVED.value, "decided_at": at, "decided_by": decided_by},
        )
        await _audit(store, decided_by, request, "approved")
    if request.type is DsrType.RECTIFICATION and is_structured_proposal(request):
        # A field + value proposed in the bot becomes an override on the profile
        # (privacy/rectification.py); a free-text request is completed by hand.
        await apply_override(store, request.id, now=at)
        request = await _set(
            store,
            request,
            {"status": DsrStatus.COMPLETED.value, "closed_at": at, "note": "correction applied"},
        )
        await _audit(store, decided_by, request, "completed")
        return request
    if request.type is not DsrType.ERASURE:
        return request
    if before_erasure is not None:
        await before_erasure(request)
    assert pseudonym is not None  # checked above, before anything changed
    if mode is None:
        record = await store.own_record.get()
        mode = parse_mode(record.removal_mode) if record else DEFAULT_REMOVAL_MODE
    await erase_user(
        store,
        request.user_id,
        mode,
        reason=f"data-subject erasure request {request.id}",
        pseudonym=pseudonym,
        hook=hook,
        now=at,
        suppress=True,  # they may still be in the directory: the next sync must not undo it
    )
    request = await _set(store, request, {"status": DsrStatus.COMPLETED.value, "closed_at": at})
    await _audit(store, decided_by, request, "completed")
    return request


async def reject(
    store: TenantStore,
    request_id: str,
    *,
    decided_by: str,
    reason: str,
    now: datetime | None = None,
) -> DsrRequest:
    request = await get_request(store, request_id)
    if request.status is not DsrStatus.OPEN:
        raise DsrError(f"only open requests can be rejected; {request_id} is {request.status}")
    if not reason.strip():
        raise DsrError("give the requester a reason for the rejection")
    at = now or datetime.now(UTC)
    request = await _set(
        store,
        request,
        {
            "status": DsrStatus.REJECTED.value,
            "decided_at": at,
            "decided_by": decided_by,
            "reason": reason.strip(),
            "closed_at": at,
        },
    )
    await _audit(store, decided_by, request, "rejected")
    return request


async def complete(
    store: TenantStore,
    request_id: str,
    *,
    decided_by: str,
    note: str | None = None,
    now: datetime | None = None,
) -> DsrRequest:
    """Close an access or rectification request that was handled (an erasure completes by
    being approved, which performs it)."""
    request = await get_request(store, request_id)
    if request.type is DsrType.ERASURE:
        raise DsrError("an erasure request is completed by approving it, which erases")
    if request.status in CLOSED:
        raise DsrError(f"request {request_id} is already {request.status.value}")
    at = now or datetime.now(UTC)
    fields: dict[str, Any] = {"status": DsrStatus.COMPLETED.value, "closed_at": at}
    if request.decided_at is None:
        fields |= {"decided_at": at, "decided_by": decided_by}
    if note:
        fields["note"] = note.strip()
    request = await _set(store, request, fields)
    await _audit(store, decided_by, request, "completed")
    return request
