"""Tenant admins in Teams: the admin home card and its decisions.

Our customers' admins never get a shell on our servers, so what the controller decides (approve
or reject data-subject requests, review who holds admin rights) happens here. Every admin
action re-checks the tenant record's admin list and is audit-logged by the privacy layer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.cards import Card, card_of, submit
from bot.i18n import t
from privacy.access import last_review, review_overdue
from privacy.dsr import DsrRequest, DsrStatus, list_requests
from storage.repositories import TenantRecord, TenantStore

SYNC_STATE_KEY = "graph"  # graph_sync's state document (graph_sync/state.py)
MAX_ROWS = 8


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


async def home_card(store: TenantStore, tenant: TenantRecord, locale: str) -> Card:
    now = datetime.now(UTC)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": t(locale, "admin_title", tenant=tenant.name),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": t(locale, "admin_sync"), "weight": "Bolder"},
    ]
    state = await store.sync_state.get(SYNC_STATE_KEY)
    last = (state or {}).get("last_run") or {}
    if last:
        text = t(
            locale,
            "admin_sync_last",
            when=_when(last.get("finished_at") or last.get("started_at")),
            status=last.get("status", "?"),
            created=last.get("created", 0),
            updated=last.get("updated", 0),
            removed=last.get("removed", 0),
        )
    else:
        text = t(locale, "admin_sync_never")
    body.append({"type": "TextBlock", "text": text, "wrap": True})

    open_requests = [r for r in await list_requests(store, now=now) if r.status is DsrStatus.OPEN]
    body.append(
        {
            "type": "TextBlock",
            "text": t(locale, "admin_requests", count=len(open_requests)),
            "weight": "Bolder",
            "spacing": "Medium",
        }
    )
    if not open_requests:
        body.append({"type": "TextBlock", "text": t(locale, "admin_requests_none")})
    for request in open_requests[:MAX_ROWS]:
        body += _request_rows(request, locale, now)
    if open_requests:
        body.append(
            {
                "type": "Input.Text",
                "id": "reason",
                "label": t(locale, "admin_reason"),
                "maxLength": 300,
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "text": t(locale, "admin_removal", mode=tenant.removal_mode),
            "spacing": "Medium",
            "wrap": True,
        }
    )
    review = await last_review(store)
    if review is None:
        body.append({"type": "TextBlock", "text": t(locale, "admin_review_never"), "wrap": True})
    else:
        body.append(
            {
                "type": "TextBlock",
                "text": t(
                    locale, "admin_review_last", when=_when(review.reviewed_at),
                    reviewer=review.reviewer,
                ),
                "wrap": True,
            }
        )  # fmt: skip
    if review_overdue(review, now):
        body.append(
            {"type": "TextBlock", "text": t(locale, "admin_review_overdue"), "color": "Attention"}
        )
    return card_of(body, [submit(t(locale, "admin_review_button"), "admin_review")])


def _request_rows(request: DsrRequest, locale: str, now: datetime) -> list[dict[str, Any]]:
    details = (request.details or "").replace("\n", " ")[:80]
    row = t(
        locale,
        "admin_request_row",
        id=request.id,
        type=request.type.value,
        due=request.due_at.strftime("%Y-%m-%d"),
        overdue=t(locale, "admin_overdue") if request.overdue(now) else "",
        details=details or "-",
    )
    return [
        {"type": "TextBlock", "text": row, "wrap": True, "spacing": "Small"},
        {
            "type": "ActionSet",
            "actions": [
                submit(t(locale, "admin_approve", id=request.id), "dsr_approve", id=request.id),
                submit(t(locale, "admin_reject", id=request.id), "dsr_reject", id=request.id),
            ],
        },
    ]
