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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from privacy.catalogs import LOCALES, catalog, pick_locale
from privacy.consent import Kind, document_version, sha256
from privacy.datamap import DATA_MAP, Dataset, top
from privacy.facts import controller_lines, notice_facts, store_facts, texts
from privacy.strategies import subject_selector
from privacy.subprocessors import SubProcessor
from storage.repositories import TenantRecord, TenantStore

# 2.0: every text in the user's language; legal bases, transfers and the controller structured.
SCHEMA_VERSION = "2.0"
__all__ = ["LOCALES", "build_export", "catalog", "exempt_stores", "exported_stores", "pick_locale"]


@dataclass(frozen=True)
class ExportResult:
    zip_bytes: bytes
    filename: str
    generated_at: datetime
    counts: dict[str, int]  # collection -> records exported
    files: tuple[str, ...]
    data: dict[str, Any]  # what data.json holds


def exported_stores() -> list[Dataset]:
    return [s for s in DATA_MAP.values() if s.personal and s.subject_key and s.export_fields]


def exempt_stores() -> list[Dataset]:
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


async def _records(store: TenantStore, dataset: Dataset, user_id: str) -> list[dict[str, Any]]:
    key = dataset.subject_key or ""
    coll = dataset.handle(store)
    projection = {"_id": 0, **{top(f): 1 for f in dataset.export_fields}}
    sort = (
        [(dataset.retention.clock, 1)] if dataset.retention.clock in dataset.export_fields else None
    )
    docs = await coll.find(subject_selector(key, user_id), projection=projection, sort=sort)
    listed = top(key) if "." in key else None
    inner = key.split(".", 1)[1] if "." in key else ""
    records = []
    for doc in docs:
        record = {f: doc.get(f) for f in dataset.export_fields if f in doc}
        if listed in record:
            record[listed] = _own_entries(record[listed], inner, user_id)
        records.append(plain(record))
    return records


def _facts(
    dataset: Dataset,
    record: TenantRecord | None,
    locale: str,
    subprocessors: Sequence[SubProcessor] | None,
) -> dict[str, Any]:
    """The Art. 15(1) facts of one store, in the user's language (privacy.facts)."""
    facts = store_facts(dataset, record, locale, subprocessors)
    return {
        "collection": facts["collection"],
        "title": facts["title_for_person"],
        "purpose": facts["purpose_for_person"],
        "legal_basis": facts["legal_basis"],
        "categories": [
            {"category": c["category"], "description": c["name"], "purpose": c["purpose"]}
            for c in facts["categories"]
        ],
        "recipients": facts["recipients_for_person"],
        "transfers": facts["transfers"],
        "retention": facts["retention"],
        "source": facts["method"],
    }


async def build_export(
    store: TenantStore,
    user_id: str,
    *,
    locale: str,
    now: datetime | None = None,
    channel: str = "bot",
    subprocessors: Sequence[SubProcessor] | None = None,
) -> ExportResult:
    """Everything JUNO holds about `user_id` in this tenant, as a zip. Audit-logged (actor:
    the user; target: the channel it was asked through) whether it succeeds or fails."""
    at = now or datetime.now(UTC)
    lang = pick_locale(locale)
    try:
        result = await _build(store, user_id, lang, at, subprocessors)
    except Exception:
        await _audit(store, user_id, channel, "failed", at)
        raise
    await _audit(store, user_id, channel, "built", at)
    return result


async def _audit(
    store: TenantStore, user_id: str, channel: str, outcome: str, at: datetime
) -> None:
    await store.audit_log.record(
        actor=user_id, action="export", target=channel, outcome=outcome, at=at
    )


async def _build(
    store: TenantStore,
    user_id: str,
    locale: str,
    at: datetime,
    subprocessors: Sequence[SubProcessor] | None,
) -> ExportResult:
    record = await store.own_record.get()
    notice = notice_facts(record, locale, subprocessors)
    files: dict[str, bytes] = {}
    stores: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for dataset in exported_stores():
        records = await _records(store, dataset, user_id)
        name = f"stores/{dataset.collection.value}.json" if records else None
        if name:
            files[name] = _json({"collection": dataset.collection.value, "records": records})
        counts[dataset.collection.value] = len(records)
        facts = _facts(dataset, record, locale, subprocessors)
        stores.append({**facts, "records": len(records), "file": name})
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": plain(at),
        "locale": locale,
        "tenant": {"id": store.tenant_id, "name": record.name if record else None},
        "subject": {"user_id": user_id},
        "controller": notice["controller"],
        "processor": texts(locale)["processor_line"],
        "removal_mode": record.removal_mode if record else None,
        "rights": {
            "summary": texts(locale)["rights_h"],
            **notice["rights"],
            "how_to_exercise": catalog(locale)["rights"],
        },
        # GDPR Art. 15(1)(c) and 15(2): recipients abroad and the safeguards of each transfer.
        "transfers": notice["transfers"],
        # Art. 15(1)(h); KVKK Art. 11(1)(g).
        "automated_decisions": notice["automated_decisions"],
        "authentication": notice["authentication"],
        "stores": stores,
        "not_included": [_exempt(s, locale) for s in exempt_stores()],
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


def _exempt(dataset: Dataset, locale: str) -> dict[str, Any]:
    local = catalog(locale)["stores"][dataset.collection.value]
    return {
        "collection": dataset.collection.value,
        "title": local["title"],
        "reason": local["exempt"],
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1).encode("utf-8")


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def render_summary(data: Mapping[str, Any], record: TenantRecord | None, locale: str) -> str:
    """summary.txt: what data.json holds, in the user's language, with every Art. 15 fact."""
    cat = catalog(locale)
    text: dict[str, str] = cat["texts"]
    legal = texts(locale)
    tenant = record.name if record else text["unknown_tenant"]
    lines = [
        text["title"],
        "=" * len(text["title"]),
        "",
        text["prepared"].format(date=str(data["generated_at"])[:10], tenant=tenant),
        "",
        text["intro"],
        "",
        legal["controller_h"] + ": " + " ".join(controller_lines(data["controller"], locale)),
        text["source"],
        "",
        text["held"],
        "-" * len(text["held"]),
    ]
    held = [s for s in data["stores"] if s["records"]]
    for entry in held:
        data_items = "; ".join(c["description"] for c in entry["categories"])
        lines += [
            "",
            f"* {entry['title']}: {text['records'].format(count=entry['records'])}",
            f"  {legal['data_items']}: {data_items}",
            f"  {text['why']}: {entry['purpose']}",
            f"  {legal['basis']}: {entry['legal_basis']['text']}",
            f"  {legal['source']}: {entry['source']}",
            f"  {text['kept']}: {entry['retention']['text']}",
            f"  {text['recipients']}: {'; '.join(entry['recipients'])}",
        ]
    if not held:
        lines += ["", text["nothing"]]
    lines += ["", text["not_included"], "-" * len(text["not_included"])]
    for entry in data["not_included"]:
        lines.append(f"* {entry['title']}: {entry['reason']}")
    lines += ["", legal["art15_h"], "-" * len(legal["art15_h"]), "", legal["export_transfers"]]
    lines += [f"* {sub['text']}" for sub in data["transfers"]]
    lines += ["", legal["auth_h"] + ": " + data["authentication"]]
    lines += ["", legal["automated_h"] + ": " + data["automated_decisions"]]
    lines += ["", text["rights"], "-" * len(text["rights"]), "", legal["rights_kvkk"]]
    lines += [f"* {right}" for right in data["rights"]["kvkk_art_11"]]
    lines += ["", legal["rights_gdpr"]]
    lines += [f"* {right}" for right in data["rights"]["gdpr"]]
    for right in cat["rights"]:
        lines += ["", f"* {right['name']}", f"  {right['how']}"]
    lines += ["", data["rights"]["how_to_apply"]]
    return "\n".join(lines) + "\n"
