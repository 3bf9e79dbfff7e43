"""Adaptive Cards (schema 1.5, what Teams renders). Every button is an Action.Submit whose data
carries `{"juno": <command>, ...}`, which `bot.commands` reads back."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Attachment

from bot.i18n import t
from privacy.consent import LegalDocument

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]


def attachment(card: Card) -> Attachment:
    return Attachment(content_type=CARD_TYPE, content=card)


def card_of(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> Card:
    return _card(body, actions)


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
    }
    if actions:
        card["actions"] = actions
    return card


# Teams shows about this many buttons in one row and hides the rest behind "…"; the
# renderer test holds every card to it.
MAX_ACTIONS = 6
# A button is one line in Teams: a longer title is cut at the card's edge.
MAX_TITLE = 40


def text(value: str, **extra: Any) -> dict[str, Any]:
    """A wrapping TextBlock: Teams cuts unwrapped text at the card's edge."""
    return {"type": "TextBlock", "text": value, "wrap": True, **extra}


def heading(value: str) -> dict[str, Any]:
    return text(value, weight="Bolder", spacing="Medium")


def buttons(*actions: dict[str, Any]) -> dict[str, Any]:
    return {"type": "ActionSet", "actions": list(actions)}


def submit(title: str, command: str, *, inputs: bool = True, **data: Any) -> dict[str, Any]:
    """A button. `inputs=False` sends none of the card's input fields (Adaptive Cards 1.3
    `associatedInputs`), so e.g. "Sync now" never carries, or asks for, a rejection reason."""
    action: dict[str, Any] = {
        "type": "Action.Submit",
        "title": short(title),
        "data": {"juno": command, **data},
    }
    if not inputs:
        action["associatedInputs"] = "none"
    return action


def short(text: str, limit: int = MAX_TITLE) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def row(title: str, subtitle: str, command: str, **data: Any) -> dict[str, Any]:
    """One person in a list: the whole row is the button (a `selectAction`), so a list of any
    length shows everyone, with names and titles wrapped instead of cut off."""
    items: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title, "wrap": True, "weight": "Bolder", "color": "Accent"}
    ]
    if subtitle:
        items.append(
            {"type": "TextBlock", "text": subtitle, "wrap": True, "isSubtle": True,
             "spacing": "None", "size": "Small"}
        )  # fmt: skip
    return {
        "type": "Container",
        "items": items,
        "spacing": "Small",
        "selectAction": {"type": "Action.Submit", "title": short(title),
                         "data": {"juno": command, **data}},
    }  # fmt: skip


def subtitle_of(person: dict[str, Any]) -> str:
    return " · ".join(
        str(v) for v in (_field(person, "job_title")[0], _field(person, "department")[0]) if v
    )


def person_row(person: dict[str, Any], command: str = "person") -> dict[str, Any]:
    name = str(person.get("display_name", "?"))
    return row(name, subtitle_of(person), command, user_id=person["user_id"])


def _language_flag(shown: str, locale: str) -> list[dict[str, Any]]:
    """A document published in one language only is shown in that language, saying so."""
    if shown == locale:
        return []
    return [
        {"type": "TextBlock", "text": t(locale, "document_not_in_language"), "wrap": True,
         "color": "Attention", "spacing": "Small"}
    ]  # fmt: skip


def notice_card(doc: LegalDocument, locale: str, *, with_button: bool = True) -> Card:
    shown = doc.locale_of(locale)
    body = [
        {
            "type": "TextBlock",
            "text": t(locale, "notice_title", version=doc.version),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        *_language_flag(shown, locale),
        {"type": "TextBlock", "text": doc.text(shown), "wrap": True},
    ]
    actions = (
        [
            submit(
                t(locale, "notice_ack"),
                "ack_notice",
                version=doc.version,
                sha256=doc.hash(shown),
            )
        ]
        if with_button
        else None
    )
    return _card(body, actions)


def eula_card(doc: LegalDocument, locale: str, *, with_buttons: bool = True) -> Card:
    shown = doc.locale_of(locale)
    body = [
        {
            "type": "TextBlock",
            "text": t(locale, "eula_title", version=doc.version),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        *_language_flag(shown, locale),
        {"type": "TextBlock", "text": doc.text(shown), "wrap": True},
    ]
    actions = None
    if with_buttons:
        extra: dict[str, Any] = {"version": doc.version, "sha256": doc.hash(shown)}
        actions = [
            submit(t(locale, "eula_accept"), "accept_eula", **extra),
            submit(t(locale, "eula_decline"), "decline_eula", **extra),
        ]
    return _card(body, actions)


def help_card(locale: str) -> Card:
    return _card(
        [
            {"type": "TextBlock", "text": t(locale, "help_title"), "weight": "Bolder"},
            {"type": "TextBlock", "text": t(locale, "help_body"), "wrap": True},
        ],
        [
            submit(t(locale, "consents_button"), "consents"),
            submit(t(locale, "show_notice_button"), "show_notice"),
            submit(t(locale, "show_eula_button"), "show_eula"),
        ],
    )


MAX_VERSION_BUTTONS = 6


def consents_card(locale: str, trail: list[dict[str, Any]], *, can_withdraw: bool) -> Card:
    rows: list[dict[str, Any]] = []
    for entry in trail[:20]:
        when = entry["at"].strftime("%Y-%m-%d %H:%M UTC")
        rows.append(
            {
                "type": "TextBlock",
                "text": t(
                    locale,
                    "consents_row",
                    when=when,
                    document=t(locale, f"doc_{entry['document']}"),
                    version=entry["version"],
                    action=t(locale, f"action_{entry['action']}"),
                ),
                "wrap": True,
                "spacing": "Small",
            }
        )
    if not rows:
        rows.append({"type": "TextBlock", "text": t(locale, "consents_empty"), "wrap": True})
    # Every version the user answered stays readable, not only the one in force.
    versions = sorted({(e["document"], int(e["version"])) for e in trail}, reverse=True)
    if versions:
        rows.append(
            {
                "type": "ActionSet",
                "actions": [
                    submit(
                        t(
                            locale,
                            "read_version_button",
                            document=t(locale, f"doc_{document}"),
                            version=version,
                        ),
                        "show_version",
                        kind=document,
                        version=version,
                    )
                    for document, version in versions[:MAX_VERSION_BUTTONS]
                ],
            }
        )
    actions = [
        submit(t(locale, "show_notice_button"), "show_notice"),
        submit(t(locale, "show_eula_button"), "show_eula"),
    ]
    if can_withdraw:
        actions.insert(0, submit(t(locale, "withdraw_button"), "withdraw_eula"))
    return _card(
        [{"type": "TextBlock", "text": t(locale, "consents_title"), "weight": "Bolder"}, *rows],
        actions,
    )


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
    return _card(body, actions or None)


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
    return _card(body, actions or None)


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
    return _card(body, actions)


def search_prompt_card(locale: str) -> Card:
    return _card(
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
    return _card(
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


def export_ready_card(locale: str, url: str, expires: str) -> Card:
    """The link is a button, not message text, so a link preview cannot use up the one
    download it allows."""
    return _card(
        [
            {"type": "TextBlock", "text": t(locale, "export_ready_title"), "weight": "Bolder"},
            {"type": "TextBlock", "text": t(locale, "export_ready_body", expires=expires),
             "wrap": True},
        ],
        [{"type": "Action.OpenUrl", "title": t(locale, "export_download"), "url": url}],
    )  # fmt: skip
