"""Tenant admins in Teams: the cards of the admin desk.

Our customers' admins never get a shell on our servers, so what the controller decides or does
(requests, removal mode, access reviews, notice versions, the record of processing, getting all
their data back) is on these cards. The decisions themselves are in `bot.flows.admin`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from bot.cards import processor
from bot.cards.blocks import Card, card_of, submit
from bot.cards.blocks import buttons as _buttons
from bot.cards.blocks import heading as _heading
from bot.cards.blocks import text as _text
from bot.cards.people import FIELD_LABELS
from bot.i18n import t
from privacy.access import Review, review_overdue
from privacy.catalogs import catalog
from privacy.consent import Kind, LegalDocument
from privacy.datamap import DATA_MAP, LEGAL, TENANT_DAYS_MAX, Dataset, Legal
from privacy.dsr import DsrError, DsrRequest, DsrStatus, DsrType
from privacy.facts import basis_facts, missing_controller, texts
from privacy.incidents import Incident
from privacy.mode_effects import mode_effects, mode_name
from privacy.rectification import Proposal
from privacy.removal_modes import RemovalMode
from privacy.ropa import record_for_tenant
from privacy.security_summary import Deployment
from storage.repositories import TenantRecord

MAX_ROWS = 8


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else str(value)


def admin_consent_url(
    authority_host: str, tenant_id: str, client_id: str, redirect_uri: str | None = None
) -> str:
    """Entra's admin-consent link: a Global Administrator of `tenant_id` opens it to grant our
    Graph app its application permission (User.Read.All)."""
    query = {"client_id": client_id}
    if redirect_uri:
        query["redirect_uri"] = redirect_uri
    return f"{authority_host.rstrip('/')}/{tenant_id}/adminconsent?{urlencode(query)}"


def consent_url(tenant: TenantRecord, authority_host: str) -> str | None:
    if tenant.graph is None:
        return None
    return admin_consent_url(authority_host, tenant.tenant_id, tenant.graph.client_id)


@dataclass(frozen=True)
class DeskFacts:
    """What the admin home card shows, read in one place (bot.flows.admin_home) so the card
    is built from data alone."""

    tenant: TenantRecord
    now: datetime
    sync_state: dict[str, Any]
    # The admins' stored conversations (first_at, updated_at): who can be told of requests.
    reached: list[dict[str, Any]]
    subscription: dict[str, Any] | None
    pending: list[DsrRequest]
    suppressed: int
    incidents: list[Incident]
    review: Review | None
    documents: dict[Kind, LegalDocument]
    # A person a record names by id, as the desk shows them: their directory name, or what the
    # record holds (an operator's name); None once only a pseudonym is left.
    names: dict[str, str | None] = field(default_factory=dict)

    def name(self, who: str | None, locale: str) -> str:
        return (self.names.get(who) if who else None) or t(locale, "admin_erased_person")


def home_card(
    facts: DeskFacts,
    locale: str,
    *,
    authority_host: str,
    deployment: Deployment | None = None,
) -> Card:
    tenant, now, state = facts.tenant, facts.now, facts.sync_state
    body: list[dict[str, Any]] = [
        _text(t(locale, "admin_title", tenant=tenant.name), weight="Bolder", size="Medium")
    ]
    body += _onboarding(facts, locale, consent_url(tenant, authority_host))
    body += _sync(tenant, state, locale, now)
    body += _requests(facts, locale)
    body += _suppressions(facts.suppressed, locale)
    body += processor.incident_rows(facts.incidents, locale, now)
    body += [
        _heading(t(locale, "admin_removal_heading")),
        _text(
            t(
                locale,
                "admin_removal",
                mode=mode_name(tenant.removal_mode, locale, capitalized=True),
            )
        ),
        _removal_effects(tenant.removal_mode, locale),
        _buttons(submit(t(locale, "admin_removal_button"), "admin_removal", inputs=False)),
    ]
    body += _review(facts, locale)
    documents = facts.documents
    body += [
        _heading(t(locale, "admin_documents")),
        _text(
            t(
                locale,
                "admin_documents_versions",
                notice=documents[Kind.NOTICE].version,
                eula=documents[Kind.EULA].version,
            )
        ),
        _buttons(submit(t(locale, "admin_publish_button"), "admin_publish", inputs=False)),
        *controller_summary(tenant, locale),
        _heading(t(locale, "admin_ropa")),
        _buttons(
            submit(t(locale, "admin_ropa_show"), "admin_ropa", inputs=False),
            submit(t(locale, "admin_ropa_file"), "admin_ropa_file", inputs=False),
        ),
        _heading(t(locale, "admin_archive")),
        _text(t(locale, "admin_archive_text")),
        _buttons(submit(t(locale, "admin_archive_button"), "admin_archive", inputs=False)),
    ]
    if deployment is not None:
        body += processor.subprocessor_rows(deployment.subprocessors, locale)
        body += processor.security_rows(locale)
    return card_of(body)


def _onboarding(facts: DeskFacts, locale: str, grant_url: str | None) -> list[dict[str, Any]]:
    """Setting up: does the directory permission work, and can the admins be reached (only
    admins who have talked to JUNO get told about new requests)."""
    tenant = facts.tenant
    first_sync = facts.sync_state.get("first_success_at")
    sync_line = (
        t(locale, "admin_setup_synced", when=_when(first_sync))
        if first_sync
        else t(locale, "admin_setup_not_synced")
    )
    firsts = [d.get("first_at") or d.get("updated_at") for d in facts.reached]
    first = min((f for f in firsts if isinstance(f, datetime)), default=None)
    reach_line = t(
        locale,
        "admin_setup_reachable",
        reached=len(facts.reached),
        admins=len(tenant.admin_ids),
        since=_when(first) if first else "-",
    )
    rows = [_heading(t(locale, "admin_setup")), _text(sync_line)]
    if tenant.graph is not None:  # which app holds which permission (docs/install.md)
        rows.append(_text(t(locale, "admin_setup_app", client_id=tenant.graph.client_id)))
    if not first_sync and grant_url:
        grant = {
            "type": "Action.OpenUrl",
            "title": t(locale, "admin_setup_grant"),
            "url": grant_url,
        }
        rows.append(_buttons(grant))
    return [*rows, _text(reach_line), _notifications(facts, locale)]


def _notifications(facts: DeskFacts, locale: str) -> dict[str, Any]:
    """Whether Graph tells JUNO of directory changes (near real time) or JUNO only polls."""
    doc = facts.subscription
    status = str((doc or {}).get("status") or "none")
    minutes = facts.tenant.sync_interval_minutes
    expires = (doc or {}).get("expires_at")
    healthy = isinstance(expires, datetime) and expires > facts.now
    if doc is not None and status == "active" and healthy:
        last = doc.get("last_notification_at")
        text = t(
            locale,
            "admin_notify_active",
            expires=_when(expires),
            last=_when(last) if last else t(locale, "admin_notify_never"),
        )
        return _text(text)
    if doc is None or status in ("none", "deleted"):
        return _text(t(locale, "admin_notify_off", minutes=minutes))
    error = str(doc.get("last_error") or "")[:200]
    return _text(
        t(locale, "admin_notify_trouble", status=status, minutes=minutes, error=error),
        color="Attention",
    )


def _sync(
    tenant: TenantRecord, state: dict[str, Any], locale: str, now: datetime
) -> list[dict[str, Any]]:
    last = state.get("last_run") or {}
    rows = [_heading(t(locale, "admin_sync"))]
    if last:
        finished = last.get("finished_at") or last.get("started_at")
        rows.append(_text(sync_summary(last, locale)))
        if isinstance(finished, datetime):
            due = max(finished + timedelta(minutes=tenant.sync_interval_minutes), now)
            rows.append(_text(t(locale, "admin_sync_next", when=_when(due))))
    else:
        rows.append(_text(t(locale, "admin_sync_never")))
    rows.append(_buttons(submit(t(locale, "admin_sync_button"), "admin_sync", inputs=False)))
    return rows


def _label(locale: str, prefix: str, value: str) -> str:
    """A stored code ("ok", "access", "approved") in the reader's language; an unknown code
    (a newer version wrote it) is shown as stored rather than failing the card."""
    try:
        return t(locale, f"{prefix}_{value}")
    except KeyError:
        return value


def sync_summary(last: dict[str, Any], locale: str) -> str:
    return t(
        locale,
        "admin_sync_last",
        when=_when(last.get("finished_at") or last.get("started_at")),
        status=_label(locale, "sync_status", str(last.get("status", "?"))),
        created=last.get("created", 0),
        updated=last.get("updated", 0),
        removed=last.get("removed", 0),
    )


def _requests(facts: DeskFacts, locale: str) -> list[dict[str, Any]]:
    """Open requests, and approved ones not finished yet (an access request waiting for its
    answer, an erasure a crash cut short), each with who asked and a way to move it on."""
    pending = facts.pending
    rows = [_heading(t(locale, "admin_requests", count=len(pending)))]
    if not pending:
        rows.append(_text(t(locale, "admin_requests_none")))
    for request in pending[:MAX_ROWS]:
        rows += _request_rows(facts, request, locale)
    if any(r.status is DsrStatus.OPEN for r in pending):
        rows.append(
            {
                "type": "Input.Text",
                "id": "reason",
                "label": t(locale, "admin_reason"),
                "maxLength": 300,
            }
        )
    return rows


def _suppressions(held: int, locale: str) -> list[dict[str, Any]]:
    """People erased on request stay out of the directory sync until the controller lifts
    the suppression; shown only when there is any."""
    if not held:
        return []
    return [
        _heading(t(locale, "admin_suppressions", count=held)),
        _text(t(locale, "admin_suppressions_text")),
        {
            "type": "Input.Text",
            "id": "object_id",
            "label": t(locale, "admin_suppression_id"),
            "maxLength": 36,
        },
        _buttons(submit(t(locale, "admin_suppression_lift"), "admin_lift_suppression")),
    ]


def _review(facts: DeskFacts, locale: str) -> list[dict[str, Any]]:
    review = facts.review
    rows = [_heading(t(locale, "admin_review_heading"))]
    if review is None:
        rows.append(_text(t(locale, "admin_review_never")))
    else:
        rows.append(
            _text(
                t(
                    locale,
                    "admin_review_last",
                    when=_when(review.reviewed_at),
                    reviewer=facts.name(review.reviewer, locale),
                )
            )
        )
    if review_overdue(review, facts.now):
        rows.append(_text(t(locale, "admin_review_overdue"), color="Attention"))
    rows.append(_buttons(submit(t(locale, "admin_review_button"), "admin_review", inputs=False)))
    return rows


def _details(request: DsrRequest, locale: str) -> str:
    """What the request asks, readably: a proposed correction as "Department → new value"."""
    if request.type is DsrType.RECTIFICATION:
        try:
            proposal = Proposal.from_request(request)
        except DsrError:
            pass  # a free-text request: shown as written
        else:
            label = t(locale, FIELD_LABELS.get(proposal.field, proposal.field))
            return t(locale, "admin_request_change", field=label, value=proposal.value)[:120]
    return (request.details or "").replace("\n", " ")[:80]


def _request_rows(facts: DeskFacts, request: DsrRequest, locale: str) -> list[dict[str, Any]]:
    details = _details(request, locale)
    row = t(
        locale,
        "admin_request_row",
        id=request.id,
        who=facts.name(request.user_id, locale),
        type=t(locale, f"dsr_type_{request.type.value}"),
        status=t(locale, f"dsr_status_{request.status.value}"),
        due=request.due_at.strftime("%Y-%m-%d"),
        overdue=t(locale, "admin_overdue") if request.overdue(facts.now) else "",
        details=details or "-",
    )
    # Only "Reject" takes the card's reason field.
    if request.status is DsrStatus.OPEN:
        buttons = [
            submit(
                t(locale, "admin_approve", id=request.id),
                "dsr_approve",
                inputs=False,
                id=request.id,
            ),
            submit(t(locale, "admin_reject", id=request.id), "dsr_reject", id=request.id),
        ]
    elif request.type is DsrType.ERASURE:  # approved, interrupted: approving again finishes it
        buttons = [
            submit(
                t(locale, "admin_finish_erasure", id=request.id),
                "dsr_approve",
                inputs=False,
                id=request.id,
            )
        ]
    else:
        buttons = [
            submit(
                t(locale, "admin_complete", id=request.id),
                "dsr_complete",
                inputs=False,
                id=request.id,
            )
        ]
    return [_text(row, spacing="Small"), _buttons(*buttons)]


def erasure_word(request: DsrRequest, name: str | None) -> str:
    """What the admin types to confirm an erasure: the requester's name while the directory
    still has it, else the request id."""
    return name or request.id


def erasure_card(request: DsrRequest, name: str | None, tenant: TenantRecord, locale: str) -> Card:
    """Approving an erasure destroys data for good: the admin types the person's name (or
    the request id), compared folded, as for the removal mode."""
    expected = erasure_word(request, name)
    body = [
        _text(
            t(locale, "admin_erasure_title", name=name or t(locale, "admin_erased_person")),
            weight="Bolder",
            size="Medium",
        ),
        _text(
            t(
                locale,
                "admin_erasure_text",
                id=request.id,
                due=request.due_at.strftime("%Y-%m-%d"),
                mode=mode_name(tenant.removal_mode, locale, capitalized=True),
            )
        ),
        {
            "type": "Input.Text",
            "id": "confirm",
            "label": t(locale, "admin_erasure_confirm", expected=expected),
            "maxLength": 200,
        },
    ]
    return card_of(body, [submit(t(locale, "admin_erasure_apply"), "dsr_approve", id=request.id)])


def _removal_effects(mode: str, locale: str) -> dict[str, Any]:
    """What the mode does store by store, from the data map (never a hand-written summary)."""
    items = [
        _text(f"{what}: {', '.join(stores)}", size="Small", isSubtle=True, spacing="None")
        for what, stores in mode_effects(RemovalMode(mode), locale)
    ]
    return {"type": "Container", "items": items}


def removal_card(tenant: TenantRecord, locale: str) -> Card:
    """Changing what removing a person does needs the organization's name typed out: it
    decides what happens to every departing employee's data from then on."""
    choices = [
        {"title": mode_name(m.value, locale, capitalized=True), "value": m.value}
        for m in RemovalMode
    ]
    body = [
        _text(t(locale, "admin_removal_title"), weight="Bolder", size="Medium"),
        _text(
            t(
                locale,
                "admin_removal",
                mode=mode_name(tenant.removal_mode, locale, capitalized=True),
            )
        ),
        _removal_effects(tenant.removal_mode, locale),
        {
            "type": "Input.ChoiceSet",
            "id": "mode",
            "label": t(locale, "admin_removal_choice"),
            "style": "expanded",
            "value": tenant.removal_mode,
            "choices": choices,
        },
        {
            "type": "Input.Text",
            "id": "confirm",
            "label": t(locale, "admin_removal_confirm", name=tenant.name),
            "maxLength": 200,
        },
    ]
    return card_of(body, [submit(t(locale, "admin_removal_apply"), "admin_removal_set")])


def publish_card(locale: str) -> Card:
    body: list[dict[str, Any]] = [
        _text(t(locale, "admin_publish_title"), weight="Bolder", size="Medium"),
        _text(t(locale, "admin_publish_help")),
        {
            "type": "Input.ChoiceSet",
            "id": "kind",
            "label": t(locale, "admin_publish_kind"),
            "style": "expanded",
            "value": Kind.NOTICE.value,
            "choices": [
                {"title": t(locale, "admin_publish_notice"), "value": Kind.NOTICE.value},
                {"title": t(locale, "admin_publish_eula"), "value": Kind.EULA.value},
            ],
        },
    ]
    for loc in ("tr", "en"):
        body.append(
            {
                "type": "Input.Text",
                "id": f"text_{loc}",
                "label": t(locale, f"admin_publish_text_{loc}"),
                "isMultiline": True,
                "maxLength": 20_000,
            }
        )
    return card_of(body, [submit(t(locale, "admin_publish_apply"), "admin_publish_set")])


def ropa_card(tenant: TenantRecord, locale: str) -> Card:
    """The record of processing as it applies to this tenant, one compact block per store, in
    the admin's language."""
    data = record_for_tenant(tenant, locale=locale)
    body: list[dict[str, Any]] = [
        _text(t(locale, "admin_ropa_title", tenant=tenant.name), weight="Bolder", size="Medium"),
        _text(
            t(
                locale,
                "admin_removal",
                mode=mode_name(tenant.removal_mode, locale, capitalized=True),
            )
        ),
    ]
    for store in data["stores"]:
        facts = [
            {"title": t(locale, "ropa_purpose"), "value": store["purpose"]},
            {"title": t(locale, "ropa_recipients"), "value": "; ".join(store["recipients"])},
            {"title": t(locale, "ropa_retention"), "value": store["retention"]["text"]},
        ]
        if store["legal_basis"]:
            facts.insert(
                1, {"title": t(locale, "ropa_basis"), "value": store["legal_basis"]["text"]}
            )
        if store["on_user_removal"]:
            removal = store["on_user_removal"]["in_force"]
            facts.append({"title": t(locale, "ropa_on_removal"), "value": removal})
        body += [
            _text(store["title"], weight="Bolder", spacing="Medium"),
            {"type": "FactSet", "facts": facts},
        ]
    return card_of(body, [submit(t(locale, "admin_ropa_file"), "admin_ropa_file")])


def controller_summary(tenant: TenantRecord, locale: str) -> list[dict[str, Any]]:
    """What the notice can say about the controller, and what is still missing."""
    missing = missing_controller(tenant)
    if missing:
        names = ", ".join(texts(locale)[f"missing_{name}"] for name in missing)
        line = t(locale, "admin_controller_missing", missing=names)
    else:
        name = tenant.controller.legal_name if tenant.controller else tenant.name
        line = t(locale, "admin_controller_complete", name=name)
    return [
        _heading(t(locale, "admin_controller")),
        _text(line, color="Attention" if missing else "Default"),
        _buttons(submit(t(locale, "admin_controller_button"), "admin_controller", inputs=False)),
    ]


def _input(
    id_: str, label: str, value: str | None, locale: str, *, required: bool, **extra: Any
) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "Input.Text", "id": id_, "label": label, **extra}
    if value:
        field["value"] = value
    if required:
        field["isRequired"] = True
        field.setdefault("errorMessage", t(locale, "admin_controller_required"))
    return field


def controller_card(tenant: TenantRecord, locale: str) -> Card:
    """The controller's details and its legal-basis choices: one form, one action."""
    details = tenant.controller
    cap = TENANT_DAYS_MAX["kpi_retention_days"]
    body: list[dict[str, Any]] = [
        _text(t(locale, "admin_controller_title"), weight="Bolder", size="Medium"),
        _text(t(locale, "admin_controller_help"), isSubtle=True),
        _input("legal_name", t(locale, "admin_controller_legal_name"),
               details.legal_name if details else None, locale, required=True, maxLength=300),
        _input("address", t(locale, "admin_controller_address"),
               details.address if details else None, locale, required=True, maxLength=500,
               isMultiline=True),
        _input("email", t(locale, "admin_controller_email"),
               details.email if details else None, locale, required=True, maxLength=254,
               style="Email", regex=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
               errorMessage=t(locale, "admin_controller_email_error")),
        _input("dpo_contact", t(locale, "admin_controller_dpo"),
               details.dpo_contact if details else None, locale, required=True, maxLength=300),
        _input("verbis_id", t(locale, "admin_controller_verbis"),
               details.verbis_id if details else None, locale, required=False, maxLength=64),
        _input("representative", t(locale, "admin_controller_representative"),
               details.representative if details else None, locale, required=False,
               maxLength=300),
        {
            "type": "Input.Number",
            "id": "kpi_retention_days",
            "label": t(locale, "admin_controller_kpi", max=cap),
            "value": tenant.kpi_retention_days,
            "min": 1,
            "max": cap,
            "isRequired": True,
            "errorMessage": t(locale, "admin_controller_kpi_error", max=cap),
        },
    ]  # fmt: skip
    for store in basis_choices():
        chosen = tenant.legal_bases.get(store.collection.value)
        title = catalog(locale)["stores"][store.collection.value]["record"]["title"]
        body.append(
            {
                "type": "Input.ChoiceSet",
                "id": f"basis_{store.collection.value}",
                "label": t(locale, "admin_controller_basis", store=title),
                "style": "compact",
                "isRequired": True,
                "errorMessage": t(locale, "admin_controller_required"),
                "value": chosen or LEGAL[store.collection].bases[0],
                "choices": [
                    {"title": basis_facts(b, locale)["text"], "value": b}
                    for b in LEGAL[store.collection].bases
                ],
            }
        )
    return card_of(body, [submit(t(locale, "admin_controller_save"), "admin_controller_set")])


_FIXED = Legal(("legal_obligation",))


def basis_choices() -> list[Dataset]:
    """Stores whose legal basis the law leaves to the controller."""
    return [
        s for s in DATA_MAP.values() if s.collection in LEGAL and len(LEGAL[s.collection].bases) > 1
    ]
