"""The processor's duties on the admin desk, as cards: incidents as the controller reads them,
the declared sub-processors, and the security summary (bot.flows.processor acts on them,
bot.admin_alerts tells admins of them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.cards.blocks import Card, card_of, submit
from bot.cards.blocks import buttons as _buttons
from bot.cards.blocks import heading as _heading
from bot.cards.blocks import text as _text
from bot.i18n import t
from privacy.catalogs import catalog as privacy_catalog
from privacy.catalogs import pick_locale
from privacy.incidents import (
    EventKind,
    Incident,
    Status,
)
from privacy.subprocessors import SubProcessor

MAX_INCIDENT_ROWS = 5


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


# Incidents --------------------------------------------------------------------------------


def clock_line(incident: Incident, locale: str, now: datetime) -> tuple[str, bool]:
    """The controller's 72-hour clock in words, and whether it needs attention (a day or less
    left, or passed, while the incident is open)."""
    left = incident.hours_left(now)
    if left is None or incident.notified_at is None:
        return t(locale, "incident_clock_none"), incident.status is Status.OPEN
    values = {"notified": _when(incident.notified_at), "deadline": _when(incident.deadline)}
    if left >= 0:
        text = t(locale, "incident_clock", hours=int(left), **values)
    else:
        text = t(locale, "incident_clock_passed", hours=int(-left), **values)
    return text, incident.status is Status.OPEN and left <= 24


def _event(event: Any, locale: str) -> dict[str, str]:
    kind: EventKind = event.kind
    title = t(
        locale,
        f"incident_event_{kind.value}",
        told=event.told if event.told is not None else "-",
        admins=event.admins if event.admins is not None else "-",
        note=event.note or "-",
    )
    return {"title": _when(event.at), "value": title}


def incident_card(incident: Incident, locale: str, now: datetime | None = None) -> Card:
    """The admin-desk view of one incident: the Art. 33(3) facts, the timeline and the clock."""
    at = now or datetime.now(UTC)
    share = incident.affected
    texts = privacy_catalog(pick_locale(locale))  # the notices' own names for people and data
    kinds = ", ".join(texts["subjects"].get(k, k) for k in share.subjects)
    categories = ", ".join(texts["categories"].get(c, {}).get("name", c) for c in share.records)
    status = t(locale, f"incident_status_{incident.status.value}")
    facts = [
        {"title": t(locale, "incident_what"), "value": incident.facts.summary},
        {"title": t(locale, "incident_detected"), "value": _when(incident.facts.detected_at)},
        {
            "title": t(locale, "incident_subjects"),
            "value": t(locale, "incident_subjects_value", count=share.subjects_approx, kinds=kinds),
        },
        {
            "title": t(locale, "incident_records"),
            "value": t(
                locale, "incident_records_value", count=share.records_approx, categories=categories
            ),
        },
        {"title": t(locale, "incident_consequences"), "value": incident.facts.consequences},
        {"title": t(locale, "incident_measures"), "value": incident.facts.measures},
        {"title": t(locale, "incident_contact"), "value": incident.facts.contact},
    ]
    clock, urgent = clock_line(incident, locale, at)
    body: list[dict[str, Any]] = [
        _text(
            t(locale, "incident_title", id=incident.id, status=status),
            weight="Bolder",
            size="Medium",
        ),
        _text(clock, color="Attention" if urgent else "Default"),
        {"type": "FactSet", "facts": facts},
        _heading(t(locale, "incident_timeline")),
        {"type": "FactSet", "facts": [_event(e, locale) for e in incident.timeline]},
    ]
    return card_of(body, [submit(t(locale, "admin_title_short"), "admin")])


def incident_rows(found: list[Incident], locale: str, now: datetime) -> list[dict[str, Any]]:
    """The incident section of the admin home card."""
    open_count = sum(1 for i in found if i.status is Status.OPEN)
    rows: list[dict[str, Any]] = [_heading(t(locale, "admin_incidents", count=open_count))]
    if not found:
        rows.append(_text(t(locale, "admin_incidents_none")))
    for incident in found[:MAX_INCIDENT_ROWS]:
        deadline = incident.deadline
        clock = (
            t(locale, "admin_incident_row_clock", deadline=_when(deadline))
            if deadline and incident.status is Status.OPEN
            else ""
        )
        row = t(
            locale,
            "admin_incident_row",
            id=incident.id,
            status=t(locale, f"incident_status_{incident.status.value}"),
            detected=_when(incident.facts.detected_at),
            clock=clock,
        )
        _, urgent = clock_line(incident, locale, now)
        rows += [
            _text(row, spacing="Small", color="Attention" if urgent else "Default"),
            _buttons(
                submit(
                    t(locale, "admin_incident_show", id=incident.id),
                    "admin_incident",
                    id=incident.id,
                )
            ),
        ]
    return rows


# Sub-processors ---------------------------------------------------------------------------


def _lang(locale: str) -> str:
    return locale if locale in ("tr", "en") else "en"


def subprocessor_rows(subprocessors: Sequence[SubProcessor], locale: str) -> list[dict[str, Any]]:
    lang = _lang(locale)
    rows: list[dict[str, Any]] = [
        _heading(t(locale, "admin_subprocessors", count=len(subprocessors))),
        _text(t(locale, "admin_subprocessors_text")),
    ]
    rows += [
        _text(
            t(locale, "admin_subprocessor_row", name=s.display(lang), location=s.location[lang]),
            spacing="Small",
        )
        for s in subprocessors
    ]
    rows.append(_buttons(submit(t(locale, "admin_subprocessors_show"), "admin_subprocessors")))
    return rows


def subprocessors_card(subprocessors: Sequence[SubProcessor], locale: str) -> Card:
    lang = _lang(locale)
    body: list[dict[str, Any]] = [
        _text(t(locale, "subprocessors_title"), weight="Bolder", size="Medium"),
        _text(t(locale, "admin_subprocessors_text")),
    ]
    for sub in subprocessors:
        abroad = t(locale, "subprocessor_yes" if sub.transfer_abroad else "subprocessor_no")
        body += [
            _heading(sub.display(lang)),
            {
                "type": "FactSet",
                "facts": [
                    {"title": t(locale, "subprocessor_service"), "value": sub.service[lang]},
                    {"title": t(locale, "subprocessor_data"), "value": sub.data[lang]},
                    {"title": t(locale, "subprocessor_location"), "value": sub.location[lang]},
                    {"title": t(locale, "subprocessor_abroad"), "value": abroad},
                    {"title": t(locale, "subprocessor_safeguards"), "value": sub.safeguards[lang]},
                ],
            },
        ]
    return card_of(body, [submit(t(locale, "admin_title_short"), "admin")])


# Security summary -------------------------------------------------------------------------


def security_rows(locale: str) -> list[dict[str, Any]]:
    return [
        _heading(t(locale, "admin_security")),
        _text(t(locale, "admin_security_text")),
        _buttons(
            submit(t(locale, "admin_security_file_tr"), "admin_security_file", locale="tr"),
            submit(t(locale, "admin_security_file_en"), "admin_security_file", locale="en"),
        ),
    ]
