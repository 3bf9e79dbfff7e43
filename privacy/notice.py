"""Keeping the published privacy notice true to the tenant's settings.

The notice is derived (privacy.facts) from the data map and the tenant record, but what users
acknowledge is a *published version*: a frozen text with its hash (privacy.consent). So when a
setting the notice states changes (the controller's details, its legal-basis choices, the
usage-statistics window) JUNO publishes the derived text as the next version, and everyone is
asked to read it again.

The rule for the KPI window (a setting the notice promises): it may always be shortened; it may
be lengthened past what the current version promises only together with a new version, never
silently. `juno tenant set` refuses a longer window unless told to republish, and the admin
desk's form always republishes. The window is also capped by the data map (`TENANT_DAYS_MAX`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from privacy.catalogs import LOCALES
from privacy.consent import Kind, LegalDocument, current_document, publish
from privacy.datamap import DATA_MAP, TENANT_DAYS_MAX, check_legal_bases
from privacy.facts import kpi_days, render_notice
from privacy.subprocessors import SubProcessor
from storage.collections import Coll
from storage.repositories import TenantRecord, TenantStore

KPI = "kpi_retention_days"


class NoticeRuleError(ValueError):
    """A change the published notice does not cover; the message says what to do."""


def promises(record: TenantRecord) -> dict[str, Any]:
    return {KPI: kpi_days(record)}


async def promised_kpi_days(store: TenantStore) -> tuple[int, int]:
    """(version, days) of the current notice's promise. Version 1 and notices published
    without a promise state the data map's default."""
    doc = await current_document(store, Kind.NOTICE)
    found = await store.legal_documents.get(f"notice:{doc.version}") if doc.version > 1 else None
    promised = (found or {}).get("promises") or {}
    default = DATA_MAP[Coll.KPI_EVENTS].retention.days or 0
    days = promised.get(KPI)
    return doc.version, days if isinstance(days, int) else default


def check_kpi_days(days: int) -> None:
    cap = TENANT_DAYS_MAX[KPI]
    if not 1 <= days <= cap:
        raise NoticeRuleError(f"kpi_retention_days must be between 1 and {cap} days, got {days}")


async def check_change(store: TenantStore, changes: dict[str, Any], *, republish: bool) -> None:
    """Raise NoticeRuleError if `changes` need what the caller did not agree to."""
    if "legal_bases" in changes:
        try:
            check_legal_bases(changes["legal_bases"])
        except ValueError as exc:
            raise NoticeRuleError(str(exc)) from None
    if KPI not in changes:
        return
    days = int(changes[KPI])
    check_kpi_days(days)
    version, promised = await promised_kpi_days(store)
    if days > promised and not republish:
        raise NoticeRuleError(
            f"the privacy notice in force (version {version}) promises {promised} days of "
            f"usage statistics; a longer window needs a new notice version: add "
            f"--republish-notice (users are asked to read it again)"
        )


async def republish_if_changed(
    store: TenantStore,
    record: TenantRecord,
    *,
    published_by: str | None,
    subprocessors: Sequence[SubProcessor] | None = None,
) -> LegalDocument | None:
    """Publish the notice derived from `record` as the next version if its text differs from
    the current version's; None when the current text already says it."""
    texts = {loc: render_notice(record, loc, subprocessors) for loc in LOCALES}
    current = await current_document(store, Kind.NOTICE)
    if all(current.texts.get(loc) == text for loc, text in texts.items()):
        return None
    return await publish(
        store, Kind.NOTICE, texts, published_by=published_by, promises=promises(record)
    )
