"""The privacy notice and the terms of use as cards, one's consent history, and help (which
points to them)."""

from __future__ import annotations

from typing import Any

from bot.cards.blocks import Card, card_of, submit, text
from bot.i18n import t
from privacy.consent import LegalDocument


def _language_flag(shown: str, locale: str) -> list[dict[str, Any]]:
    """A document published in one language only is shown in that language, saying so."""
    if shown == locale:
        return []
    return [
        {"type": "TextBlock", "text": t(locale, "document_not_in_language"), "wrap": True,
         "color": "Attention", "spacing": "Small"}
    ]  # fmt: skip


def _document_body(doc: LegalDocument, shown: str, locale: str, title: str) -> list[dict[str, Any]]:
    """A published text as Teams shows it: its title, a note when it is not in the reader's
    language, then the text itself (in `shown`, the language it is shown in)."""
    return [
        text(title, weight="Bolder", size="Medium"),
        *_language_flag(shown, locale),
        text(doc.text(shown)),
    ]


def notice_card(doc: LegalDocument, locale: str, *, with_button: bool = True) -> Card:
    shown = doc.locale_of(locale)
    body = _document_body(doc, shown, locale, t(locale, "notice_title", version=doc.version))
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
    return card_of(body, actions)


def eula_card(doc: LegalDocument, locale: str, *, with_buttons: bool = True) -> Card:
    shown = doc.locale_of(locale)
    body = _document_body(doc, shown, locale, t(locale, "eula_title", version=doc.version))
    actions = None
    if with_buttons:
        extra: dict[str, Any] = {"version": doc.version, "sha256": doc.hash(shown)}
        actions = [
            submit(t(locale, "eula_accept"), "accept_eula", **extra),
            submit(t(locale, "eula_decline"), "decline_eula", **extra),
        ]
    return card_of(body, actions)


def help_card(locale: str) -> Card:
    return card_of(
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
    return card_of(
        [{"type": "TextBlock", "text": t(locale, "consents_title"), "weight": "Bolder"}, *rows],
        actions,
    )
