"""Delivering a file, as cards: the signed download link, and Teams' FileConsentCard and the
file-info card it is answered with (bot.delivery)."""

from __future__ import annotations

from typing import Any

from bot.cards.blocks import Card, card_of
from bot.i18n import t

FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"


def export_ready_card(locale: str, url: str, expires: str) -> Card:
    """The link is a button, not message text, so a link preview cannot use up the one
    download it allows."""
    return card_of(
        [
            {"type": "TextBlock", "text": t(locale, "export_ready_title"), "weight": "Bolder"},
            {"type": "TextBlock", "text": t(locale, "export_ready_body", expires=expires),
             "wrap": True},
        ],
        [{"type": "Action.OpenUrl", "title": t(locale, "export_download"), "url": url}],
    )  # fmt: skip


def file_consent_card(filename: str, size: int, description: str, token: str) -> dict[str, Any]:
    context = {"export": token}
    return {
        "contentType": FILE_CONSENT,
        "name": filename,
        "content": {
            "description": description,
            "sizeInBytes": size,
            "acceptContext": context,
            "declineContext": context,
        },
    }


def file_info_card(upload_info: dict[str, Any]) -> dict[str, Any]:
    return {
        "contentType": FILE_INFO,
        "contentUrl": upload_info.get("contentUrl"),
        "name": upload_info.get("name"),
        "content": {
            "uniqueId": upload_info.get("uniqueId"),
            "fileType": upload_info.get("fileType"),
        },
    }
