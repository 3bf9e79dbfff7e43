"""People as cards: a person with their place in the org chart, search results, the org chart,
the compose-box preview, and the form for correcting one's own profile."""

from __future__ import annotations

from typing import Any

from bot.cards.blocks import Card, card_of, row, short, submit
from bot.i18n import t


def subtitle_of(person: dict[str, Any]) -> str:
    return " · ".join(
        str(v) for v in (_field(person, "job_title")[0], _field(person, "department")[0]) if v
    )


def person_row(person: dict[str, Any], command: str = "person") -> dict[str, Any]:
    name = str(person.get("display_name", "?"))
    return row(name, subtitle_of(person), command, user_id=person["user_id"])


def _field(profile: dict[str, Any], name: str) -> tuple[Any, dict[str, Any] | None]:
    """The value shown for a field: an approved correction wins over the synced value."""
    override = (profile.get("overrides") or {}).get(name)
    if isinstance(override, dict) and "value" in override:
        return override["value"], override
    return profile.get(name), None


REPORTS_ON_CARD = 10
ORG_CHART_PAGE = 10


def person_card(
    profile: dict[str, Any],
    locale: str,
    *,
    manager: dict[str, Any] | None,
    chain: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    provenance: bool = False,
    title: str | None = None,
    can_correct: bool = False,
) -> Card:
    body: list[dict[str, Any]] = []
    if title:
        body.append({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Small"})
    name = profile.get("display_name") or " ".join(
        p for p in (profile.get("given_name"), profile.get("surname")) if p
    )
    heading = name + (f"  ·  {t(locale, 'intern_badge')}" if profile.get("is_intern") else "")
    body.append(
        {"type": "TextBlock", "text": heading, "weight": "Bolder", "size": "Large", "wrap": True}
    )
    facts = []
    for field, key in (
        ("job_title", "field_title"),
        ("department", "field_department"),
        ("office_location", "field_location"),
        ("mail", "field_mail"),
        ("employee_id", "field_employee_id"),
    ):
        value, override = _field(profile, field)
        if not value:
            continue
        text = str(value)
        if provenance:
            source = (
                t(locale, "source_override", date=str(override.get("approved_at", ""))[:10])
                if override
                else t(locale, "source_entra")
            )
            text = f"{text} ({source})"
        facts.append({"title": t(locale, key), "value": text})
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    if chain:
        names = " → ".join(str(p.get("display_name", "?")) for p in chain)
        body.append(
            {"type": "TextBlock", "text": t(locale, "chain", chain=names), "wrap": True,
             "isSubtle": True, "spacing": "Small"}
        )  # fmt: skip
    actions: list[dict[str, Any]] = []
    if manager:
        actions.append(
            submit(
                t(locale, "manager_button", name=short(str(manager.get("display_name", "?")), 28)),
                "person",
                user_id=manager["user_id"],
            )
        )
    if reports:
        shown = reports[:REPORTS_ON_CARD]
        body.append(
            {
                "type": "TextBlock",
                "text": t(locale, "reports_title", count=len(reports)),
                "weight": "Bolder",
                "spacing": "Medium",
            }
        )
        body += [person_row(r) for r in shown]
        if len(reports) > len(shown):
            body.append(
                {
                    "type": "TextBlock",
                    "text": t(locale, "reports_more", count=len(reports) - len(shown)),
                    "isSubtle": True,
                }
            )
    if manager or reports:
        actions.append(
            submit(t(locale, "org_chart_button"), "org_chart", user_id=profile["user_id"])
        )
    if can_correct:
        actions.append(submit(t(locale, "correct_button"), "correct"))
    return card_of(body, actions or None)


def search_card(
    locale: str,
    term: str,
    people: list[dict[str, Any]],
    *,
    total: int,
    offset: int,
    capped: bool = False,
    page_size: int = 8,
) -> Card:
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": t(
                locale,
                "search_title",
                text=term,
                first=offset + 1,
                last=offset + len(people),
                total=total,
            ),
            "weight": "Bolder",
            "wrap": True,
        }
    ]
    body += [person_row(person) for person in people]
    if capped:
        body.append(
            {
                "type": "TextBlock",
                "text": t(locale, "search_capped", count=total),
                "wrap": True,
                "isSubtle": True,
            }
        )
    actions = []
    if offset > 0:
        back = max(0, offset - page_size)
        actions.append(submit(t(locale, "search_previous"), "search", term=term, offset=back))
    if offset + len(people) < total:
        actions.append(
            submit(t(locale, "search_more"), "search", term=term, offset=offset + len(people))
        )
    return card_of(body, actions or None)


def org_chart_card(
    person: dict[str, Any],
    locale: str,
    *,
    chain: list[dict[str, Any]],
    reports: list[dict[str, Any]],
    offset: int = 0,
) -> Card:
    """Who someone reports to, top down, and every direct report, a page at a time; each
    person opens their own org chart."""
    name = str(person.get("display_name", "?"))
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": t(locale, "org_chart_title", name=name),
         "weight": "Bolder", "size": "Medium", "wrap": True}
    ]  # fmt: skip
    if chain:
        body.append(
            {"type": "TextBlock", "text": t(locale, "org_chart_above"), "weight": "Bolder",
             "spacing": "Medium", "wrap": True}
        )  # fmt: skip
        body += [person_row(p, "org_chart") for p in chain]
    body.append(
        {"type": "TextBlock", "text": name, "weight": "Bolder", "spacing": "Medium",
         "wrap": True}
    )  # fmt: skip
    subtitle = subtitle_of(person)
    if subtitle:
        body.append({"type": "TextBlock", "text": subtitle, "wrap": True, "isSubtle": True,
                     "spacing": "None"})  # fmt: skip
    page = reports[offset : offset + ORG_CHART_PAGE]
    if reports:
        body.append(
            {"type": "TextBlock", "spacing": "Medium", "weight": "Bolder", "wrap": True,
             "text": t(locale, "org_chart_reports", first=offset + 1,
                       last=offset + len(page), total=len(reports))}
        )  # fmt: skip
        body += [person_row(p, "org_chart") for p in page]
    else:
        body.append({"type": "TextBlock", "text": t(locale, "org_chart_no_reports"),
                     "isSubtle": True, "wrap": True})  # fmt: skip
    user_id = person["user_id"]
    actions = [submit(t(locale, "org_chart_person"), "person", user_id=user_id)]
    if offset > 0:
        back = max(0, offset - ORG_CHART_PAGE)
        actions.append(
            submit(t(locale, "search_previous"), "org_chart", user_id=user_id, offset=back)
        )
    if offset + len(page) < len(reports):
        actions.append(
            submit(t(locale, "search_more"), "org_chart", user_id=user_id,
                   offset=offset + len(page))
        )  # fmt: skip
    return card_of(body, actions)


def search_prompt_card(locale: str) -> Card:
    return card_of(
        [
            {"type": "TextBlock", "text": t(locale, "search_prompt"), "wrap": True},
            {
                "type": "Input.Text",
                "id": "term",
                "placeholder": t(locale, "search_placeholder"),
                "maxLength": 100,
            },
        ],
        [submit(t(locale, "search_button"), "search")],
    )


def preview(profile: dict[str, Any]) -> dict[str, Any]:
    """The thumbnail a message-extension result list shows."""
    return {
        "contentType": "application/vnd.microsoft.card.thumbnail",
        "content": {"title": profile.get("display_name", "?"), "text": subtitle_of(profile)},
    }


FIELD_LABELS = {
    "job_title": "field_title",
    "department": "field_department",
    "office_location": "field_location",
    "given_name": "field_given_name",
    "surname": "field_surname",
}


def correction_card(locale: str, fields: tuple[str, ...]) -> Card:
    return card_of(
        [
            {"type": "TextBlock", "text": t(locale, "correct_title"), "weight": "Bolder"},
            {
                "type": "Input.ChoiceSet",
                "id": "field",
                "label": t(locale, "correct_field"),
                "value": fields[0],
                "choices": [
                    {"title": t(locale, FIELD_LABELS.get(f, f)), "value": f} for f in fields
                ],
            },
            {
                "type": "Input.Text",
                "id": "value",
                "label": t(locale, "correct_value"),
                "maxLength": 120,
                "isRequired": True,
                "errorMessage": t(locale, "correct_value_missing"),
            },
        ],
        [submit(t(locale, "correct_submit"), "propose")],
    )
