"""The privacy texts in both first languages (privacy/locales/{tr,en}.json).

Every sentence a notice, an export or a record of processing prints lives there, keyed by the
data map's store, category, legal-basis, data-subject and security-measure ids, so a missing
translation is a missing key, which tests/unit/privacy/test_facts.py catches.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

# The languages JUNO speaks, in the order texts are stored and shown (Turkish first). Every
# package picks a reader's language here, so the bot, exports and the records cannot disagree.
LOCALES = ("tr", "en")


@cache
def catalog(locale: str) -> dict[str, Any]:
    text = (resources.files("privacy") / "locales" / f"{locale}.json").read_text("utf-8")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def pick_locale(locale: str | None, fallback: str = "en") -> str:
    """Teams sends e.g. "tr-TR" or "en-US"; anything else falls back (to the tenant's default
    where the caller has one), and an unknown fallback to English."""
    lang = (locale or "").split("-")[0].split("_")[0].lower()
    if lang in LOCALES:
        return lang
    return fallback if fallback in LOCALES else "en"
