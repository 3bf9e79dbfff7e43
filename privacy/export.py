"""A user's export (GDPR Art. 15 and 20, KVKK Art. 11), built from the data map.

Nothing here lists stores: every personal store with a subject key is either exported (its
`export_fields`, for the records its subject key selects) or named under "not included" with
the reason the map gives. The Art. 15 facts (purposes, categories, recipients, retention,
source, rights) come from the same declarations, so the export cannot drift from the record of
processing.

The zip holds `data.json` (everything, machine-readable, with a `schema_version`), one
`stores/<collection>.json` per store that holds something, and `summary.txt`: a short,
human-readable summary in the user's language whose fixed texts live in `privacy/locales`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from privacy.consent import Kind, document_version, sha256
from privacy.datamap import DATA_MAP, Store, retention_days, top
from privacy.ropa import CONTROLLER, PROCESSOR, RIGHTS
from privacy.runs import collection_of
from privacy.strategies import subject_selector
from privacy.taxonomy import CATEGORIES
from storage.repositories import TenantRecord, TenantStore

SCHEMA_VERSION = "1.0"
LOCALES = ("tr", "en")


@dataclass(frozen=True)
class ExportResult:
    zip_bytes: bytes
    filename: str
    generated_at: datetime
    counts: dict[str, int]  # collection -> records exported
    files: tuple[str, ...]
    data: dict[str, Any]  # what data.json holds


@cache
def catalog(locale: str) -> dict[str, Any]:
    text = (resources.files("privacy") / "locales" / f"{locale}.json").read_text("utf-8")
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def pick_locale(locale: str | None) -> str:
    lang = (locale or "").split("-")[0].split("_")[0].lower()
    return lang if lang in LOCALES else "en"


def exported_stores() -> list[Store]:
    return [s for s in DATA_MAP.values() if s.personal and s.subject_key and s.export_fields]


def exempt_stores() -> list[Store]:
    return [s for s in DATA_MAP.values() if s.personal and s.subject_key and s.export_exempt]


def plain(value: Any) -> Any:
    """JSON-safe copy: datetimes as ISO 8601 UTC, nested documents and lists recursively."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _own_entries(value: Any, inner: str, user_id: str) -> Any:
    """From a list of people (`admins`), only the subject's own entries: an export must not
    hand out other people's ids."""
    if not isinstance(value, list):
        return value
    return [
        e for e in value if e == user_id or (isinstance(e, Mapping) and e.get(inner) == user_id)
    ]


async def _records(store: TenantStore, decl: Store, user_id: str) -> list[dict[str, Any]]:
    key = decl.subject_key or ""
    coll = collection_of(store, decl.collection)
    projection = {"_id": 0, **{top(f): 1 for f in decl.export_fields}}
    sort = [(decl.retention.clock, 1)] if decl.retention.clock in decl.export_fields else None
    docs = await coll.find(subject_selector(key, user_id), projection=projection, sort=sort)
    listed = top(key) if "." in key else None
    inner = key.split(".", 1)[1] if "." in key else ""
    records = []
    for doc in docs:
        record = {f: doc.get(f) for f in decl.export_fields if f in doc}
        if listed in record:
            record[listed] = _own_entries(record[listed], inner, user_id)
        records.append(plain(record))
    return records


def _facts(decl: Store, record: TenantRecord | None, locale: str) -> dict[str, Any]:
    local = catalog(locale)["stores"].get(decl.collection.value, {})
    days = retention_days(decl, record)
    return {
        "collection": decl.collection.value,
        "title": local.get("title", decl.title),
        "purpose": decl.purpose,
        "legal_basis": decl.legal_basis,
        "categories": [{"category": c, "description": CATEGORIES[c]} for c in decl.categories],
        "recipients": list(decl.recipients),
        "retention": {"days": days, "rule": decl.retention.rule, "at_end": decl.retention.at_end},
        "source": decl.source,
    }


async def build_export(
    store: TenantStore,
    user_id: str,
    *,
    locale: str,
    now: datetime | None = None,
    channel: str = "bot",
) -> ExportResult:
    """Everything JUNO holds about `user_id` in this tenant, as a zip. Audit-logged (actor:
    the user; target: the channel it was asked through) whether it succeeds or fails."""
    at = now or datetime.now(UTC)
    lang = pick_locale(locale)
    try:
        result = await _build(store, user_id, lang, at)
    except Exception:
        await _audit(store, user_id, channel, "failed", at)
        raise
    await _audit(store, user_id, channel, "built", at)
    return result


async def _audit(
    store: TenantStore, user_id: str, channel: str, outcome: str, at: datetime
) -> None:
    await store.audit_log.append(
        {"actor": user_id, "action": "export", "target": channel, "outcome": outcome, "at": at}
    )


async def _build(store: TenantStore, user_id: str, locale: str, at: datetime) -> ExportResult:
    record = await store.own_record.get()
    files: dict[str, bytes] = {}
    stores: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for decl in exported_stores():
        records = await _records(store, decl, user_id)
        name = f"stores/{decl.collection.value}.json" if records else None
        if name:
            files[name] = _json({"collection": decl.collection.value, "records": records})
        counts[decl.collection.value] = len(records)
        stores.append({**_facts(decl, record, locale), "records": len(records), "file": name})
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": plain(at),
        "locale": locale,
        "tenant": {"id": store.tenant_id, "name": record.name if record else None},
        "subject": {"user_id": user_id},
        "controller": CONTROLLER,
        "processor": PROCESSOR,
        "removal_mode": record.removal_mode if record else None,
        "rights": {
            "summary": RIGHTS,
            "how_to_exercise": catalog(locale)["rights"],
        },
        "stores": stores,
        "not_included": [
            {"collection": s.collection.value, "title": s.title, "reason": s.export_exempt}
            for s in exempt_stores()
        ],
    }
    data["documents"] = await _documents(store, user_id, files)
    data["files"] = ["data.json", *files, "summary.txt"]
    summary = render_summary(data, record, locale)
    zipped = _zip({"data.json": _json(data), **files, "summary.txt": summary.encode("utf-8")})
    return ExportResult(
        zip_bytes=zipped,
        filename=f"juno-export-{at:%Y-%m-%d}.zip",
        generated_at=at,
        counts=counts,
        files=tuple(data["files"]),
        data=data,
    )


async def _documents(
    store: TenantStore, user_id: str, files: dict[str, bytes]
) -> list[dict[str, Any]]:
    """The exact texts the user's consent records refer to (every version they were shown,
    acknowledged, accepted or declined), with their hashes, as evidence they can check."""
    trail = await store.consents.for_user(user_id)
    wanted = sorted(
        {(str(e.get("document")), e["version"]) for e in trail if isinstance(e.get("version"), int)}
    )
    out: list[dict[str, Any]] = []
    for kind_name, version in wanted:
        try:
            kind = Kind(kind_name)
        except ValueError:
            continue
        doc = await document_version(store, kind, version)
        if doc is None:
            continue
        names = []
        for loc, text in sorted(doc.texts.items()):
            name = f"documents/{kind.value}-v{version}.{loc}.md"
            files[name] = text.encode("utf-8")
            names.append(name)
        out.append(
            {
                "document": kind.value,
                "version": version,
                "sha256": {loc: sha256(text) for loc, text in doc.texts.items()},
                "files": names,
            }
        )
    return out


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def render_summary(data: Mapping[str, Any], record: TenantRecord | None, locale: str) -> str:
    cat = catalog(locale)
    text: dict[str, str] = cat["texts"]
    tenant = record.name if record else text["unknown_tenant"]
    kpi_days = record.kpi_retention_days if record else 90
    lines = [
        text["title"],
        "=" * len(text["title"]),
        "",
        text["prepared"].format(date=str(data["generated_at"])[:10], tenant=tenant),
        "",
        text["intro"],
        "",
        text["controller"].format(tenant=tenant),
        text["source"],
        "",
        text["held"],
        "-" * len(text["held"]),
    ]
    held = [s for s in data["stores"] if s["records"]]
    for entry in held:
        local = cat["stores"].get(entry["collection"], {})
        recipients = "; ".join(cat["recipients"].get(r, r) for r in entry["recipients"])
        lines += [
            "",
            f"* {entry['title']}: {text['records'].format(count=entry['records'])}",
            f"  {text['why']}: {local.get('purpose', entry['purpose'])}",
            f"  {text['kept']}: "
            + local.get("retention", entry["retention"]["rule"]).format(days=kpi_days),
            f"  {text['recipients']}: {recipients}",
        ]
    if not held:
        lines += ["", text["nothing"]]
    lines += ["", text["not_included"], "-" * len(text["not_included"])]
    for entry in data["not_included"]:
        local = cat["stores"].get(entry["collection"], {})
        reason = local.get("exempt", entry["reason"])
        lines.append(f"* {local.get('title', entry['title'])}: {reason}")
    lines += ["", text["rights"], "-" * len(text["rights"])]
    for right in cat["rights"]:
        lines += ["", f"* {right['name']}", f"  {right['how']}"]
    return "\n".join(lines) + "\n"
