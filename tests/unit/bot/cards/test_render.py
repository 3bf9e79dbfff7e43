"""Every card JUNO sends, through Microsoft's own Adaptive Cards renderer (npm `adaptivecards`,
schema 1.5) under jsdom: parsed, validated and rendered with zero validation events, no more
buttons in a row than Teams shows, and no button title long enough to be cut off.

The renderer is installed with npm once per test session into a temporary folder (as
tests/unit/manifest/test_manifest.py fetches the Teams manifest schema); nothing of it is copied
into the repository. Without npm the fixture fails rather than skips: an unchecked card is what
this test exists to prevent. Each builder runs in both languages with long and many values."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bot.cards import admin, blocks, export, legal, people, processor
from bot.flows.admin_home import SYNC_STATE_KEY, read_desk
from bot.i18n import catalog
from privacy import rectification
from privacy.consent import Kind, LegalDocument, builtin
from privacy.dsr import DsrRequest, DsrStatus, DsrType, open_request
from privacy.incidents import (
    DATA_CATEGORIES,
    SUBJECT_KINDS,
    Event,
    EventKind,
    Incident,
    Status,
    affected,
    facts,
    open_incident,
)
from privacy.security_summary import Deployment
from privacy.subprocessors import declared
from storage.repositories import TenantRecord, TenantStore

CHECKER = Path(__file__).resolve().parents[3] / "support" / "adaptive_cards_check.js"
NPM_SPECS = ("adaptivecards@3", "jsdom@26")
LONG = "Çağlayan-Şükrüoğlu İnceoğlu-Abdülkadiroğlu Gültekin"  # a long, all-Turkish name
LONG_TITLE = "Kıdemli Kurumsal Bilgi Güvenliği ve Uyum Programları Müdür Yardımcısı"
LOCALES = ("en", "tr")


@pytest.fixture(scope="session")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"npm is required to install the official renderer ({', '.join(NPM_SPECS)})")
    folder = tmp_path_factory.mktemp("renderer")
    command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
    result = subprocess.run(
        [*command, "--ignore-scripts", "--loglevel=error", *NPM_SPECS],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm install {' '.join(NPM_SPECS)} failed: {result.stderr[-500:]}")
    return folder / "node_modules"


def check(renderer: Path, tmp_path: Path, named: list[tuple[str, blocks.Card]]) -> list[Any]:
    source = tmp_path / "cards.json"
    source.write_text(json.dumps([{"name": n, "card": c} for n, c in named], default=str))
    report = tmp_path / "report.json"
    node = shutil.which("node") or "node"
    subprocess.run(
        [node, str(CHECKER), str(renderer), str(source), str(report), str(blocks.MAX_ACTIONS)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    found: list[Any] = json.loads(report.read_text())
    return found


def person(n: int, *, long: bool = False, **extra: Any) -> dict[str, Any]:
    name = f"{LONG} {n:02d}" if long else f"Kişi {n:02d}"
    return {
        "user_id": f"u{n:04d}",
        "display_name": name,
        "job_title": LONG_TITLE if long else "Analist",
        "department": "Finans ve Kurumsal Performans Yönetimi",
        "office_location": "İstanbul — Levent, Kule 2, Kat 34",
        "mail": f"kisi{n}@example.com",
        "employee_id": f"E{n:06d}",
        **extra,
    }


def pure_cards(locale: str) -> list[tuple[str, blocks.Card]]:
    """Every card that needs no database, with long and many values."""
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    trail = [
        {"at": now - timedelta(days=i), "document": ("notice", "eula")[i % 2],
         "version": 1 + i // 2, "action": ("acknowledged", "accepted", "withdrawn")[i % 3]}
        for i in range(25)
    ]  # fmt: skip
    reports = [person(i, long=True) for i in range(30)]
    chain = [person(100 + i, long=True) for i in range(12)]
    me = person(
        7,
        long=True,
        is_intern=True,
        overrides={"job_title": {"value": LONG_TITLE, "approved_at": "2026-11-01"}},
    )
    one_language = LegalDocument(Kind.NOTICE, 3, {"en" if locale == "tr" else "tr": "x " * 400})
    tenant = TenantRecord(tenant_id=str(uuid.uuid4()), name=LONG)
    erasure = DsrRequest(
        id="r0123abcd", user_id="u1", type=DsrType.ERASURE, status=DsrStatus.OPEN,
        created_at=now, due_at=now + timedelta(days=30), channel="bot",
    )  # fmt: skip
    built: list[tuple[str, blocks.Card]] = [
        ("notice", legal.notice_card(builtin(Kind.NOTICE), locale)),
        ("notice read-only", legal.notice_card(builtin(Kind.NOTICE), locale, with_button=False)),
        ("notice one language", legal.notice_card(one_language, locale)),
        ("eula", legal.eula_card(builtin(Kind.EULA), locale)),
        ("eula read-only", legal.eula_card(builtin(Kind.EULA), locale, with_buttons=False)),
        ("help", legal.help_card(locale)),
        ("consents", legal.consents_card(locale, trail, can_withdraw=True)),
        ("consents empty", legal.consents_card(locale, [], can_withdraw=False)),
        ("person", people.person_card(me, locale, manager=chain[-1], chain=chain, reports=reports,
                                     provenance=True, title="Profil", can_correct=True)),
        ("person alone", people.person_card(person(1), locale, manager=None, chain=[], reports=[])),
        ("search", people.search_card(locale, LONG, reports[8:16], total=30, offset=8,
                                     capped=True)),
        ("org chart", people.org_chart_card(me, locale, chain=chain, reports=reports, offset=10)),
        ("org chart alone", people.org_chart_card(person(2), locale, chain=[], reports=[])),
        ("search prompt", people.search_prompt_card(locale)),
        ("correction", people.correction_card(locale, rectification.CORRECTABLE)),
        ("export ready", export.export_ready_card(locale, "https://juno.example.com/x", "2026")),
        ("removal", admin.removal_card(tenant, locale)),
        ("publish", admin.publish_card(locale)),
        ("ropa", admin.ropa_card(tenant, locale)),
        ("controller", admin.controller_card(tenant, locale)),
        ("erasure", admin.erasure_card(erasure, LONG, tenant, locale)),
        ("erasure, name gone", admin.erasure_card(erasure, None, tenant, locale)),
        ("incident", processor.incident_card(incident(now), locale, now)),
        ("incident closed", processor.incident_card(
            incident(now, status=Status.CLOSED), locale, now + timedelta(days=5))),
        ("subprocessors", processor.subprocessors_card(EVERY_SUBPROCESSOR, locale)),
    ]  # fmt: skip
    return built


EVERY_SUBPROCESSOR = declared(
    mongodb_uri="mongodb+srv://u:p@c0.abcd.mongodb.net/juno",
    hosting_provider="Hetzner Online GmbH — Falkenstein/Nürnberg veri merkezleri",
    hosting_location="Germany (EU)",
)


def incident(now: datetime, status: Status = Status.OPEN) -> Incident:
    """An incident with every kind of person and data category and a long timeline."""
    found = facts(
        summary="ayrıntı " * 250, detected_at=now - timedelta(hours=5),
        consequences="sonuç " * 200, measures="önlem " * 200, contact="dpo@operator.example",
        now=now,
    )  # fmt: skip
    share = affected(SUBJECT_KINDS, 123_456, DATA_CATEGORIES, 9_876_543)
    events = [Event(EventKind.DETECTED, found.detected_at), Event(EventKind.OPENED, now)]
    events += [
        Event(EventKind.NOTIFIED if i % 2 else EventKind.NOT_REACHED, now, "updated (teams)", i, 9)
        for i in range(10)
    ]
    events += [Event(EventKind.UPDATED, now, "önlem " * 50), Event(EventKind.CLOSED, now, "bitti")]
    return Incident(
        id="INC-20261130-abcdef", tenant_id="t", status=status, facts=found, affected=share,
        opened_at=now, updated_at=now, timeline=tuple(events), notified_at=now,
        closed_at=now if status is Status.CLOSED else None,
    )  # fmt: skip


async def admin_home(db: AsyncDatabase[dict[str, Any]], locale: str) -> blocks.Card:
    """The admin desk with many open requests of every kind and a finished sync."""
    tenant = TenantRecord(tenant_id=str(uuid.uuid4()), name=LONG, admins=["a1", "a2"])
    store = TenantStore(db, tenant.tenant_id)
    for n in range(12):
        kind = (DsrType.ERASURE, DsrType.ACCESS, DsrType.RECTIFICATION)[n % 3]
        if kind is DsrType.RECTIFICATION:
            await rectification.propose(store, f"u{n}", "job_title", LONG_TITLE)
        else:
            await open_request(store, f"u{n}", kind, details="ayrıntı " * 30)
    finished = datetime.now(UTC) - timedelta(minutes=5)
    await store.sync_state.put(
        SYNC_STATE_KEY,
        {"last_run": {"status": "ok", "finished_at": finished, "created": 1200, "updated": 3,
                      "removed": 1}, "first_success_at": finished},
    )  # fmt: skip
    now = datetime.now(UTC)
    for n in range(8):  # more incidents than the desk lists
        found = facts(summary="ihlal " * 40, detected_at=now, consequences="c", measures="m",
                      contact="dpo@operator.example")  # fmt: skip
        share = affected(SUBJECT_KINDS, 10, DATA_CATEGORIES[:3], 10)
        await open_incident(store, f"INC-20261130-{n:06x}", found, share, actor="operator")
    deployment = Deployment(
        public_base_url="https://juno.example.com", embedded_database=False, database_tls=True,
        bot_authenticated=True, service_url_checked=True, pseudonym_key_configured=True,
        signing_key_configured=True, retention_job=True, retention_interval_hours=24,
        soft_delete_grace_days=30, export_link_hours=24, subprocessors=EVERY_SUBPROCESSOR,
    )  # fmt: skip
    desk = await read_desk(store, tenant)
    return admin.home_card(desk, locale, authority_host="https://login.test", deployment=deployment)


def _titles(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Action.") and "title" in node:
            yield str(node["title"])
        for value in node.values():
            yield from _titles(value)
    elif isinstance(node, list):
        for value in node:
            yield from _titles(value)


async def test_every_card_renders_cleanly_in_both_languages(
    renderer: Path, tmp_path: Path, db: AsyncDatabase[dict[str, Any]]
) -> None:
    named = [
        (f"{locale}: {name}", card)
        for locale in LOCALES
        for name, card in [*pure_cards(locale), ("admin home", await admin_home(db, locale))]
    ]
    report = check(renderer, tmp_path, named)
    assert [r["name"] for r in report] == [n for n, _ in named]
    problems = {r["name"]: r["events"] for r in report if r["events"]}
    assert problems == {}
    assert all(r["rendered"] for r in report), [r["name"] for r in report if not r["rendered"]]
    crowded = {r["name"]: r["largestRow"] for r in report if r["largestRow"] > blocks.MAX_ACTIONS}
    assert crowded == {}
    long_titles = {n: t for n, c in named for t in _titles(c) if len(t) > blocks.MAX_TITLE}
    assert long_titles == {}


async def test_the_check_catches_what_teams_would_hide(renderer: Path, tmp_path: Path) -> None:
    """The checker is not a rubber stamp: the two faults Teams showed are reported."""
    crowded = blocks.card_of(
        [{"type": "TextBlock", "text": "x"}],
        [blocks.submit(f"b{i}", "help") for i in range(blocks.MAX_ACTIONS + 1)],
    )
    required = blocks.card_of(
        [{"type": "Input.Text", "id": "v", "label": "Value", "isRequired": True}]
    )
    report = check(renderer, tmp_path, [("crowded", crowded), ("required", required)])
    events = {r["name"]: {e["event"] for e in r["events"]} for r in report}
    assert "TooManyActions" in events["crowded"]
    assert "RequiredInputsShouldHaveErrorMessage" in events["required"]


def test_help_shows_its_placeholders() -> None:
    """ "find <name>" rendered as "find :" (markdown drops <name> as a tag): no angle brackets."""
    for locale in LOCALES:
        assert "<" not in catalog(locale)["help_body"]


def test_catalogs_have_the_same_keys() -> None:
    assert set(catalog("en")) == set(catalog("tr"))
