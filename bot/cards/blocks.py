"""The building blocks of JUNO's Adaptive Cards (schema 1.5, what Teams renders). Every button
is an Action.Submit whose data carries `{"juno": <command>, ...}`, which `bot.commands` reads
back. Card builders here and beside this module are pure: data in, card dict out."""

from __future__ import annotations

from typing import Any

from microsoft_agents.activity import Attachment

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
Card = dict[str, Any]


def attachment(card: Card) -> Attachment:
    return Attachment(content_type=CARD_TYPE, content=card)


def card_of(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> Card:
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
