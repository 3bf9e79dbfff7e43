"""Checks on the operator's arguments that run before, and independently of, the schema.

The official schema is only consulted when its files are available, and it does not check
everything Teams does (it accepts any app `version`, for example); these checks always run.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from manifest.errors import ManifestError

LANGUAGES: Final = ("en", "tr")
_VERSION_RE: Final = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")
_LABEL_RE: Final = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def check_app_id(value: str) -> str:
    """The bot's Entra app id, in the canonical lower-case form the manifest schema accepts."""
    text = value.strip()
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != text.lower():
        raise ManifestError(
            f"--app-id {value!r} is not a GUID like 00000000-0000-0000-0000-000000000000 "
            f"(the Application (client) ID of the bot's app registration)"
        )
    if parsed.int == 0:
        raise ManifestError("--app-id must be the bot's real app id, not the all-zero GUID")
    return str(parsed)


def check_bot_domain(value: str) -> str:
    """A bare public host name: Teams wants `validDomains` entries without scheme, port or path."""
    text = value.strip().lower().rstrip(".")
    if not text:
        raise ManifestError(
            "--bot-domain is required: the host name of the bot, e.g. bot.example.com"
        )
    if "://" in text or "/" in text or ":" in text:
        raise ManifestError(
            f"--bot-domain {value!r} must be a host name only, without scheme, port or path "
            f"(e.g. bot.example.com)"
        )
    labels = text.split(".")
    if (
        len(text) > 253
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise ManifestError(
            f"--bot-domain {value!r} is not a public DNS host name like bot.example.com"
        )
    return text


def check_version(value: str) -> str:
    """Teams compares app versions as semver X.Y.Z and only accepts upgrades."""
    if not _VERSION_RE.fullmatch(value.strip()):
        raise ManifestError(
            f"--version {value!r} must be X.Y.Z with plain numbers, e.g. 1.0.0 "
            f"(raise it each time you upload a new package)"
        )
    return value.strip()


def check_language(value: str) -> str:
    if value not in LANGUAGES:
        raise ManifestError(f"default language {value!r} must be one of {', '.join(LANGUAGES)}")
    return value
