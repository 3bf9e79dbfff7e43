"""Notices and records a DPO can sign: every KVKK Art. 10 and GDPR Art. 13/14/15/30 item of
docs/privacy.md's table is checked against the generated notice, export and records of a tenant
with controller details set, in Turkish and English; both catalogs carry every text; the KPI
window cannot outgrow the published notice."""

from __future__ import annotations

import io
import json
import re
import string
import zipfile
from pathlib import Path
from typing import Any

import pytest

from privacy.catalogs import LOCALES, catalog
from privacy.consent import Kind, current_document
from privacy.datamap import (
    DATA_MAP,
    LEGAL,
    LEGAL_BASES,
    SECURITY_MEASURES,
    SUBJECTS,
    TENANT_DAYS_MAX,
    retention_days,
)
from privacy.export import build_export
from privacy.facts import basis_facts, notice_facts, render_notice
from privacy.notice import NoticeRuleError, check_change, promised_kpi_days, republish_if_changed
from privacy.removal_modes import RemovalMode
from privacy.ropa import (
    processor_record,
    processor_record_as_markdown,
    record_for_tenant,
    tenant_record_as_markdown,
)
from privacy.strategies import STRATEGIES
from privacy.subprocessors import declared
from storage.collections import Coll
from storage.repositories import ControllerDetails, TenantRecord, TenantRegistry, TenantStore
from tests.support.privacy_seed import NOW, Db, register, seed_every_store

TENANT = "aaaaaaaa-0000-0000-0000-00000000016a"
USER = "11111111-0000-0000-0000-00000000016a"
OTHER = "22222222-0000-0000-0000-00000000016b"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "privacy.md"
DETAILS = ControllerDetails(
    legal_name="Contoso Bilişim Anonim Şirketi",
    address="Büyükdere Caddesi No. 1, 34394 Şişli, İstanbul",
    email="kvkk@contoso.com.tr",
    dpo_contact="Ayşe Işık, kvkk@contoso.com.tr",
    verbis_id="VERBIS-0042",
    representative="Contoso Europe B.V., Amsterdam",
)
SUBPROCESSORS = declared(
    mongodb_uri="mongodb+srv://juno.abcde.mongodb.net",
    hosting_provider="Hetzner Online GmbH",
    hosting_location="Germany (EU)",
)
PROCESSOR = ("JUNO Yazılım Ltd.", "privacy@juno.example")


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return {prefix.rstrip("."): value}
    out: dict[str, Any] = {}
    for key, inner in items:
        out.update(flat(inner, f"{prefix}{key}."))
    return out


def strings(value: Any) -> str:
    """Every string in a JSON document, one per line (so quotes are not escaped)."""
    return "\n".join(str(v) for v in flat(value).values())


def test_both_catalogs_carry_every_data_map_text() -> None:
    """A missing translation is a missing key: every store, category, recipient, legal basis,
    data subject, measure and strategy the map declares has its text in tr and en, with the
    same placeholders."""
    en, tr = (flat(catalog(loc)) for loc in ("en", "tr"))
    assert set(en) - set(tr) == set()
    only_tr = set(tr) - set(en)
    assert only_tr == {f"strategies.{name}" for name in STRATEGIES}, only_tr
    for key in set(en) & set(tr):
        if isinstance(en[key], str):
            assert placeholders(en[key]) == placeholders(tr[key]), key
            assert tr[key].strip(), key
    for loc in LOCALES:
        cat = catalog(loc)
        for store in DATA_MAP.values():
            texts = cat["stores"][store.collection.value]
            assert {"title", "purpose", "source"} <= set(texts["record"]), (loc, store)
            assert texts["record"]["retention"].strip()
            if store.retention.tenant_days:
                assert "{days}" in texts["record"]["retention"], store.collection
            for category in store.categories:
                assert {"name", "purpose"} <= set(cat["categories"][category]), category
            for recipient in store.recipients:
                assert recipient in cat["recipient_groups"], recipient
                assert recipient in cat["recipients"], recipient
            if store.personal:
                assert {"title", "purpose", "retention", "source"} <= set(texts), store
        assert set(cat["bases"]) == set(LEGAL_BASES)
        assert set(cat["subjects"]) == set(SUBJECTS)
        assert set(cat["measures"]) == set(SECURITY_MEASURES)
        assert set(cat["modes"]) == {m.value for m in RemovalMode}
        assert len(cat["kvkk_rights"]) == 9  # KVKK Art. 11(1)(a)-(ğ)
    assert set(catalog("tr")["strategies"]) == set(STRATEGIES)


def test_every_personal_store_declares_its_legal_facts() -> None:
    for store in DATA_MAP.values():
        if store.personal:
            legal = LEGAL[store.collection]
            assert legal.bases and set(legal.bases) <= set(LEGAL_BASES)
            assert legal.subjects and set(legal.subjects) <= set(SUBJECTS)


# The docs table ----------------------------------------------------------------------------


def table_rows() -> list[dict[str, str]]:
    text = DOCS.read_text("utf-8")
    section = text.split("## Notices and records", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("| ") and "---" not in ln]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")), strict=True))
            for ln in lines[1:]]  # fmt: skip
    return rows


def test_the_table_covers_every_kvkk_article_10_item_and_gdpr_article() -> None:
    rows = table_rows()
    provisions = " ".join(r["provision"] for r in rows)
    for needed in ("10(1)(a)", "10(1)(b)", "10(1)(c)", "10(1)(ç)", "10(1)(d)", "Art. 11",
                   "13(1)(a)", "13(1)(b)", "13(1)(c)", "13(1)(e)", "13(1)(f)", "13(2)(a)",
                   "14(1)(d)", "14(2)(f)", "15(1)(h)", "15(2)", "30(1)(c)", "30(1)(g)",
                   "30(2)(a)", "30(2)(b)", "30(2)(c)", "30(2)(d)", "KVKK Art. 9"):  # fmt: skip
        assert needed in provisions, needed
    for row in rows:
        assert re.fullmatch(r"`[a-z0-9_.]+`", row["key"]), row


async def configured(db: Db, *, kpi_days: int = 180) -> TenantStore:
    store = await seed_every_store(db, TENANT, USER, OTHER)
    # The seeded sample "published document" is not a real notice version.
    await store.collections[Coll.LEGAL_DOCUMENTS].delete_many({})
    changes = {
        "controller": DETAILS,
        "legal_bases": {"profiles": "contract"},
        "kpi_retention_days": kpi_days,
    }
    await check_change(store, changes, republish=True)
    record = await TenantRegistry(db).update(TENANT, changes)
    published = await republish_if_changed(
        store, record, published_by=USER, subprocessors=SUBPROCESSORS
    )
    assert published is not None and published.version == 2
    return store


def expected(key: str, output: str, record: TenantRecord, locale: str) -> list[str]:
    """The strings fact `key` must show in `output`, computed from the catalogs and the map
    independently of how the output is rendered."""
    cat = catalog(locale)
    person = output in ("notice", "summary", "data.json")
    kind, _, rest = key.partition(".")
    match kind:
        case "controller":
            return [str(getattr(DETAILS, rest))]
        case "purpose":
            texts = cat["stores"][rest]
            return [texts["purpose"] if person else texts["record"]["purpose"]]
        case "basis":
            decl = DATA_MAP[Coll(rest)]
            chosen = record.legal_bases.get(rest, LEGAL[decl.collection].bases[0])
            return [basis_facts(chosen, locale)["text"]]
        case "recipients":
            group = "recipients" if person else "recipient_groups"
            return [cat[group][r] for r in DATA_MAP[Coll(rest)].recipients]
        case "transfers":
            return [s.name for s in SUBPROCESSORS] + [s.safeguards[locale] for s in SUBPROCESSORS]
        case "method":
            return [cat["legal"]["method"].split("{")[0].strip()]
        case "source":
            texts = cat["stores"][rest]
            return [texts["source"] if person else texts["record"]["source"]]
        case "category":
            return [cat["categories"][rest]["name"]]
        case "datum":
            return [cat["categories"][rest]["purpose"]]
        case "legal":
            return [cat["legal"][rest]]
        case "retention":
            template = cat["stores"][rest]["record"]["retention"]
            return [template.format(days=record.kpi_retention_days)]
        case "kvkk_rights" | "gdpr_rights":
            return list(cat[kind])
        case "apply":
            return [notice_facts(record, locale, SUBPROCESSORS)["rights"]["how_to_apply"]]
        case "subjects":
            return [cat["subjects"][s] for s in LEGAL[Coll(rest)].subjects]
        case "measures":
            return [cat["measures"][m] for m in SECURITY_MEASURES]
        case "processor":
            return list(PROCESSOR)
    raise AssertionError(f"unknown key {key}")


@pytest.mark.parametrize("locale", LOCALES)
async def test_every_row_of_the_docs_table_is_in_the_generated_output(db: Db, locale: str) -> None:
    store = await configured(db)
    record = await store.own_record.get()
    assert record is not None
    notice = await current_document(store, Kind.NOTICE)
    export = await build_export(store, USER, locale=locale, now=NOW, subprocessors=SUBPROCESSORS)
    with zipfile.ZipFile(io.BytesIO(export.zip_bytes)) as zf:
        summary = zf.read("summary.txt").decode("utf-8")
        data = zf.read("data.json").decode("utf-8")
    kw: dict[str, Any] = {"locale": locale, "subprocessors": SUBPROCESSORS, "processor": PROCESSOR}
    outputs = {
        "notice": [notice.texts[locale]],
        "summary": [summary],
        "data.json": [strings(json.loads(data))],
        # Markdown and JSON each carry every fact.
        "controller": [
            tenant_record_as_markdown(record, **kw),
            strings(record_for_tenant(record, **kw)),
        ],
        "processor": [
            processor_record_as_markdown([record], **kw),
            strings(processor_record([record], **kw)),
        ],
    }
    checked = 0
    for row in table_rows():
        key = row["key"].strip("`")
        for output in (o.strip() for o in row["outputs"].split(",")):
            for text in expected(key, output, record, locale):
                for rendered in outputs[output]:
                    assert text in rendered, (row["item"], output, locale, text)
                    checked += 1
    assert checked > 150


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_3650_day_window_is_refused_and_the_texts_state_the_configured_days(
    db: Db, locale: str
) -> None:
    store = await configured(db, kpi_days=365)
    with pytest.raises(NoticeRuleError, match="between 1 and 365"):
        await check_change(store, {"kpi_retention_days": 3650}, republish=True)
    record = await store.own_record.get()
    assert record is not None
    notice = (await current_document(store, Kind.NOTICE)).texts[locale]
    ropa = tenant_record_as_markdown(record, locale=locale)
    stated = catalog(locale)["stores"]["kpi_events"]["record"]["retention"].format(days=365)
    for text in (notice, ropa):
        assert stated in text
        assert "3 months" not in text and "3 ay" not in text
    assert TENANT_DAYS_MAX["kpi_retention_days"] == 365
    # A window stored before the cap existed is held to it: in the texts and in the sweep.
    legacy = await TenantRegistry(db).update(TENANT, {"kpi_retention_days": 3650})
    assert retention_days(DATA_MAP[Coll.KPI_EVENTS], legacy) == 365
    for text in (render_notice(legacy, locale), tenant_record_as_markdown(legacy, locale=locale)):
        assert stated in text and "3650" not in text


async def test_a_longer_kpi_window_needs_a_new_notice_version(db: Db) -> None:
    await register(db, TENANT, name="Contoso")
    store = TenantStore(db, TENANT)
    assert await promised_kpi_days(store) == (1, 90)
    await check_change(store, {"kpi_retention_days": 30}, republish=False)  # shorter: fine
    with pytest.raises(NoticeRuleError, match=r"promises 90 days.*--republish-notice"):
        await check_change(store, {"kpi_retention_days": 120}, republish=False)
    record = await TenantRegistry(db).update(TENANT, {"kpi_retention_days": 120})
    published = await republish_if_changed(store, record, published_by=None)
    assert published is not None and published.version == 2
    assert await promised_kpi_days(store) == (2, 120)
    await check_change(store, {"kpi_retention_days": 120}, republish=False)
    # The same settings again publish nothing: users are not asked twice for the same text.
    assert await republish_if_changed(store, record, published_by=None) is None
    with pytest.raises(NoticeRuleError, match="legal basis must be one of"):
        await check_change(store, {"legal_bases": {"profiles": "consent"}}, republish=True)
    with pytest.raises(NoticeRuleError, match="fixed by law"):
        await check_change(store, {"legal_bases": {"consents": "contract"}}, republish=True)


@pytest.mark.parametrize("locale", LOCALES)
def test_until_the_controller_is_set_the_notice_says_what_is_missing(locale: str) -> None:
    bare = TenantRecord(tenant_id=TENANT, name="Contoso")
    text = render_notice(bare, locale)
    legal = catalog(locale)["legal"]
    names = [legal[f"missing_{n}"] for n in ("legal_name", "address", "email", "dpo_contact")]
    assert legal["controller_missing"].format(missing=", ".join(names)) in text
    partial = bare.model_copy(
        update={"controller": DETAILS.model_copy(update={"dpo_contact": None})}
    )
    text = render_notice(partial, locale)
    assert DETAILS.legal_name in text and DETAILS.address in text
    assert legal["controller_missing"].format(missing=legal["missing_dpo_contact"]) in text
