"""Adaptive Cards as readable terminal text, with numbered actions the user can pick."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import t
from bot.turkish import upper

_BOLD = re.compile(r"\*\*(.+?)\*\*")
FILE_CONSENT = "application/vnd.microsoft.teams.card.file.consent"
FILE_INFO = "application/vnd.microsoft.teams.card.file.info"
FILE_ANSWER = "_file_consent"  # marks a picked action as an answer to a file offer
FORM = "_form"  # a picked action's card inputs, to be asked for before it is sent


@dataclass
class Rendered:
    lines: list[str] = field(default_factory=list)
    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def _text(block: dict[str, Any]) -> str:
    return _BOLD.sub(r"\1", str(block.get("text", "")))


def inputs_of(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A card's input fields (text boxes, choice sets), in order, however deeply nested."""
    found: list[dict[str, Any]] = []
    for item in items:
        kind = str(item.get("type", ""))
        if kind.startswith("Input.") and item.get("id"):
            found.append(item)
        for nested in ("items", "columns"):
            if isinstance(item.get(nested), list):
                found += inputs_of(item[nested])
    return found


def _walk(
    items: list[dict[str, Any]], out: Rendered, form: list[dict[str, Any]], locale: str
) -> None:
    for item in items:
        kind = item.get("type")
        pick = item.get("selectAction")
        if isinstance(pick, dict) and pick.get("type") == "Action.Submit":
            # A row of a list (a person): the whole row is one numbered choice.
            words = [_text(i) for i in item.get("items", []) if i.get("type") == "TextBlock"]
            _actions([{**pick, "title": " · ".join(w for w in words if w)}], out, form)
        elif kind == "TextBlock":
            text = _text(item)
            # Headings in capitals, Turkish-correct in Turkish ("NELER YAPABİLİRİM").
            out.lines.append(upper(text, locale) if item.get("weight") == "Bolder" else text)
        elif kind == "FactSet":
            for fact in item.get("facts", []):
                out.lines.append(f"  {fact.get('title', '')}: {fact.get('value', '')}")
        elif kind in ("Container", "Column"):
            _walk(item.get("items", []), out, form, locale)
        elif kind == "ColumnSet":
            _walk(item.get("columns", []), out, form, locale)
        elif kind == "ActionSet":
            _actions(item.get("actions", []), out, form)
        elif str(kind).startswith("Input.") and item.get("label"):
            out.lines.append("  " + t(locale, "chat_input_later", label=item["label"]))


def _actions(actions: list[dict[str, Any]], out: Rendered, form: list[dict[str, Any]]) -> None:
    for act in actions:
        if act.get("type") == "Action.Submit" and isinstance(act.get("data"), dict):
            # Teams sends a card's input values with whichever button is pressed, unless the
            # button says it takes none (`associatedInputs: none`, e.g. "Sync now").
            takes = form and act.get("associatedInputs") != "none"
            data = {**act["data"], FORM: form} if takes else act["data"]
            out.actions.append((str(act.get("title", "")), data))
        elif act.get("type") == "Action.OpenUrl":
            out.lines.append(f"  {act.get('title', '')}: {act.get('url', '')}")


def render_activity(
    activity: dict[str, Any], first_action_number: int, locale: str = "en"
) -> Rendered:
    out = Rendered()
    if activity.get("text"):
        out.lines.append(_BOLD.sub(r"\1", str(activity["text"])))
    for attachment in activity.get("attachments") or []:
        content = attachment.get("content")
        if not isinstance(content, dict):
            continue
        if attachment.get("contentType") == FILE_CONSENT:
            _file_offer(attachment, content, out, locale)
            continue
        if attachment.get("contentType") == FILE_INFO:
            out.lines.append(
                f"FILE {attachment.get('name', '')}: {attachment.get('contentUrl', '')}"
            )
            continue
        form = inputs_of(content.get("body", []))
        _walk(content.get("body", []), out, form, locale)
        _actions(content.get("actions", []), out, form)
    for offset, (title, _) in enumerate(out.actions):
        out.lines.append(f"  [{first_action_number + offset}] {title}")
    return out


def _file_offer(
    attachment: dict[str, Any], content: dict[str, Any], out: Rendered, locale: str
) -> None:
    """Teams asks the user before a bot puts a file in their OneDrive; here, before it is saved
    to the current folder."""
    name = str(attachment.get("name", "file"))
    out.lines.append(f"FILE {name} ({content.get('sizeInBytes', '?')} bytes)")
    out.lines.append(str(content.get("description", "")))
    for answer, title, key in (
        ("accept", t(locale, "chat_file_save"), "acceptContext"),
        ("decline", t(locale, "chat_file_decline"), "declineContext"),
    ):
        out.actions.append(
            (title, {FILE_ANSWER: answer, "name": name, "context": content.get(key)})
        )
