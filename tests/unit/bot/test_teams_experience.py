"""What a person sees in Teams, through the bot over real HTTP: one welcome per person per
conversation, lists that reach everyone, the org chart, Turkish search and order, and the
wording of replies (files promised as files, field names and statuses in words)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bot.turkish import sort_key, strip_suffix, upper
from storage.repositories import TenantRecord, TenantStore
from tests.support.bot_harness import BOT_APP_ID, activity
from tests.support.bot_server import (
    BotServer,
    Chat,
    action,
    bot_db,
    bot_server,
    card,
    consent_fully,
)
from tests.support.directory import profile, rows

__all__ = ["bot_db", "bot_server"]  # fixtures shared with test_bot

Db = AsyncDatabase[dict[str, Any]]
BOT = {"id": f"28:{BOT_APP_ID}"}
WELCOME = "I am JUNO, your organization's employee directory assistant"


def install_pair(chat: Chat, *, conversation_type: str = "personal") -> list[dict[str, Any]]:
    """What Teams sends on install: installationUpdate and conversationUpdate, here with
    only the first naming a language (as the Agents Playground sends them)."""
    base: dict[str, Any] = {
        "tenant": chat.tenant, "user": chat.user, "conversation": chat.conversation,
        "service_url": chat.server.peers.service_url,
    }  # fmt: skip
    install = activity(**base, type_="installationUpdate", action="add", locale="en-US")
    update = activity(**base, type_="conversationUpdate", membersAdded=[BOT])
    update.pop("locale")
    for one in (install, update):
        one["conversation"]["conversationType"] = conversation_type
    return [install, update]


async def test_one_welcome_per_person_per_conversation(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    install, update = install_pair(chat)
    await asyncio.gather(chat.post(update), chat.post(install))  # the unnamed one first
    first = await bot_server.peers.wait_replies(chat.conversation, 3)
    chat.seen = len(first)
    assert [WELCOME in (r.get("text") or "") for r in first] == [True, False, False]
    assert card(first[1])["body"][0]["text"] == "Privacy notice (version 1)"
    assert card(first[2])["body"][0]["text"] == "Terms of use (version 1)"
    await chat.quiet(2.0)  # the pair's other half, waiting out its language, says nothing

    # A reload: Teams sends conversationUpdate again; nothing "below" is promised twice.
    await chat.post(chat.activity(type_="conversationUpdate", membersAdded=[BOT]))
    await chat.post(chat.activity(type_="installationUpdate", action="add"))
    await chat.quiet(2.0)

    # A group chat is a conversation of its own: welcomed once there too.
    group = Chat(bot_server)
    group.user = chat.user
    install, update = install_pair(group, conversation_type="groupChat")
    await asyncio.gather(group.post(install), group.post(update))
    assert WELCOME in (await bot_server.peers.wait_replies(group.conversation, 3))[0]["text"]
    group.seen = 3
    await group.post(update | {"id": uuid.uuid4().hex})
    await group.quiet(2.0)


async def test_a_new_conversation_after_consent_is_greeted_without_documents(
    bot_server: BotServer,
) -> None:
    chat = Chat(bot_server)
    await consent_fully(chat)
    chat.conversation = f"a:{uuid.uuid4().hex}"  # reinstalled: a new personal conversation
    chat.seen = 0
    [hello] = await chat.send(1, type_="conversationUpdate", membersAdded=[BOT])
    assert hello["text"] == 'Hello again! Type "help" to see what I can do.'
    await chat.quiet()


TURKISH_REPORTS = (
    "Zeki Acar", "Çağla Er", "Cem Su", "İlker Oy", "Irmak Ak", "Şule Tan",
    "Sena Ok", "Ümit Ay", "Uğur Gül", "Öykü Naz", "Oya Bal", "Deniz Can",
)  # fmt: skip


@pytest.fixture
async def turkish_org(bot_db: Db) -> tuple[str, dict[str, str]]:
    """A manager with twelve reports whose names need the Turkish alphabet, and four Ayşe."""
    tenant = str(uuid.uuid4())
    record = TenantRecord(tenant_id=tenant, name="Örnek A.Ş.", default_locale="tr")
    await bot_db["tenants"].insert_one(record.to_document())
    ids = {"boss": str(uuid.uuid4())}
    people = [profile(ids["boss"], "Selin", "Başkan", job_title="Genel Müdür")]
    for name in TURKISH_REPORTS:
        given, surname = name.split()
        people.append(profile(str(uuid.uuid4()), given, surname, manager_id=ids["boss"]))
    for surname in ("Yılmaz", "Özdemir", "Güler", "Kaya"):
        people.append(profile(str(uuid.uuid4()), "Ayşe", surname, department="Finans"))
    await TenantStore(bot_db, tenant).profiles.upsert_many(people)
    return tenant, ids


async def test_a_suffixed_turkish_name_lists_every_match(
    bot_server: BotServer, turkish_org: tuple[str, dict[str, str]]
) -> None:
    tenant, _ = turkish_org
    chat = Chat(bot_server, tenant=tenant, locale="tr-TR")
    await consent_fully(chat)
    for text, term in (("ayşe'yi bul", "ayşe"), ("Ayşe’yi ara", "Ayşe"), ("ara Ayşe'nin", "Ayşe")):
        [reply] = await chat.send(1, text=text)
        listed = card(reply)
        assert listed["body"][0]["text"] == f'"{term}" ile eşleşen kişiler (4 kişiden 1–4)'
        assert "actions" not in listed  # one page: no paging buttons
        assert sorted(name for name, _ in rows(listed)) == [
            "Ayşe Güler", "Ayşe Kaya", "Ayşe Yılmaz", "Ayşe Özdemir"
        ]  # fmt: skip


async def test_org_chart_pages_every_report_in_turkish_order(
    bot_server: BotServer, turkish_org: tuple[str, dict[str, str]]
) -> None:
    tenant, _ = turkish_org
    chat = Chat(bot_server, tenant=tenant, locale="tr-TR")
    await consent_fully(chat)
    expected = sorted(TURKISH_REPORTS, key=sort_key)
    assert expected[:4] == ["Cem Su", "Çağla Er", "Deniz Can", "Irmak Ak"]

    [person] = await chat.send(1, text="Selin Başkan")
    shown = card(person)
    assert [name for name, _ in rows(shown)] == expected[:10]  # C, Ç, D, I, İ, O, Ö, S, Ş, U

    for text in ("organizasyon şeması Selin", "Selin'in organizasyon şeması", "org chart Selin"):
        [reply] = await chat.send(1, text=text)
        chart = card(reply)
        assert chart["body"][0]["text"] == "Organizasyon şeması: Selin Başkan", text
    heading = [b["text"] for b in chart["body"] if "kişiden" in str(b.get("text"))]
    assert heading == ["Doğrudan bağlı çalışanlar (12 kişiden 1–10)"]
    assert [name for name, _ in rows(chart)] == expected[:10]
    [more] = await chat.send(1, value=action(chart, "org_chart") | {"offset": 10})
    page2 = card(more)
    assert [b["text"] for b in page2["body"] if "kişiden" in str(b.get("text"))] == [
        "Doğrudan bağlı çalışanlar (12 kişiden 11–12)"
    ]
    assert [name for name, _ in rows(page2)] == expected[10:]
    # Every row opens that person's own chart; the person card is one button away.
    first = rows(page2)[0][1]
    [theirs] = await chat.send(1, value=first)
    assert card(theirs)["body"][0]["text"] == f"Organizasyon şeması: {expected[10]}"
    assert [name for name, _ in rows(card(theirs))] == ["Selin Başkan"]  # up the line


async def test_export_in_personal_chat_promises_a_file(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    await consent_fully(chat)
    replies = await chat.send(1, text="export my data")
    assert "offer it to you here as a file" in replies[0]["text"]
    assert "link" not in replies[0]["text"]


def test_turkish_helpers() -> None:
    assert upper("bilgi işlem", "tr") == "BİLGİ İŞLEM" and upper("bilgi", "en") == "BILGI"
    assert [strip_suffix(w) for w in ("Ayşe'yi", "İzmir'deki", "Oğuz’un", "O'Brien")] == [
        "Ayşe", "İzmir", "Oğuz", "O'Brien"
    ]  # fmt: skip
    names = ["Zeynep", "Ümit", "Şule", "Özge", "İlker", "Irmak", "Çağla", "Can", "Ilgın"]
    assert sorted(names, key=sort_key) == [
        "Can", "Çağla", "Ilgın", "Irmak", "İlker", "Özge", "Şule", "Ümit", "Zeynep"
    ]  # fmt: skip


async def test_admin_hears_of_a_correction_in_words(bot_server: BotServer, bot_db: Db) -> None:
    """The admin's notice names the field ("Title"), not its key (`job_title`), in the admin's
    own language, whatever the requester's."""
    tenant = str(uuid.uuid4())
    admin_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
    record = TenantRecord(tenant_id=tenant, name="Org", admins=[admin_id])
    await bot_db["tenants"].insert_one(record.to_document())
    await TenantStore(bot_db, tenant).profiles.upsert_many(
        [profile(user_id, "Deniz", "Demir", job_title="Analist")]
    )
    admin = Chat(bot_server, tenant=tenant)
    admin.user = admin_id
    await consent_fully(admin)
    user = Chat(bot_server, tenant=tenant, locale="tr-TR")
    user.user = user_id
    await consent_fully(user)
    await user.send(1, value={"juno": "propose", "field": "job_title", "value": "Uzman"})
    told = await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1)
    assert told[-1]["text"].startswith("Correction request r")
    assert ': Title "Analist" → "Uzman".' in told[-1]["text"]
    assert "job_title" not in told[-1]["text"]


async def test_a_chat_that_no_longer_exists_gets_one_attempt(bot_server: BotServer) -> None:
    """Teams answers 404 for a deleted conversation: the bot logs one warning (`make e2e`
    checks the log) and does not try to apologize into the same void."""
    from tests.support.bot_harness import statuses

    chat = Chat(bot_server)
    bot_server.peers.answer(chat.conversation, 404)
    status, body = await chat.post(chat.activity(text="help"))
    assert status in (200, 202) and "Traceback" not in str(body)
    await chat.quiet(1.0)
    assert statuses(bot_server.peers, chat.conversation) == [404]


def test_a_notice_in_one_language_says_so_to_the_others() -> None:
    from bot.cards.legal import notice_card
    from privacy.consent import Kind, LegalDocument

    english_only = LegalDocument(Kind.NOTICE, 2, {"en": "Notice v2: we now keep less."})
    turkish = [b.get("text") for b in notice_card(english_only, "tr")["body"]]
    assert turkish[1] == (
        "Kuruluşunuz bu sürümü henüz Türkçe yayımlamadı; yayımlandığı dilde gösteriliyor."
    )
    assert turkish[2] == "Notice v2: we now keep less."
    english = [b.get("text") for b in notice_card(english_only, "en")["body"]]
    assert english == ["Privacy notice (version 2)", "Notice v2: we now keep less."]
