"""The bot end to end: `juno serve` as a subprocess, real HTTP, real JWT validation against the
test's JWKS, replies through a fake Bot Connector, outbound tokens from an HTTPS fake authority."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.consent import Kind, builtin, publish, sha256
from storage.repositories import TenantRecord, TenantStore
from tests.support.bot_harness import BOT_APP_ID, new_key
from tests.support.bot_server import (
    DISABLED,
    TENANT,
    UNKNOWN,
    BotServer,
    Chat,
    _sleep,
    accept_answer,
    action,
    bot_db,
    bot_server,
    card,
    consent_fully,
    offered_file,
)
from tests.support.datamap_checks import undeclared
from tests.support.processes import JUNO, base_env

# Fixtures used by name in this module's tests.
__all__ = ["bot_db", "bot_server"]


async def test_first_contact_in_english_records_separate_declarations(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]]
) -> None:
    chat = Chat(bot_server)
    first = await chat.send(3, type_="conversationUpdate", membersAdded=[
        {"id": f"28:{BOT_APP_ID}"}
    ])  # fmt: skip
    assert "employee directory assistant" in first[0]["text"]
    notice, eula = card(first[1]), card(first[2])
    assert notice["body"][0]["text"] == "Privacy notice (version 1)"
    assert notice["body"][1]["text"] == builtin(Kind.NOTICE).texts["en"]
    assert [a["title"] for a in notice["actions"]] == ["I have read and understood"]
    assert [a["title"] for a in eula["actions"]] == ["I accept", "I decline"]

    gated = await chat.send(3, text="show me the org chart")
    assert gated[0]["text"].startswith("Before I can help with that")

    ack = await chat.send(2, value=action(notice, "ack_notice"))
    assert "acknowledgement of the privacy notice (version 1)" in ack[0]["text"]
    accepted = await chat.send(1, value=action(eula, "accept_eula"))
    assert "you accepted the terms of use (version 1)" in accepted[0]["text"]

    # A request for one's own org chart, not a name to search for (this user has no
    # directory profile yet, so that is what they are told).
    chart = await chat.send(1, text="show me the org chart")
    assert chart[0]["text"].startswith("I could not find your directory profile yet")

    store = TenantStore(bot_db, TENANT)
    trail = sorted(await store.consents.for_user(chat.user), key=lambda e: e["at"])
    # Evidence first: each text was shown (once in this conversation, though the gate showed
    # it twice), then acknowledged and accepted; separate records, separate texts.
    assert [(e["document"], e["action"], e["version"]) for e in trail] == [
        ("notice", "shown", 1),
        ("eula", "shown", 1),
        ("notice", "acknowledged", 1),
        ("eula", "accepted", 1),
    ]
    for entry in trail:
        kind = Kind(entry["document"])
        assert entry["text_sha256"] == sha256(builtin(kind).texts["en"])
    assert all(e["conversation_id"] == chat.conversation and e["locale"] == "en" for e in trail)
    assert all(e["activity_id"] for e in trail)
    # The built-in version 1 texts are in the tenant's database since their first use.
    for kind in Kind:
        stored = await store.legal_documents.get(f"{kind.value}:1")
        assert stored is not None and stored["texts"] == builtin(kind).texts
    wanted = {"first_contact", "gated", "ack_notice", "accept_eula", "org_chart"}
    kinds: set[str] = set()
    for _ in range(40):  # KPIs are flushed in batches every second
        kinds = {k for b in await store.kpi_events.for_user(chat.user) for k in b["counts"]}
        if wanted <= kinds:
            break
        await _sleep(0.1)
    assert wanted <= kinds
    ref = await store.conversations.get(chat.user)
    assert ref is not None and ref["reference"]["conversation"]["id"] == chat.conversation
    assert any(auth == "Bearer outbound-token" for auth in bot_server.peers.reply_auth)
    assert await undeclared(bot_db) == []


async def test_turkish_user_gets_turkish_text(bot_server: BotServer) -> None:
    chat = Chat(bot_server, locale="tr-TR")
    replies = await chat.send(3, text="merhaba")
    assert replies[0]["text"].startswith("Bu konuda yardımcı olabilmem için")
    notice = card(replies[1])
    assert notice["body"][0]["text"] == "Aydınlatma metni (sürüm 1)"
    assert notice["body"][1]["text"] == builtin(Kind.NOTICE).texts["tr"]
    assert notice["actions"][0]["title"] == "Okudum, anladım"
    help_ = await chat.send(1, text="YARDIM")
    assert card(help_[0])["body"][0]["text"] == "Neler yapabilirim"
    consents = await chat.send(1, text="Onaylarım")
    assert card(consents[0])["body"][1]["text"] == "Henüz onay kaydınız yok."


async def test_decline_is_respected_then_accept(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]]
) -> None:
    chat = Chat(bot_server)
    replies = await chat.send(3, text="hi")
    notice, eula = card(replies[1]), card(replies[2])
    await chat.send(2, value=action(notice, "ack_notice"))
    declined = await chat.send(1, value=action(eula, "decline_eula"))
    assert "you declined the terms of use" in declined[0]["text"]
    gated = await chat.send(2, text="anything")
    assert gated[0]["text"].startswith("Before I can help")
    assert [a["data"]["juno"] for a in card(gated[1])["actions"]] == [
        "accept_eula",
        "decline_eula",
    ]
    await chat.send(1, value=action(card(gated[1]), "accept_eula"))
    ok = await chat.send(1, text="anything")
    assert ok[0]["text"].startswith('I found no one for "anything"')
    trail = await TenantStore(bot_db, TENANT).consents.for_user(chat.user)
    decisions = [e["action"] for e in reversed(trail) if e["action"] != "shown"]
    assert decisions == ["acknowledged", "declined", "accepted"]


async def test_withdraw_then_gated_again(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    await consent_fully(chat)
    consents = card((await chat.send(1, text="my consents"))[0])
    rows = [b["text"] for b in consents["body"][1:] if b["type"] == "TextBlock"]
    assert len(rows) == 2 and "terms of use v1 accepted" in rows[0]
    withdrawn = await chat.send(1, value=action(consents, "withdraw_eula"))
    assert "acceptance of the terms of use is withdrawn" in withdrawn[0]["text"]
    gated = await chat.send(2, text="anything")
    assert gated[0]["text"].startswith("Before I can help")
    again = card((await chat.send(1, text="my consents"))[0])
    assert "withdraw_eula" not in [a["data"]["juno"] for a in again["actions"]]


async def test_new_notice_version_asks_again(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]]
) -> None:
    tenant = "c0ffee00-0000-4000-8000-000000000003"
    await bot_db["tenants"].insert_one(
        TenantRecord(tenant_id=tenant, name="Northwind").to_document()
    )
    chat = Chat(bot_server, tenant=tenant)
    await consent_fully(chat)
    assert (await chat.send(1, text="xyz"))[0]["text"].startswith("I found no one")
    old_notice = card((await chat.send(1, text="privacy"))[0])
    assert "actions" not in old_notice  # already acknowledged: nothing to click
    await publish(
        TenantStore(bot_db, tenant),
        Kind.NOTICE,
        {"en": "Notice v2: we now also keep X.", "tr": "Aydınlatma s2."},
        published_by=None,
    )
    gated = await chat.send(2, text="xyz")
    assert gated[0]["text"].startswith("Before I can help")
    v2 = card(gated[1])
    assert v2["body"][0]["text"] == "Privacy notice (version 2)"
    stale = dict(action(old_notice, "ack_notice")) if "actions" in old_notice else None
    assert stale is None
    done = await chat.send(1, value=action(v2, "ack_notice"))
    assert "(version 2)" in done[0]["text"]
    assert (await chat.send(1, text="xyz"))[0]["text"].startswith("I found no one")


async def test_a_stale_card_is_not_recorded(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    replies = await chat.send(3, text="hi")
    forged = {**action(card(replies[1]), "ack_notice"), "version": 7}
    resent = await chat.send(2, value=forged)
    assert resent[0]["text"].startswith("That card showed an older version")
    assert card(resent[1])["body"][0]["text"] == "Privacy notice (version 1)"


@pytest.mark.parametrize(
    "case",
    ["missing", "garbage", "wrong_key", "expired", "unknown_kid", "wrong_audience", "wrong_issuer",
     "not_yet_valid", "hs256"],
)  # fmt: skip
async def test_bad_tokens_are_rejected_and_nothing_runs(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]], case: str
) -> None:
    import jwt as pyjwt

    peers = bot_server.peers
    now = int(time.time())
    tokens: dict[str, str | None] = {
        "missing": None,
        "garbage": "not.a.jwt",
        "wrong_key": peers.token(key=new_key()),
        "expired": peers.token(exp=now - 3600, nbf=now - 7200),
        "unknown_kid": peers.token(kid="nobody"),
        "wrong_audience": peers.token(aud="00000000-0000-0000-0000-000000000000"),
        "wrong_issuer": peers.token(iss="https://evil.example.com"),
        "not_yet_valid": peers.token(nbf=now + 3600),
        "hs256": pyjwt.encode(
            {"iss": "https://api.botframework.com", "aud": BOT_APP_ID, "exp": now + 60},
            "x" * 32,
            algorithm="HS256",
            headers={"kid": peers.kid},
        ),
    }
    chat = Chat(bot_server)
    status, body = await chat.post(chat.activity(text="help"), token=tokens[case])
    assert status == 401, body
    assert "error" in body and "Traceback" not in str(body)
    await chat.quiet(0.3)
    # A handler that ran would have stored the conversation reference on the first turn.
    assert await TenantStore(bot_db, TENANT).conversations.get(chat.user) is None


async def test_service_url_must_match_the_token(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    token = bot_server.peers.token(serviceurl="https://smba.trafficmanager.net/emea/")
    status, _ = await chat.post(chat.activity(text="help"), token=token)
    assert status == 401
    await chat.quiet(0.3)


async def test_unknown_and_disabled_tenants_get_one_polite_message(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]]
) -> None:
    for tenant in (UNKNOWN, DISABLED):
        chat = Chat(bot_server, tenant=tenant, locale="tr-TR")
        replies = await chat.send(1, text="yardım")
        assert replies[0]["text"].startswith("Üzgünüm, JUNO kuruluşunuz için etkin değil")
        await chat.quiet(0.3)
        store = TenantStore(bot_db, tenant)
        assert await store.kpi_events.count() == 0
        assert await store.conversations.count() == 0
        assert await store.consents.count() == 0
        audit = await store.audit_log.recent()
        assert audit and audit[0]["action"] == "refused_tenant" and audit[0]["actor"] is None


async def test_duplicate_activity_is_handled_once(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    body = chat.activity(text="help")
    for _ in range(3):
        status, _ = await chat.post(body)
        assert status in (200, 202)
    await bot_server.peers.wait_replies(chat.conversation, 1)
    chat.seen = 1
    await chat.quiet(0.5)


async def test_malformed_requests_get_400_with_a_reason(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    status, body = await chat.post(None, raw=b"{not json")
    assert status == 400 and body["error"] == "the body must be a JSON activity"
    status, body = await chat.post([1, 2])
    assert status == 400 and "JSON object" in body["error"]
    bad = chat.activity(text="help")
    bad["conversation"] = "not-an-object"
    status, body = await chat.post(bad)
    assert status == 400 and body["error"].startswith("invalid activity: conversation")
    no_conv = chat.activity(text="help")
    del no_conv["conversation"]
    status, body = await chat.post(no_conv)
    assert status == 400 and "conversation" in body["error"]


def test_dev_mode_refuses_a_non_loopback_bind(tmp_path: Path, mongo_uri: str) -> None:
    env = base_env(MONGODB_URI=mongo_uri, JUNO_BOT_DEV_MODE="1", JUNO_HOST="0.0.0.0", JUNO_PORT="0")
    proc = subprocess.run(
        [JUNO, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: JUNO_BOT_DEV_MODE=1 accepts unauthenticated activities")
    assert "Traceback" not in proc.stderr


async def test_export_in_a_group_chat_arrives_as_a_single_use_link(bot_server: BotServer) -> None:
    import io
    import json
    import zipfile

    chat = Chat(bot_server, locale="tr-TR")
    await consent_fully(chat)
    group = chat.activity(text="Verilerimi indir")
    group["conversation"]["conversationType"] = "groupChat"
    status, _ = await chat.post(group)
    assert status in (200, 202)
    replies = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 2)
    ack, ready = replies[-2], replies[-1]
    chat.seen = len(replies)
    assert ack["text"].startswith("Tüm verilerinizin bir kopyasını hazırlıyorum")
    assert "attachments" in ready, ready.get("text")
    content = card(ready)
    assert content["body"][0]["text"] == "Veri dışa aktarımınız hazır"
    [button] = content["actions"]
    assert button["type"] == "Action.OpenUrl" and button["title"] == "Verilerimi indir"
    url = button["url"]
    assert url.startswith(bot_server.url + "/api/v1/exports/")
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as resp:
            assert resp.status == 200
            blob = await resp.read()
        async with session.get(url) as again:
            assert again.status in (404, 410)
            assert "error" in await again.json()
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        data = json.loads(archive.read("data.json"))
        consents = json.loads(archive.read("stores/consents.json"))
    # The user's own decisions are in the export (data.json's texts are in Turkish).
    actions = {r["action"] for r in consents["records"]}
    assert {"accepted", "acknowledged"} <= actions
    assert data["locale"] == "tr" and chat.user in json.dumps(data, ensure_ascii=False)


async def test_export_in_personal_chat_is_a_file_the_user_accepts(bot_server: BotServer) -> None:
    import io
    import zipfile

    chat = Chat(bot_server)
    offer = await offered_file(chat)
    name = f"{uuid.uuid4().hex}.zip"
    answer = accept_answer(chat, offer["content"]["acceptContext"], name)
    status, _ = await chat.post(answer)
    assert status == 200
    with zipfile.ZipFile(io.BytesIO(bot_server.peers.uploads[name])) as archive:
        assert "data.json" in archive.namelist()
    [info] = (await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1))[-1][
        "attachments"
    ]
    assert info["contentType"] == "application/vnd.microsoft.teams.card.file.info"
    assert info["content"] == {"uniqueId": "1234", "fileType": "zip"}
    chat.seen += 1
    status, _ = await chat.post({**answer, "id": uuid.uuid4().hex})  # a replay: file is gone
    assert status == 200
    replayed = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1)
    assert "already used" in replayed[-1]["text"]


async def test_declining_the_file_sends_nothing(bot_server: BotServer) -> None:
    chat = Chat(bot_server)
    offer = await offered_file(chat)
    decline = chat.activity(
        type_="invoke",
        name="fileConsent/invoke",
        value={
            "type": "fileUpload",
            "action": "decline",
            "context": offer["content"]["declineContext"],
        },
    )
    status, _ = await chat.post(decline)
    assert status == 200
    replies = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1)
    assert replies[-1]["text"].startswith("No problem: the file was not sent.")


async def test_delete_my_data_opens_an_erasure_request(
    bot_server: BotServer, bot_db: AsyncDatabase[dict[str, Any]]
) -> None:
    chat = Chat(bot_server)
    [reply] = await chat.send(1, text="delete my data")  # allowed before any consent
    assert reply["text"].startswith("Your erasure request r")
    requests = await TenantStore(bot_db, TENANT).dsr_requests.find({"user_id": chat.user})
    assert [(r["type"], r["status"]) for r in requests] == [("erasure", "open")]
