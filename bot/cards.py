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


def submit(title: str, command: str, **data: Any) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": {"juno": command, **data}}


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
        {"type": "TextBlock", "text": doc.text(shown), "wrap": True},
    ]
    actions = None
    if with_buttons:
        extra = {"version": doc.version, "sha256": doc.hash(shown)}
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
