"""Processor duties: the incident register told to exactly the affected controllers (in their
admins' languages, with the 72-hour clock), sub-processors on the admin desk, in the docs and
notified once per change, and the security summary generated from the running configuration.

The Teams parts run `juno serve` as a subprocess with real JWTs and a fake Bot Connector, and
the `juno` commands as the operator would, in their own processes."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import catalog
from privacy.catalogs import catalog as privacy_catalog
from privacy.incidents import (
    AUTHORITY_DEADLINE,
    DATA_CATEGORIES,
    IncidentError,
    affected,
    close_incident,
    facts,
    open_incident,
    pending_incidents,
    record_notification,
    update_incident,
)
from privacy.incidents import EventKind as Ev
from privacy.security_summary import render, subprocessor_table, texts
from privacy.subprocessors import declared, possible
from privacy.tenant_archive import verify_archive
from storage.repositories import AdminGrant, TenantRecord, TenantRegistry, TenantStore
from tests.support.admin_desk import accept_file, texts_of
from tests.support.bot_server import (
    BotServer,
    Chat,
    action,
    bot_db,
    bot_server,
    card,
    consent_fully,
)
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import Db
from tests.support.processes import JUNO, REPO, Cli, free_port

__all__ = ["bot_db", "bot_server"]

DETECTED = "2026-12-01T06:15Z"
SUMMARY = "A support export with names and e-mail addresses was readable by a misconfigured share"


def spec(tenant: str, people: int = 120, records: int = 240) -> str:
    return (
        f"{tenant} subjects=employees,guests people={people} "
        f"data=user.name,user.contact.email records={records}"
    )


async def juno(server: BotServer, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        JUNO, *args, env={**server.env, **env}, cwd=server.cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def admin_of(server: BotServer, db: Db, name: str, locale: str) -> tuple[str, Chat]:
    """A fresh tenant whose one admin has chatted with JUNO in `locale`."""
    tenant, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    await TenantRegistry(db).add(
        TenantRecord(tenant_id=tenant, name=name, admins=[AdminGrant(user_id=admin_id)])
    )
    chat = Chat(server, tenant=tenant, locale=locale)
    chat.user = admin_id
    await consent_fully(chat)
    return tenant, chat


async def told(
    server: BotServer, chat: Chat, count: int = 2, within: float = 15
) -> list[dict[str, Any]]:
    replies = await server.peers.wait_replies(chat.conversation, chat.seen + count, within)
    new = replies[chat.seen :]
    chat.seen = len(replies)
    return new


async def ready(url: str, within: float = 60) -> None:
    import aiohttp

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert loop.time() < deadline, "juno serve did not become ready"
            await asyncio.sleep(0.2)


def facts_of(content: dict[str, Any]) -> list[dict[str, str]]:
    return [f for b in content["body"] if b["type"] == "FactSet" for f in b["facts"]]


def when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- the register itself ---------------------------------------------------------------------


async def test_register_keeps_the_art_33_facts_audits_every_change_and_names_nobody(
    db: Db,
) -> None:
    store = TenantStore(db, str(uuid.uuid4()))
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    found = facts(
        summary=SUMMARY,
        detected_at=now - timedelta(hours=3),
        consequences="Phishing using colleagues' names",
        measures="Share closed, links revoked",
        contact="privacy@operator.example",
        now=now,
    )
    share = affected(["employees"], 120, ["user.name", "user.contact.email"], 240)
    opened = await open_incident(store, "INC-1", found, share, actor="operator:Deniz", now=now)
    assert opened.notified_at is None and opened.deadline is None
    assert [e.kind for e in opened.timeline] == [Ev.DETECTED, Ev.OPENED]
    with pytest.raises(IncidentError, match="already open"):
        await open_incident(store, "INC-1", found, share, actor="operator", now=now)

    missed = await record_notification(store, "INC-1", about=Ev.OPENED, told=0, admins=2, now=now)
    assert missed.notified_at is None and missed.timeline[-1].kind is Ev.NOT_REACHED
    assert [(i.id, about) for i, about in await pending_incidents(store)] == [("INC-1", Ev.OPENED)]
    later = now + timedelta(minutes=10)
    reached = await record_notification(
        store, "INC-1", about=Ev.OPENED, told=1, admins=2, now=later
    )
    assert reached.notified_at == later and reached.deadline == later + AUTHORITY_DEADLINE
    assert await pending_incidents(store) == []
    again = await record_notification(
        store, "INC-1", about=Ev.UPDATED, told=2, admins=2, now=later + timedelta(hours=1)
    )
    assert again.notified_at == later  # the clock started with the first notification

    bigger = affected(["employees"], 130, ["user.name", "user.contact.email"], 260)
    updated = await update_incident(
        store, "INC-1", changes={"measures": "Share closed; affected people told"},
        share=bigger, actor="operator:Deniz", now=later,
    )  # fmt: skip
    assert updated.affected.subjects_approx == 130
    assert updated.timeline[-1].note == "measures, records_approx, subjects_approx"
    with pytest.raises(IncidentError, match="nothing to change"):
        await update_incident(store, "INC-1", changes={}, share=bigger, actor="operator")
    closed = await close_incident(store, "INC-1", note="Forensics done", actor="operator")
    assert closed.status.value == "closed" and closed.closed_at is not None
    with pytest.raises(IncidentError, match="already closed"):
        await close_incident(store, "INC-1", note="again", actor="operator")

    audit = await store.audit_log.recent(limit=20)
    assert [e["action"] for e in reversed(audit)] == [
        "incident_open", "incident_notify", "incident_notify", "incident_notify",
        "incident_update", "incident_close",
    ]  # fmt: skip
    assert all(e["target"] == "incident:INC-1" for e in audit)
    assert await undeclared(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("subjects=pets",), "unknown kind of people 'pets'"),
        (("data=user",), "unknown data category 'user'"),
        (("data=user.hobby",), "unknown data category 'user.hobby'"),
        (("data=system.time",), "unknown data category 'system.time'"),
        (("people=lots",), "people= must be a whole number"),
        (("people=-1",), "the number of people must be a number from 0"),
    ],
)
def test_bad_shares_are_one_readable_line(args: tuple[str, ...], message: str) -> None:
    from juno.cli.incident import parse_affected
    from juno.errors import UserError

    base = dict(
        w.split("=", 1) for w in spec(str(uuid.uuid4())).split()[1:]
    ) | dict(a.split("=", 1) for a in args)  # fmt: skip
    text = str(uuid.uuid4()) + " " + " ".join(f"{k}={v}" for k, v in base.items())
    with pytest.raises(UserError, match=re.escape(message)):
        parse_affected(text)


def test_cli_refuses_bad_input_with_exit_2_and_one_line(cli: Cli) -> None:
    tenant = str(uuid.uuid4())
    assert cli("tenant", "add", "--tenant-id", tenant, "--name", "Contoso").code == 0
    common = ["--summary", "s", "--consequences", "c", "--measures", "m", "--contact", "p"]
    cases = [
        (["--detected-at", DETECTED, "--affected", "not-a-guid people=1"], "must be a GUID"),
        (["--detected-at", "yesterday", "--affected", spec(tenant)], "ISO 8601"),
        (["--detected-at", "2026-12-01T06:15", "--affected", spec(tenant)], "time zone"),
        (["--detected-at", "2999-01-01T00:00Z", "--affected", spec(tenant)], "in the future"),
        (["--detected-at", DETECTED], "at least one affected tenant"),
        (["--detected-at", DETECTED, "--affected", spec(str(uuid.uuid4()))], "not registered"),
    ]
    for extra, message in cases:
        result = cli("incident", "open", *common, *extra)
        assert result.code == 2, (extra, result.err)
        assert message in result.err and len(result.err.strip().splitlines()) == 1, result.err
    listed = cli("incident", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []  # nothing was written
    missing = cli("incident", "close", "--id", "INC-nope", "--note", "x")
    assert missing.code == 2 and "no incident 'INC-nope'" in missing.err


async def test_register_exports_with_the_tenant_archive(cli: Cli, db: Db, tmp_path: Path) -> None:
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    for tid in (tenant, other):
        assert cli("tenant", "add", "--tenant-id", tid, "--name", tid[:4]).code == 0
    opened = cli(
        "incident", "open", "--summary", SUMMARY, "--detected-at", DETECTED,
        "--consequences", "c", "--measures", "m", "--contact", "privacy@operator.example",
        "--affected", spec(tenant), "--json",
    )  # fmt: skip
    assert opened.code == 0, opened.err
    [incident] = json.loads(opened.out)
    assert "no admin could be told in Teams" not in opened.out  # --json prints JSON only
    assert incident["notified_at"] is None  # no bot identity here: nobody could be told

    out = tmp_path / "archive.zip"
    assert cli("tenant", "export", "--tenant", tenant, "--out", str(out)).code == 0
    manifest = verify_archive(out)
    [entry] = [s for s in manifest["stores"] if s["collection"] == "incidents"]
    assert entry["records"] == 1
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        [line] = zf.read("stores/incidents.jsonl").decode().splitlines()
    stored = json.loads(line)
    assert stored["incident_id"] == incident["id"] and stored["summary"] == SUMMARY
    assert stored["records"] == ["user.name", "user.contact.email"]
    assert stored["timeline"][-1]["event"] == "not_reached"

    other_out = tmp_path / "other.zip"
    assert cli("tenant", "export", "--tenant", other, "--out", str(other_out)).code == 0
    [none] = [s for s in verify_archive(other_out)["stores"] if s["collection"] == "incidents"]
    assert none["records"] == 0  # the other tenant was not affected and sees nothing
    assert await undeclared(db) == []


# --- telling the controllers in Teams --------------------------------------------------------


async def test_incident_reaches_exactly_the_affected_admins_in_their_language_with_the_clock(
    bot_server: BotServer, bot_db: Db
) -> None:
    en_tenant, en_admin = await admin_of(bot_server, bot_db, "Contoso", "en-US")
    tr_tenant, tr_admin = await admin_of(bot_server, bot_db, "Arçelik", "tr-TR")
    _, bystander = await admin_of(bot_server, bot_db, "Fabrikam", "en-US")

    code, out, err = await juno(
        bot_server, "incident", "open", "--summary", SUMMARY, "--detected-at", DETECTED,
        "--consequences", "Targeted phishing", "--measures", "Share closed, links revoked",
        "--contact", "privacy@operator.example", "--by", "Deniz",
        "--affected", spec(en_tenant), "--affected", spec(tr_tenant, people=7, records=9),
    )  # fmt: skip
    assert code == 0, err
    assert out.count("1 of 1 admins told in Teams") == 2
    incident_id = out.split()[1]

    text, shown = await told(bot_server, en_admin)
    assert text["text"].startswith("JUNO, your processor, reports a personal-data breach")
    en_card = card(shown)
    assert en_card["body"][0]["text"] == f"Personal-data breach {incident_id} (open)"
    facts_en = {f["title"]: f["value"] for f in facts_of(en_card)[:7]}
    assert facts_en["What happened"] == SUMMARY
    en_texts = privacy_catalog("en")
    people = ", ".join(en_texts["subjects"][k] for k in ("employees", "guests"))
    names = ", ".join(
        en_texts["categories"][c]["name"] for c in ("user.name", "user.contact.email")
    )
    assert facts_en["People affected"] == f"about 120: {people}"
    assert facts_en["Records affected"] == f"about 240: {names}"
    assert facts_en["Contact point"] == "privacy@operator.example"
    stored = await TenantStore(bot_db, en_tenant).incidents.get(incident_id)
    assert stored is not None and isinstance(stored["notified_at"], datetime)
    deadline = stored["notified_at"] + timedelta(hours=72)
    clock = en_card["body"][1]["text"]
    assert clock.startswith("Your 72-hour clock toward the supervisory authority")
    assert f"deadline {when(deadline)}, 72 hours left" in clock

    text_tr, shown_tr = await told(bot_server, tr_admin)
    assert text_tr["text"].startswith("Veri işleyeniniz JUNO, kurumunuzu etkileyen")
    tr_card = card(shown_tr)
    assert tr_card["body"][0]["text"] == f"Kişisel veri ihlali {incident_id} (açık)"
    facts_tr = {f["title"]: f["value"] for f in facts_of(tr_card)}
    assert facts_tr["Etkilenen kişiler"] == (
        "yaklaşık 7: kurum dizinindeki çalışanlar, kurum dizinindeki misafir hesaplar"
    )
    assert "72 saatlik süreniz" in tr_card["body"][1]["text"]
    await bystander.quiet()  # the unaffected tenant's admin hears nothing
    assert await TenantStore(bot_db, bystander.tenant).incidents.count() == 0

    # The admin desk: the incident on the home card, its view with the timeline.
    home = card((await en_admin.send(1, text="admin"))[0])
    row = next(x for x in texts_of(home) if x.startswith(f"{incident_id} · open · detected"))
    assert f"your deadline toward the authority: {when(deadline)}" in row
    view = card((await en_admin.send(1, value=action(home, "admin_incident")))[0])
    timeline = [f["value"] for f in facts_of(view)[7:]]
    assert timeline == ["Detected", "Recorded by JUNO", "Your admins told (1 of 1)"]

    code, out, err = await juno(
        bot_server, "incident", "update", "--id", incident_id,
        "--measures", "Share closed; affected people told", "--note", "people told",
    )  # fmt: skip
    assert code == 0, err
    update_en, card_en = await told(bot_server, en_admin)
    assert (
        update_en["text"]
        == f"Update on personal-data breach {incident_id}: the facts below have changed."
    )
    assert "Updated: people told" in [f["value"] for f in facts_of(card(card_en))]
    update_tr, _ = await told(bot_server, tr_admin)
    assert update_tr["text"].startswith(f"{incident_id} numaralı kişisel veri ihlaline")

    code, out, err = await juno(
        bot_server, "incident", "close", "--id", incident_id, "--note", "Forensics complete"
    )
    assert code == 0, err
    closed_en, closed_card = await told(bot_server, en_admin)
    assert (
        closed_en["text"]
        == f"Personal-data breach {incident_id} is closed. The final record is below."
    )
    content = card(closed_card)
    assert content["body"][0]["text"] == f"Personal-data breach {incident_id} (closed)"
    events = [f["value"] for f in facts_of(content)[7:]]
    assert events[-2:] == ["Closed: Forensics complete", "Your admins told (1 of 1)"]
    closed_tr, _ = await told(bot_server, tr_admin)
    assert closed_tr["text"].startswith(f"{incident_id} numaralı kişisel veri ihlali kapandı")
    await bystander.quiet()

    code, _, err = await juno(bot_server, "incident", "close", "--id", incident_id, "--note", "x")
    assert code == 2 and err.strip() == f"error: incident {incident_id} is already closed"
    code, printed, _ = await juno(bot_server, "incident", "show", "--id", incident_id)
    assert code == 0 and f"incident {incident_id}: {SUMMARY}" in printed
    assert "about 7 people (employees, guests), about 9 records" in printed
    assert "closed Forensics complete" in printed
    listed = await juno(bot_server, "incident", "list", "--json")
    rows = [r for r in json.loads(listed[1]) if r["id"] == incident_id]
    assert {r["tenant_id"] for r in rows} == {en_tenant, tr_tenant}
    assert all(r["status"] == "closed" and r["authority_deadline"] for r in rows)
    audit = await TenantStore(bot_db, tr_tenant).audit_log.recent(limit=20)
    assert {"incident_open", "incident_update", "incident_close", "incident_notify"} <= {
        e["action"] for e in audit
    }
    assert await undeclared(bot_db) == []


async def test_a_tenant_found_affected_later_joins_and_only_it_is_told(
    bot_server: BotServer, bot_db: Db
) -> None:
    first, first_admin = await admin_of(bot_server, bot_db, "First", "en-US")
    late, late_admin = await admin_of(bot_server, bot_db, "Late", "tr-TR")
    code, out, err = await juno(
        bot_server, "incident", "open", "--summary", SUMMARY, "--detected-at", DETECTED,
        "--consequences", "c", "--measures", "m", "--contact", "dpo@operator.example",
        "--affected", spec(first),
    )  # fmt: skip
    assert code == 0, err
    incident_id = out.split()[1]
    await told(bot_server, first_admin)
    code, out, err = await juno(
        bot_server, "incident", "update", "--id", incident_id, "--affected", spec(late)
    )
    assert code == 0, err
    joined, _ = await told(bot_server, late_admin)
    assert joined["text"].startswith("Veri işleyeniniz JUNO")  # opened, for this controller
    await first_admin.quiet()  # nothing changed for the first tenant


async def test_an_incident_recorded_where_teams_is_out_of_reach_is_sent_by_juno_serve(
    bot_server: BotServer, bot_db: Db
) -> None:
    tenant, admin = await admin_of(bot_server, bot_db, "Offline", "tr-TR")
    no_bot = {k: "" for k in ("JUNO_BOT_APP_ID", "JUNO_BOT_APP_SECRET")}
    code, out, err = await juno(
        bot_server, "incident", "open", "--summary", SUMMARY, "--detected-at", DETECTED,
        "--consequences", "c", "--measures", "m", "--contact", "dpo@operator.example",
        "--affected", spec(tenant), **no_bot,
    )  # fmt: skip
    assert code == 0, err
    assert "no admin could be told in Teams from here: `juno serve` keeps trying" in out
    incident_id = out.split()[1]
    store = TenantStore(bot_db, tenant)
    waiting = await store.incidents.get(incident_id)
    assert waiting is not None and waiting["pending"] == "opened"
    assert waiting["notified_at"] is None
    text, shown = await told(bot_server, admin, within=40)  # the service's next pass
    assert text["text"].startswith("Veri işleyeniniz JUNO")
    assert "72 saatlik süreniz" in card(shown)["body"][1]["text"]
    sent = await store.incidents.get(incident_id)
    assert sent is not None and "pending" not in sent and sent["notified_at"] is not None
    assert [e["event"] for e in sent["timeline"]] == [
        "detected", "opened", "not_reached", "notified",
    ]  # fmt: skip
    await admin.quiet(1)  # once


async def test_an_admin_who_was_not_reached_starts_the_clock_by_opening_it(
    bot_server: BotServer, bot_db: Db
) -> None:
    tenant, admin = await admin_of(bot_server, bot_db, "Quiet", "en-US")
    store = TenantStore(bot_db, tenant)
    found = facts(summary=SUMMARY, detected_at=datetime.now(UTC), consequences="c",
                  measures="m", contact="dpo@operator.example")  # fmt: skip
    share = affected(["tenant_admins"], 1, ["user.role"], 1)
    await open_incident(store, "INC-quiet", found, share, actor="operator")
    home = card((await admin.send(1, text="admin"))[0])
    view = card((await admin.send(1, value=action(home, "admin_incident")))[0])
    assert "deadline" in view["body"][1]["text"]
    stored = await store.incidents.get("INC-quiet")
    assert stored is not None and stored["timeline"][-1]["note"] == "opened (admin desk)"
    [missing] = await admin.send(1, value={"juno": "admin_incident", "id": "INC-other"})
    assert missing["text"] == "There is no incident INC-other for your organization."


# --- sub-processors and the security summary on the desk -------------------------------------


async def test_desk_shows_subprocessors_and_hands_out_the_security_summary(
    bot_server: BotServer, bot_db: Db
) -> None:
    _, admin = await admin_of(bot_server, bot_db, "Desk", "en-US")
    home = card((await admin.send(1, text="admin"))[0])
    texts_home = texts_of(home)
    subs = declared()  # the bot server runs with no hosting provider and its own MongoDB
    assert f"Sub-processors ({len(subs)})" in texts_home
    for sub in subs:
        assert f"{sub.name} — {sub.location['en']}" in texts_home
    listed = card((await admin.send(1, value=action(home, "admin_subprocessors")))[0])
    assert [b["text"] for b in listed["body"] if b.get("weight") == "Bolder"][1:] == [
        s.name for s in subs
    ]
    security = next(
        a for b in home["body"] if b["type"] == "ActionSet" for a in b["actions"]
        if a["data"] == {"juno": "admin_security_file", "locale": "tr"}
    )  # fmt: skip
    [preparing] = await admin.send(1, value=security["data"])
    assert preparing["text"].startswith("Preparing the file")
    offer = (await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1]
    admin.seen += 1
    [file_card] = offer["attachments"]
    assert file_card["name"].startswith("juno-security-summary-tr-")
    uploaded = (await accept_file(bot_server, admin, file_card)).decode("utf-8")
    assert uploaded.startswith("# Güvenlik özeti — JUNO for Teams")
    assert "| `incidents` | 1825 gün, ardından silinir |" in uploaded


async def test_a_changed_subprocessor_list_is_told_to_every_tenant_once(
    bot_server: BotServer, bot_db: Db
) -> None:
    _, one = await admin_of(bot_server, bot_db, "One", "en-US")
    _, two = await admin_of(bot_server, bot_db, "Two", "tr-TR")
    hosted = {"JUNO_HOSTING_PROVIDER": "Hetzner Online GmbH", "JUNO_HOSTING_LOCATION": "Germany"}
    code, out, err = await juno(bot_server, "subprocessors", "--notify", **hosted)
    assert code == 0, err
    assert "Hetzner Online GmbH" in out
    first = ("These are the sub-processors JUNO engages", "JUNO'nun kurumunuz için çalıştığı")
    for chat, intro in zip((one, two), first, strict=True):
        text, shown = await told(bot_server, chat)
        assert text["text"].startswith(intro)
        assert any(b.get("text") == "Hetzner Online GmbH" for b in card(shown)["body"])
    code, _, err = await juno(bot_server, "subprocessors", "--notify", **hosted)
    assert code == 0, err
    assert f"tenant {one.tenant}" not in err and f"tenant {two.tenant}" not in err
    await one.quiet()
    await two.quiet()  # the same list is not told twice
    moved = {"JUNO_HOSTING_PROVIDER": "Türk Telekom", "JUNO_HOSTING_LOCATION": "Türkiye"}
    code, _, err = await juno(bot_server, "subprocessors", "--notify", **moved)
    assert code == 0, err
    change, _ = await told(bot_server, one)
    assert change["text"].startswith("JUNO's list of sub-processors for your organization has")
    assert change["text"].endswith("New: Türk Telekom. No longer engaged: Hetzner Online GmbH.")
    change_tr, _ = await told(bot_server, two)
    assert change_tr["text"].endswith(
        "Yeni: Türk Telekom. Artık çalışılmayan: Hetzner Online GmbH."
    )
    notice = await TenantStore(bot_db, one.tenant).processor_notices.get("subprocessors")
    assert notice is not None and notice["told"] == 1

    # `juno serve` makes the same check at start: a replica started with another list tells.
    port = free_port()
    env = {**bot_server.env, **moved, "JUNO_HOSTING_LOCATION": "Finland", "JUNO_PORT": str(port)}
    proc = await asyncio.create_subprocess_exec(
        JUNO, "serve", env=env, cwd=bot_server.cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        await ready(f"http://127.0.0.1:{port}/readyz")
        for chat in (one, two):
            _, shown = await told(bot_server, chat)
            assert any("Finland" in f["value"] for f in facts_of(card(shown)))
    finally:
        proc.terminate()
        _, raw = await asyncio.wait_for(proc.communicate(), 30)
    err = raw.decode()
    assert "Traceback" not in err
    assert await undeclared(bot_db) == []


def test_security_summary_follows_the_running_configuration(cli: Cli) -> None:
    plain = cli("security-summary", "--locale", "en")
    assert plain.code == 0, plain.err
    assert "WARNING: no public address is configured" in plain.out
    assert "The database is JUNO's embedded server" not in plain.out  # tests use MONGODB_URI
    assert "reached without TLS" in plain.out
    assert "30 days after their account is deleted there" in plain.out
    assert "JUNO_PSEUDONYM_KEY is not configured" in plain.out

    cli.env |= {
        "JUNO_PUBLIC_BASE_URL": "https://juno.contoso.example",
        "JUNO_SOFT_DELETE_GRACE_DAYS": "45",
        "JUNO_RETENTION_JOB": "0",
        "JUNO_PSEUDONYM_KEY": "k" * 40,
        "JUNO_HOSTING_PROVIDER": "Hetzner Online GmbH",
    }
    changed = cli("security-summary", "--locale", "en")
    assert changed.code == 0, changed.err
    assert "The service is published at https://juno.contoso.example (HTTPS)." in changed.out
    assert "45 days after their account is deleted there" in changed.out
    assert "The in-service retention job is off" in changed.out
    assert "JUNO_PSEUDONYM_KEY is configured by the operator" in changed.out
    assert "| Hetzner Online GmbH |" in changed.out
    turkish = cli("security-summary", "--locale", "tr")
    assert turkish.code == 0 and turkish.out.startswith("# Güvenlik özeti")
    assert "45 gün sonra silinir" in turkish.out
    bad = cli("security-summary", "--locale", "de")
    assert bad.code == 2 and bad.err.strip() == "error: --locale must be tr or en, got 'de'"


# --- texts and docs --------------------------------------------------------------------------


def test_docs_list_every_subprocessor_a_deployment_can_declare() -> None:
    doc = (REPO / "docs" / "privacy.md").read_text("utf-8")
    block = doc.split("<!-- subprocessors:begin", 1)[1].split("-->", 1)[1]
    block = block.split("<!-- subprocessors:end -->", 1)[0].strip()
    assert block == subprocessor_table(possible(), "en")
    for config in (
        {},
        {"mongodb_uri": "mongodb+srv://u:p@c0.abcd.mongodb.net/juno"},
        {"mongodb_uri": "mongodb://u:p@acct.mongo.cosmos.azure.com:10255/?ssl=true"},
    ):
        for sub in declared(**config):
            assert f"| {sub.name} |" in block, sub.name


def test_every_text_exists_in_both_languages() -> None:
    en, tr = texts("en"), texts("tr")
    assert set(en) == set(tr)
    assert all(v.strip() for v in (*en.values(), *tr.values()))
    keys = {k for k in catalog("en") if k.startswith(("incident", "subprocessor", "admin_inc"))}
    assert keys and keys <= set(catalog("tr"))
    for category in DATA_CATEGORIES:  # every category an incident may name has a name to show
        for locale in ("en", "tr"):
            assert privacy_catalog(locale)["categories"][category]["name"]


def test_database_and_tls_facts_come_from_the_connection_string() -> None:
    from juno.processor import deployment
    from juno.settings import Settings

    def summary(**env: str) -> str:
        settings = Settings.model_validate(env)
        return render(deployment(settings), "en")

    assert "JUNO's embedded server" in summary()
    assert "reached over TLS" in summary(MONGODB_URI="mongodb+srv://u:p@c0.abcd.mongodb.net/j")
    assert "| MongoDB, Inc. (MongoDB Atlas) |" in summary(
        MONGODB_URI="mongodb+srv://u:p@c0.abcd.mongodb.net/j"
    )
    assert "reached without TLS" in summary(
        MONGODB_URI="mongodb+srv://u:p@c0.abcd.mongodb.net/j?tls=false"
    )
    assert "reached over TLS" in summary(MONGODB_URI="mongodb://db.internal/?ssl=true")
    assert "u:p" not in summary(MONGODB_URI="mongodb://u:p@db.internal/?ssl=true")
    assert "development mode" in summary(JUNO_BOT_DEV_MODE="1")
    assert "only from the channels msteams," in summary()
    assert "WARNING: activities from webchat" not in summary()
    assert "WARNING: activities from webchat" in summary(JUNO_BOT_CHANNELS="msteams,webchat")
    assert "only from the channels msteams, webchat," in summary(
        JUNO_BOT_CHANNELS="msteams,webchat"
    )


def test_the_processor_record_lists_the_same_subprocessors(cli: Cli) -> None:
    cli.env |= {"JUNO_HOSTING_PROVIDER": "Hetzner Online GmbH", "JUNO_HOSTING_LOCATION": "Germany"}
    subs = declared(hosting_provider="Hetzner Online GmbH", hosting_location="Germany")
    record = cli("ropa", "--processor", "--json")
    assert record.code == 0, record.err
    listed = json.loads(record.out)["subprocessors"]
    assert [(s["key"], s["name"], s["location"]) for s in listed] == [
        (s.key, s.name, s.location["en"]) for s in subs
    ]
    turkish = cli("ropa", "--processor", "--locale", "tr")
    assert turkish.code == 0, turkish.err
    for sub in subs:
        assert f"`{sub.key}`: {sub.name}" in turkish.out
        assert sub.location["tr"] in turkish.out
    summary = cli("security-summary", "--locale", "tr")  # the summary states the same list
    assert all(f"| {sub.name} |" in summary.out for sub in subs)
