"""Exports are complete (every personal store of the data map), carry the Art. 15 facts, are
summarized in the user's language, hold nobody else's data, and are audit-logged."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

import pytest

from privacy.datamap import DATA_MAP, LEGAL, DataMapError, Retention, validate
from privacy.export import LOCALES, build_export, catalog, exempt_stores, exported_stores
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, seed_every_store, seeded_stores

TENANT = "aaaaaaaa-0000-0000-0000-0000000000e1"
USER = "11111111-0000-0000-0000-0000000000e1"
OTHER = "22222222-0000-0000-0000-0000000000e2"


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


async def test_every_personal_store_is_exported_or_exempt_with_a_reason(db: Db) -> None:
    await seed_every_store(db, TENANT, USER, OTHER)
    result = await build_export(TenantStore(db, TENANT), USER, locale="en", now=NOW)
    files = unzip(result.zip_bytes)
    data = json.loads(files["data.json"])

    assert data["schema_version"] == "2.0"
    assert data["subject"] == {"user_id": USER}
    listed = {s["collection"]: s for s in data["stores"]}
    exempt = {s["collection"] for s in data["not_included"]}
    # Every personal store is accounted for, one way or the other, and none twice.
    assert set(listed) | exempt == {s.collection.value for s in seeded_stores()}
    assert not set(listed) & exempt
    assert all(s["reason"] for s in data["not_included"])

    for decl in exported_stores():
        name = decl.collection.value
        entry = listed[name]
        assert entry["records"] >= 1, name
        assert entry["file"] == f"stores/{name}.json"
        records = json.loads(files[entry["file"]])["records"]
        assert len(records) == entry["records"] == result.counts[name]
        for field in decl.export_fields:
            assert field in records[0], (name, field)
        # The Art. 15 facts, from the data map, in the user's language (privacy/locales).
        texts = catalog("en")["stores"][name]
        assert entry["purpose"] == texts["purpose"] and entry["title"] == texts["title"]
        assert entry["legal_basis"]["key"] == LEGAL[decl.collection].bases[0]
        assert entry["legal_basis"]["gdpr"].startswith("GDPR Art. 6(1)")
        assert entry["recipients"] == [catalog("en")["recipients"][r] for r in decl.recipients]
        assert texts["source"] in entry["source"]
        assert [c["category"] for c in entry["categories"]] == list(decl.categories)
        if "{days}" in texts["record"]["retention"]:  # the tenant's own window, stated
            assert f"{entry['retention']['days']} days" in entry["retention"]["text"]
    assert data["rights"]["summary"] and len(data["rights"]["how_to_exercise"]) >= 4
    assert (
        set(files)
        == set(data["files"])
        == {"data.json", "summary.txt"} | {e["file"] for e in data["stores"] if e["file"]}
    )
    # Lists of people (admins) carry only the subject's entry; nobody else appears anywhere.
    for name, content in files.items():
        assert OTHER not in content.decode("utf-8"), name
    assert await undeclared(db) == []


async def test_a_store_added_without_export_handling_fails_validation() -> None:
    profiles = DATA_MAP[Coll.PROFILES]
    newcomer = dataclasses.replace(
        profiles, collection=Coll.EXPORTS, export_fields=(), export_exempt=None
    )
    with pytest.raises(DataMapError, match="no export fields and no exemption"):
        validate({**DATA_MAP, Coll.EXPORTS: newcomer})


async def test_a_store_with_a_limit_but_no_clock_fails_validation() -> None:
    kpi = DATA_MAP[Coll.KPI_EVENTS]
    unenforced = dataclasses.replace(kpi, retention=Retention(30, "delete", "30 days"))
    with pytest.raises(DataMapError, match="needs a clock or expiry"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: unenforced})


@pytest.mark.parametrize("locale", LOCALES)
async def test_summary_is_in_the_users_language(db: Db, locale: str) -> None:
    store = await seed_every_store(db, TENANT, USER, OTHER)
    result = await build_export(store, USER, locale=f"{locale}-XX", now=NOW)
    summary = unzip(result.zip_bytes)["summary.txt"].decode("utf-8")
    texts = catalog(locale)["texts"]
    assert summary.startswith(texts["title"])
    for key in ("held", "rights", "not_included"):
        assert texts[key] in summary
    assert catalog(locale)["stores"]["kpi_events"]["title"] in summary
    assert "Contoso" in summary
    assert result.filename == "juno-export-2026-11-25.zip"


def test_catalogs_cover_every_store_and_recipient() -> None:
    recipients = {r for s in DATA_MAP.values() for r in s.recipients}
    for locale in LOCALES:
        cat = catalog(locale)
        assert set(cat["texts"]) == set(catalog("en")["texts"])
        for decl in exported_stores():
            assert {"title", "purpose", "retention"} <= set(cat["stores"][decl.collection.value])
        for decl in exempt_stores():
            assert "exempt" in cat["stores"][decl.collection.value]
        missing = {r for r in recipients if r not in cat["recipients"]}
        # Stores that are not personal never appear in a summary.
        personal = {r for s in DATA_MAP.values() if s.personal for r in s.recipients}
        assert not missing & personal, (locale, missing)


async def test_export_of_someone_unknown_is_empty_but_complete(db: Db) -> None:
    store = TenantStore(db, TENANT)
    result = await build_export(store, USER, locale="tr", now=NOW)
    data: dict[str, Any] = json.loads(unzip(result.zip_bytes)["data.json"])
    assert all(s["records"] == 0 and s["file"] is None for s in data["stores"])
    assert len(data["stores"]) == len(exported_stores())
    summary = unzip(result.zip_bytes)["summary.txt"].decode("utf-8")
    assert catalog("tr")["texts"]["nothing"] in summary


async def test_every_export_is_audit_logged(db: Db) -> None:
    store = await seed_every_store(db, TENANT, USER, OTHER)
    await build_export(store, USER, locale="en", now=NOW, channel="api")
    [entry] = await store.collections[Coll.AUDIT_LOG].find({"action": "export"})
    assert (entry["actor"], entry["target"], entry["outcome"]) == (USER, "api", "built")
    assert await undeclared(db) == []
