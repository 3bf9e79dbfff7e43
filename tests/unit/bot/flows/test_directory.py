"""Directory lookups through the bot over real HTTP: search, person card with org chart,
paging, my profile with provenance, the compose-box message extension, and hostile input."""

from __future__ import annotations

import pytest

from storage.repositories import TenantStore
from tests.support.bot_server import (
    BotServer,
    Chat,
    action,
    bot_db,
    bot_server,
    card,
)
from tests.support.directory import Db, org, ready_chat, rows

__all__ = ["bot_db", "bot_server", "org"]  # fixtures used by name


async def test_search_finds_one_person_and_shows_the_org_chart(
    bot_server: BotServer, org: tuple[str, dict[str, str]]
) -> None:
    tenant, ids = org
    chat = await ready_chat(bot_server, tenant)
    [reply] = await chat.send(1, text="ara AYŞE YIL")
    person = card(reply)
    assert person["body"][0]["text"] == "Ayşe Yılmaz  ·  Intern"
    facts = {f["title"]: f["value"] for f in person["body"][1]["facts"]}
    assert facts == {
        "Title": "Analist",
        "Department": "Finans",
        "E-mail": "ayse@example.com",
    }
    assert person["body"][2]["text"] == "Reporting line: Zeynep Kurucu → Can Öztürk"
    manager = action(person, "person")
    assert manager["user_id"] == ids["cfo"]
    [cfo_reply] = await chat.send(1, value=manager)
    cfo = card(cfo_reply)
    assert cfo["body"][0]["text"] == "Can Öztürk"
    reports = rows(cfo)
    assert len(reports) == 10  # 13 reports, 10 shown, every one reachable from the org chart
    assert any(b.get("text") == "and 3 more" for b in cfo["body"])
    assert reports[0][0] == "Ayşe Yılmaz"
    assert action(cfo, "org_chart") == {"juno": "org_chart", "user_id": ids["cfo"]}


async def test_search_list_pages_through_all_results(
    bot_server: BotServer, org: tuple[str, dict[str, str]]
) -> None:
    tenant, _ = org
    chat = await ready_chat(bot_server, tenant)
    [first] = await chat.send(1, text="find finans")
    page1 = card(first)
    assert page1["body"][0]["text"] == 'People matching "finans" (1–8 of 13)'
    names = [name for name, _ in rows(page1)]
    [second] = await chat.send(1, value=action(page1, "search"))
    page2 = card(second)
    assert page2["body"][0]["text"] == 'People matching "finans" (9–13 of 13)'
    names += [name for name, _ in rows(page2)]
    # The last page offers only the way back.
    assert [a["data"] for a in page2["actions"]] == [
        {"juno": "search", "term": "finans", "offset": 0}
    ]
    assert len(names) == len(set(names)) == 13
    assert names[0] == "Ayşe Yılmaz"  # exact department word match, then by name


async def test_bare_name_and_turkish_folding(
    bot_server: BotServer, org: tuple[str, dict[str, str]]
) -> None:
    tenant, _ = org
    chat = await ready_chat(bot_server, tenant)
    for text in ("IŞIK", "isik", "Işık Kaya", "who is isik"):
        [reply] = await chat.send(1, text=text)
        assert card(reply)["body"][0]["text"] == "Işık Kaya", text


@pytest.mark.parametrize(
    "text", ['ara {"$gt": ""}', "ara .*", "ara (a+)+$", "find " + "a" * 5000, "ara \x00\x07"]
)
async def test_hostile_search_text_is_answered_safely(
    bot_server: BotServer, org: tuple[str, dict[str, str]], text: str
) -> None:
    tenant, _ = org
    chat = await ready_chat(bot_server, tenant)
    [reply] = await chat.send(1, text=text)
    assert reply.get("text", "").startswith(("I found no one", "Please type at least three"))


async def test_hidden_people_are_never_shown(
    bot_server: BotServer, org: tuple[str, dict[str, str]]
) -> None:
    tenant, ids = org
    chat = await ready_chat(bot_server, tenant)
    [reply] = await chat.send(1, text="gizli")
    assert reply["text"].startswith("I found no one")
    [gone] = await chat.send(1, value={"juno": "person", "user_id": ids["hidden"]})
    assert gone["text"] == "That person is no longer in the directory."


async def test_my_profile_shows_where_each_field_comes_from(
    bot_server: BotServer, bot_db: Db, org: tuple[str, dict[str, str]]
) -> None:
    tenant, ids = org
    store = TenantStore(bot_db, tenant)
    await store.profiles.upsert_many(
        [
            {
                **(await store.profiles.get(ids["ayse"]) or {}),
                "overrides": {
                    "office_location": {"value": "İstanbul HQ", "approved_at": "2026-11-20"}
                },
            }
        ]
    )
    chat = await ready_chat(bot_server, tenant, user=ids["ayse"])
    [reply] = await chat.send(1, text="my profile")
    mine = card(reply)
    assert mine["body"][0]["text"] == "My profile"
    facts = {f["title"]: f["value"] for f in mine["body"][2]["facts"]}
    assert facts["Title"] == "Analist (from Entra ID)"
    assert facts["Location"] == "İstanbul HQ (corrected on 2026-11-20 (approved request))"
    stranger = await ready_chat(bot_server, tenant)
    [missing] = await stranger.send(1, text="profilim")
    assert missing["text"].startswith("I could not find your directory profile yet")


async def test_message_extension_query_round_trip(
    bot_server: BotServer, org: tuple[str, dict[str, str]]
) -> None:
    tenant, _ = org
    chat = await ready_chat(bot_server, tenant)
    query = chat.activity(
        type_="invoke",
        name="composeExtension/query",
        value={"commandId": "searchPeople", "parameters": [{"name": "query", "value": "ayşe"}]},
    )
    status, body = await chat.post(query)
    assert status == 200
    result = body["composeExtension"]
    assert result["type"] == "result" and result["attachmentLayout"] == "list"
    [hit] = result["attachments"]
    assert hit["preview"]["content"] == {"title": "Ayşe Yılmaz", "text": "Analist · Finans"}
    assert hit["content"]["body"][0]["text"] == "Ayşe Yılmaz  ·  Intern"

    newcomer = Chat(bot_server, tenant=tenant)
    status, body = await newcomer.post(newcomer.activity(
        type_="invoke", name="composeExtension/query",
        value={"commandId": "searchPeople", "parameters": [{"name": "query", "value": "ayşe"}]},
    ))  # fmt: skip
    assert status == 200 and body["composeExtension"]["type"] == "message"
    assert "accept the terms of use" in body["composeExtension"]["text"]


async def test_rectification_request_from_my_profile_reaches_the_admins(
    bot_server: BotServer, bot_db: Db, org: tuple[str, dict[str, str]]
) -> None:
    tenant, ids = org
    admin = await ready_chat(bot_server, tenant, user=ids["ceo"])
    await bot_db["tenants"].update_one({"_id": tenant}, {"$set": {"admins": [ids["ceo"]]}})
    chat = await ready_chat(bot_server, tenant, user=ids["ayse"])
    mine = card((await chat.send(1, text="profilim"))[0])
    form = card((await chat.send(1, value=action(mine, "correct")))[0])
    choices = [c["value"] for c in form["body"][1]["choices"]]
    assert choices == ["job_title", "department", "office_location", "given_name", "surname"]
    propose = {**action(form, "propose"), "field": "department", "value": "Hazine"}
    [recorded] = await chat.send(1, value=propose)
    assert recorded["text"].startswith("Your correction request r")
    request_id = recorded["text"].split()[3]
    told = await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1)
    assert told[-1]["text"].startswith(f"Correction request {request_id} from Ayşe Yılmaz")
    assert '"Finans" → "Hazine"' in told[-1]["text"]
    doc = await TenantStore(bot_db, tenant).dsr_requests.get(request_id)
    assert doc is not None and doc["type"] == "rectification" and doc["user_id"] == ids["ayse"]
    [bad] = await chat.send(1, value={**propose, "field": "mail"})
    assert bad["text"] == "Please pick one of the fields on the form."
    [long] = await chat.send(1, value={**propose, "value": "x" * 500})
    assert long["text"].startswith("That value is too long: at most ")


async def test_operator_decisions_reach_the_requester_in_their_language(
    bot_server: BotServer, bot_db: Db, org: tuple[str, dict[str, str]]
) -> None:
    import asyncio

    from tests.support.processes import JUNO

    tenant, ids = org
    chat = await ready_chat(bot_server, tenant, user=ids["isik"])
    chat.locale = "tr-TR"
    mine = card((await chat.send(1, text="profilim"))[0])
    form = card((await chat.send(1, value=action(mine, "correct")))[0])
    propose = {**action(form, "propose"), "field": "office_location", "value": "Ankara"}
    [recorded] = await chat.send(1, value=propose)
    request_id = recorded["text"].split()[0]
    assert request_id.startswith("r")

    proc = await asyncio.create_subprocess_exec(
        JUNO, "dsr", "approve", "--tenant", tenant, "--id", request_id, "--by", "ops",
        env=bot_server.env, cwd=bot_server.cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "the requester was told in Teams" in err.decode()
    told = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1)
    assert told[-1]["text"] == (
        f"{request_id} numaralı düzeltme talebiniz onaylandı: "
        "rehber profiliniz artık düzeltilmiş değeri gösteriyor."
    )
    profile = await TenantStore(bot_db, tenant).profiles.get(ids["isik"])
    assert profile is not None and profile["overrides"]["office_location"]["value"] == "Ankara"
    assert f"request {request_id}: rectification, completed" in out.decode()
