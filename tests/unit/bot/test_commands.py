"""Every command our texts tell people to type is one the bot understands.

The help card, the bot's replies, the privacy catalogs behind the export summary and the
notice and terms themselves quote commands ("verilerimi indir", **my profile**). A quoted
command the parser does not know sends people to a dead end, as "verilerimi dışa aktar" once
did, so each one is parsed here, catalog by catalog and language by language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

from bot.commands import _SEARCH_VERBS, Command, parse
from privacy.consent import Kind, builtin
from storage.search_keys import fold

LOCALES = ("tr", "en")
QUOTED = re.compile(r'"([^"]{2,60})"')
# The help card lists commands in bold with their argument in italics, before or after the verb
# ("**find** *name*", "*isim* **bul**").
BOLD = re.compile(r"(?:\*([^*]{2,30})\* )?\*\*([^*]{2,60})\*\*(?: \*([^*]{2,30})\*)?")
# What a quoted "find <name>" is tried with.
NAME = {"tr": "Ayşe", "en": "Ayşe"}


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield key, value


def quoted_commands(locale: str) -> list[tuple[str, str]]:
    """(where, command) for every command quoted in `locale`'s texts."""
    found: list[tuple[str, str]] = []
    for package in ("bot", "privacy"):
        path = resources.files(package) / "locales" / f"{locale}.json"
        for key, text in _strings(json.loads(path.read_text("utf-8"))):
            candidates = QUOTED.findall(text)
            if key.startswith("help"):
                for before, verb, after in BOLD.findall(text):
                    command = f"<{before}> {verb}" if before else verb
                    candidates.append(f"{command} <{after}>" if after else command)
            found += [(f"{package}/locales/{locale}.json:{key}", c) for c in candidates]
    for kind in Kind:  # the notice as rendered from the data map, the terms as shipped
        text = builtin(kind).texts[locale]
        found += [(f"{kind.value} v1 ({locale})", c) for c in QUOTED.findall(text)]
    return [(where, c) for where, c in found if "{" not in c]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_quoted_command_is_understood(locale: str) -> None:
    commands = quoted_commands(locale)
    assert len(commands) >= 10, commands  # the help card alone quotes eight
    unknown = []
    for where, command in commands:
        typed = re.sub(r"<[^>]+>", NAME[locale], command)
        request = parse(typed, None)
        if {fold(word) for word in typed.split()} & set(_SEARCH_VERBS):
            ok = request.command is Command.SEARCH and request.data.get("term") == NAME[locale]
        else:
            # A quoted command must be a command, not a name to look up.
            ok = request.command not in (Command.SEARCH, Command.UNKNOWN)
        if not ok:
            unknown.append(f"{where}: {command!r} -> {request.command}")
    assert unknown == []


def test_the_export_command_of_the_turkish_summary_is_known() -> None:
    assert parse("verilerimi dışa aktar", None).command is Command.EXPORT
    assert parse("VERİLERİMİ DIŞA AKTAR", None).command is Command.EXPORT
