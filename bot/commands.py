"""What the user asked for, from typed text (Turkish or English, any case, with or without
diacritics) or from a card button's submit data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from storage.search_keys import fold


class Command(StrEnum):
    HELP = "help"
    CONSENTS = "consents"
    SHOW_NOTICE = "show_notice"
    SHOW_EULA = "show_eula"
    ACK_NOTICE = "ack_notice"
    ACCEPT_EULA = "accept_eula"
    DECLINE_EULA = "decline_eula"
    WITHDRAW_EULA = "withdraw_eula"
    UNKNOWN = "unknown"


# Commands a user may use before acknowledging the notice and accepting the terms.
ALWAYS_ALLOWED = frozenset(Command) - {Command.UNKNOWN}

_PHRASES: dict[str, Command] = {
    "help": Command.HELP,
    "yardim": Command.HELP,
    "menu": Command.HELP,
    "?": Command.HELP,
    "my consents": Command.CONSENTS,
    "consents": Command.CONSENTS,
    "onaylarim": Command.CONSENTS,
    "izinlerim": Command.CONSENTS,
    "privacy": Command.SHOW_NOTICE,
    "privacy notice": Command.SHOW_NOTICE,
    "gizlilik": Command.SHOW_NOTICE,
    "aydinlatma": Command.SHOW_NOTICE,
    "aydinlatma metni": Command.SHOW_NOTICE,
    "terms": Command.SHOW_EULA,
    "terms of use": Command.SHOW_EULA,
    "eula": Command.SHOW_EULA,
    "kosullar": Command.SHOW_EULA,
    "kullanim kosullari": Command.SHOW_EULA,
}


@dataclass(frozen=True)
class Request:
    command: Command
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def parse(text: str | None, value: Any) -> Request:
    if isinstance(value, dict) and isinstance(value.get("juno"), str):
        try:
            command = Command(value["juno"])
        except ValueError:
            return Request(Command.UNKNOWN)
        return Request(command, {k: v for k, v in value.items() if k != "juno"})
    raw = (text or "").strip()
    key = "?" if raw == "?" else fold(raw[:200])
    return Request(_PHRASES.get(key, Command.UNKNOWN), text=raw)
