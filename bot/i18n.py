"""User-facing text, from the locale catalogs in bot/locales (Turkish and English)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

SUPPORTED = ("tr", "en")


@cache
def catalog(locale: str) -> dict[str, str]:
    data = (resources.files("bot") / "locales" / f"{locale}.json").read_text("utf-8")
    parsed: dict[str, str] = json.loads(data)
    return parsed


def pick_locale(activity_locale: str | None, fallback: str) -> str:
    """Teams sends e.g. "tr-TR" or "en-US"; anything else falls back to the tenant default."""
    if activity_locale:
        lang = activity_locale.split("-")[0].split("_")[0].lower()
        if lang in SUPPORTED:
            return lang
    return fallback if fallback in SUPPORTED else "en"


def t(locale: str, key: str, **values: object) -> str:
    text = catalog(locale if locale in SUPPORTED else "en").get(key) or catalog("en")[key]
    return text.format(**values) if values else text
