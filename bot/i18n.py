"""User-facing text, from the locale catalogs in bot/locales (Turkish and English)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

from privacy.catalogs import LOCALES, pick_locale

__all__ = ["catalog", "pick_locale", "t"]


@cache
def catalog(locale: str) -> dict[str, str]:
    data = (resources.files("bot") / "locales" / f"{locale}.json").read_text("utf-8")
    parsed: dict[str, str] = json.loads(data)
    return parsed


def t(locale: str, key: str, **values: object) -> str:
    text = catalog(locale if locale in LOCALES else "en").get(key) or catalog("en")[key]
    return text.format(**values) if values else text
