"""The privacy notice, the terms of use, and the consent trail.

Under KVKK the notice is *acknowledged* ("read and understood") and the terms are *accepted*;
they are separate texts and separate records (Board decision 2026/347). The trail is append-only:
a user's standing is whatever their latest record for the current version says.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from privacy.catalogs import LOCALES
from storage.repositories import TenantStore


class Kind(StrEnum):
    NOTICE = "notice"
    EULA = "eula"


class ConsentAction(StrEnum):
    SHOWN = "shown"  # evidence only: the text was put in front of the user, in this activity
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class LegalDocument:
    kind: Kind
    version: int
    texts: dict[str, str]

    def text(self, locale: str) -> str:
        return self.texts.get(locale) or self.texts.get("en") or next(iter(self.texts.values()))

    def locale_of(self, locale: str) -> str:
        return locale if locale in self.texts else ("en" if "en" in self.texts else "tr")

    def hash(self, locale: str) -> str:
        return sha256(self.text(locale))


async def ensure_stored(store: TenantStore, document: LegalDocument) -> None:
    """Keep the exact text a record refers to in the tenant's own database, the first time it
    is used: published versions are stored when published, the built-in version 1 here (an
    insert that does nothing once it is there). So the evidence does not depend on the code
    that shipped it, and travels in the tenant archive."""
    if document.version != 1:
        return
    await store.legal_documents.put_once(
        f"{document.kind.value}:1",
        {
            "kind": document.kind.value,
            "version": 1,
            "texts": dict(document.texts),
            "hashes": {loc: sha256(t) for loc, t in document.texts.items()},
            "published_at": datetime.now(UTC),
            "published_by": None,
        },
    )


async def ensure_builtins_stored(store: TenantStore) -> None:
    for kind in Kind:
        await ensure_stored(store, builtin(kind))


@cache
def builtin(kind: Kind) -> LegalDocument:
    """Version 1 of each document ships with JUNO until a tenant publishes its own. The notice
    is derived from the data map (privacy.facts) and says honestly that the controller has not
    entered its details yet; entering them publishes the next version (privacy.notice)."""
    if kind is Kind.NOTICE:
        from privacy.facts import render_notice

        return LegalDocument(kind, 1, {loc: render_notice(None, loc) for loc in LOCALES})
    folder = resources.files("privacy") / "documents"
    texts = {loc: (folder / f"{kind.value}.{loc}.md").read_text("utf-8") for loc in LOCALES}
    return LegalDocument(kind, 1, texts)


# Texts are kept by document, version and the hashes stored beside them (and only once the
# texts are checked against those hashes), so a turn reads only which versions are current and
# their hashes, not the ~30 KB of notice and terms in both languages it used to fetch every
# time; what the hashes name cannot be another text, whatever tenant or database it came from.
_TEXTS: OrderedDict[tuple[str, ...], dict[str, str]] = OrderedDict()
_TEXTS_KEPT = 256


def _content_key(doc: dict[str, Any]) -> tuple[str, ...] | None:
    hashes = doc.get("hashes")
    if not isinstance(hashes, dict) or not hashes:
        return None
    named = tuple(f"{loc}={digest}" for loc, digest in sorted(hashes.items()))
    return (str(doc.get("kind")), str(doc.get("version")), *named)


async def current_documents(store: TenantStore) -> dict[Kind, LegalDocument]:
    """Both current documents: one small read of the versions and hashes, and the texts only
    when this process has not read them before."""
    published = await store.legal_documents.find(
        {}, projection={"kind": 1, "version": 1, "hashes": 1}
    )
    current = {kind: builtin(kind) for kind in Kind}
    latest: dict[Kind, dict[str, Any]] = {}
    for doc in published:
        kind = Kind(doc["kind"])
        version = int(doc["version"])
        if version >= current[kind].version and version >= int(
            latest.get(kind, {}).get("version", 0)
        ):
            latest[kind] = doc
    texts: dict[Kind, dict[str, str]] = {}
    missing: dict[str, Kind] = {}  # stored key -> kind, for the texts not yet kept
    for kind, doc in latest.items():
        key = _content_key(doc)
        if key is not None and key in _TEXTS:
            _TEXTS.move_to_end(key)
            texts[kind] = _TEXTS[key]
        else:
            missing[f"{kind.value}:{int(doc['version'])}"] = kind
    if missing:
        fetched = await store.legal_documents.get_many(list(missing))
        for stored_key, full in fetched.items():
            kind = missing[stored_key]
            texts[kind] = dict(full["texts"])
            key = _content_key(full)
            if key is not None and all(
                sha256(t) == full["hashes"].get(loc) for loc, t in texts[kind].items()
            ):
                _TEXTS[key] = texts[kind]
                while len(_TEXTS) > _TEXTS_KEPT:
                    _TEXTS.popitem(last=False)
    # A version deleted between the two reads (a tenant purge) leaves the built-in in place.
    for kind, doc in latest.items():
        if kind in texts:
            current[kind] = LegalDocument(kind, int(doc["version"]), texts[kind])
    return current


async def current_document(store: TenantStore, kind: Kind) -> LegalDocument:
    return (await current_documents(store))[kind]


async def document_version(store: TenantStore, kind: Kind, version: int) -> LegalDocument | None:
    if version == 1:
        found = await store.legal_documents.get(f"{kind.value}:1")
        return LegalDocument(kind, 1, dict(found["texts"])) if found else builtin(kind)
    doc = await store.legal_documents.get(f"{kind.value}:{version}")
    return LegalDocument(kind, version, dict(doc["texts"])) if doc else None


async def publish(
    store: TenantStore,
    kind: Kind,
    texts: dict[str, str],
    *,
    published_by: str | None,
    promises: dict[str, Any] | None = None,
) -> LegalDocument:
    """Publish the next version; users are asked again on their next contact."""
    if not texts or any(loc not in LOCALES or not t.strip() for loc, t in texts.items()):
        raise ValueError("a document needs non-empty texts for tr and/or en")
    current = await current_document(store, kind)
    version = current.version + 1
    await store.legal_documents.put(
        f"{kind.value}:{version}",
        {
            "kind": kind.value,
            "version": version,
            "texts": texts,
            "hashes": {loc: sha256(t) for loc, t in texts.items()},
            "published_at": datetime.now(UTC),
            "published_by": published_by,
            # Settings the text states (privacy.notice: a longer KPI window needs a new one).
            **({"promises": promises} if promises else {}),
        },
    )
    return LegalDocument(kind, version, texts)


def was_shown(
    trail: list[dict[str, Any]], document: LegalDocument, conversation_id: str | None
) -> bool:
    """Whether the trail already proves `document` was shown in this conversation: one
    "shown" record per version and conversation is the evidence; more would only grow it."""
    return any(
        e.get("action") == ConsentAction.SHOWN
        and e.get("document") == document.kind.value
        and e.get("version") == document.version
        and e.get("conversation_id") == conversation_id
        for e in trail
    )


@dataclass(frozen=True)
class Standing:
    """Where a user stands against the current versions."""

    notice: LegalDocument
    eula: LegalDocument
    notice_acknowledged: bool
    eula_state: ConsentAction | None  # latest action on the current EULA version
    trail: list[dict[str, Any]]  # the user's records, newest first

    @property
    def complete(self) -> bool:
        return self.notice_acknowledged and self.eula_state is ConsentAction.ACCEPTED

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """The trail without the evidence of display: what the user decided."""
        return [e for e in self.trail if e.get("action") != ConsentAction.SHOWN]


async def standing(store: TenantStore, user_id: str) -> Standing:
    documents = await current_documents(store)
    notice, eula = documents[Kind.NOTICE], documents[Kind.EULA]
    trail = await store.consents.for_user(user_id, limit=200)
    acknowledged = any(
        e["document"] == Kind.NOTICE
        and e["version"] == notice.version
        and e["action"] == ConsentAction.ACKNOWLEDGED
        for e in trail
    )
    eula_state: ConsentAction | None = None
    for entry in trail:  # newest first
        if entry["action"] == ConsentAction.SHOWN:
            continue  # evidence of display, not a decision
        if entry["document"] == Kind.EULA and entry["version"] == eula.version:
            eula_state = ConsentAction(entry["action"])
            break
    return Standing(notice, eula, acknowledged, eula_state, trail)


async def record(
    store: TenantStore,
    *,
    user_id: str,
    document: LegalDocument,
    action: ConsentAction,
    locale: str,
    conversation_id: str | None,
    activity_id: str | None,
) -> dict[str, Any]:
    await ensure_stored(store, document)
    shown_locale = document.locale_of(locale)
    entry = {
        "user_id": user_id,
        "document": document.kind.value,
        "version": document.version,
        "text_sha256": document.hash(shown_locale),
        "action": action.value,
        "at": datetime.now(UTC),
        "conversation_id": conversation_id,
        "activity_id": activity_id,
        "locale": shown_locale,
    }
    await store.consents.append(entry)
    return entry
