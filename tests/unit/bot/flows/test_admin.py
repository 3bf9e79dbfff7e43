"""Tenant admins in Teams: the admin home card, refusals for non-admins, and request decisions
from the card that end in the requester's notification."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.consent import Kind, builtin
from privacy.dsr import DsrType, open_request
from privacy.tenant_archive import verify_archive
from storage.collections import Coll
from storage.repositories import (
    AdminGrant,
    GraphCredentials,
    TenantRecord,
    TenantRegistry,
    TenantStore,
)
from tests.support.admin_desk import accept_file, admin_setup, texts_of
from tests.support.bot_server import (
    BotServer,
    Chat,
    action,
    bot_db,
    bot_server,
    card,
)
from tests.support.directory import org, ready_chat

__all__ = ["admin_setup", "bot_db", "bot_server", "org"]
Db = AsyncDatabase[dict[str, Any]]


async def propose(user: Chat, value: str) -> str:
    mine = card((await user.send(1, text="my profile"))[0])
    form = card((await user.send(1, value=action(mine, "correct")))[0])
    data = {**action(form, "propose"), "field": "department", "value": value}
    [recorded] = await user.send(1, value=data)
    return str(recorded["text"].split()[3])


async def test_non_admins_are_refused_and_audited(
    bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, ids, _, user = admin_setup
    [reply] = await user.send(1, text="yönetim")
    assert reply["text"] == "Sorry, only your organization's JUNO admins can do that."
    [forged] = await user.send(1, value={"juno": "dsr_approve", "id": "r00000000"})
    assert forged["text"] == reply["text"]
    refused = [e for e in await TenantStore(bot_db, tenant).audit_log.recent(limit=50)
               if e.get("outcome") == "refused: not an admin"]  # fmt: skip
    assert {e["action"] for e in refused} == {"admin:admin", "admin:dsr_approve"}
    assert {e["actor"] for e in refused} == {ids["ayse"]}


async def test_admin_approves_a_correction_from_the_card(
    bot_server: BotServer, bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, ids, admin, user = admin_setup
    request_id = await propose(user, "Hazine")
    await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1)  # the heads-up
    admin.seen += 1
    home = card((await admin.send(1, text="admin"))[0])
    texts = [b.get("text", "") for b in home["body"]]
    assert texts[0] == "JUNO administration — Org"
    # Who asked, what, where it stands, by when: in the admin's language.
    row = next(
        text
        for text in texts
        if text.startswith(f"{request_id} · Ayşe Yılmaz · correction · open · due ")
    )
    assert row.endswith(' — Department → "Hazine"')
    assert (
        "Removal mode in force: Delete the person from the directory, anonymize or pseudonymize "
        "the rest" in texts
    )
    # What the mode does is told from the data map: dialog state is deleted, not anonymized.
    effects = [
        item["text"]
        for block in home["body"]
        if block["type"] == "Container"
        for item in block["items"]
        if item.get("isSubtle")
    ]
    deleted = next(e for e in effects if e.startswith("Deleted: "))
    assert "Bot dialog state" in deleted and "Directory profiles" in deleted
    assert "Usage KPIs" in deleted  # a person's recent counts are not merged (k-anonymity)
    pseudonymized = "Kept with the person replaced by a keyed pseudonym: "
    assert any(e.startswith(pseudonymized) for e in effects)
    approve = next(
        a for b in home["body"] if b["type"] == "ActionSet" for a in b["actions"]
        if a["data"] == {"juno": "dsr_approve", "id": request_id}
    )  # fmt: skip
    [done] = await admin.send(1, value=approve["data"])
    assert done["text"] == f"Request {request_id} is now completed."
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 1)
    assert told[-1]["text"].startswith(f"Your correction request {request_id} was approved")
    profile = await TenantStore(bot_db, tenant).profiles.get(ids["ayse"])
    assert profile is not None and profile["overrides"]["department"]["value"] == "Hazine"


async def test_admin_rejects_with_a_reason_the_user_sees(
    bot_server: BotServer, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    _, _, admin, user = admin_setup
    request_id = await propose(user, "Hukuk")
    await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1)
    admin.seen += 1
    [needs] = await admin.send(1, value={"juno": "dsr_reject", "id": request_id, "reason": " "})
    assert needs["text"].startswith("Please write a reason")
    reject = {"juno": "dsr_reject", "id": request_id, "reason": "Payroll says Finans"}
    [done] = await admin.send(1, value=reject)
    assert done["text"] == f"Request {request_id} is now rejected."
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 1)
    assert told[-1]["text"] == (
        f"Your request {request_id} was not approved. Reason: Payroll says Finans"
    )
    [again] = await admin.send(1, value=reject)
    assert again["text"].startswith("That could not be done: only open requests")


async def test_admin_records_an_access_review(
    bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, ids, admin, _ = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    assert any(b.get("text") == "No access review recorded yet." for b in home["body"])
    [done] = await admin.send(1, value=action(home, "admin_review"))
    assert done["text"] == "Access review recorded: 1 admin(s) reviewed by you."
    after = card((await admin.send(1, text="admin"))[0])
    assert any(b.get("text", "").startswith("Last access review: ") for b in after["body"])
    assert any(b.get("text", "").endswith(" by Zeynep Kurucu") for b in after["body"])
    reviews = await TenantStore(bot_db, tenant).access_reviews.recent()
    # The reviewer is kept by id (a reference erasure treats), the name looked up to show it.
    assert reviews[0]["reviewer"] == ids["ceo"]


async def test_home_card_shows_setup_and_every_admin_duty(
    admin_setup: tuple[str, dict[str, str], Chat, Chat],
) -> None:
    _, _, admin, _ = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    texts = texts_of(home)
    assert "No successful directory sync yet" in " ".join(texts)
    reach = next(x for x in texts if x.startswith("Admins I can reach in Teams: 1 of 1"))
    assert "(first admin conversation 20" in reach
    assert "In force: privacy notice version 1, terms of use version 1." in texts
    assert not [
        b
        for b in home["body"]
        if b["type"] == "ActionSet" and b["actions"][0]["type"] == "Action.OpenUrl"
    ]  # no Graph app: no link


async def test_home_card_links_to_admin_consent_until_the_first_sync(
    bot_server: BotServer, bot_db: Db
) -> None:
    tenant, admin_id, client = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    record = TenantRecord(
        tenant_id=tenant,
        name="Fresh",
        admins=[AdminGrant(user_id=admin_id)],
        graph=GraphCredentials(client_id=client, client_secret_env="FRESH_SECRET"),
    )
    await TenantRegistry(bot_db).add(record)
    admin = await ready_chat(bot_server, tenant, user=admin_id)
    home = card((await admin.send(1, text="admin"))[0])
    [grant] = [a for b in home["body"] if b["type"] == "ActionSet" for a in b["actions"]
               if a["type"] == "Action.OpenUrl"]  # fmt: skip
    assert grant["title"] == "Grant JUNO read access to your directory"
    assert grant["url"].endswith(f"/{tenant}/adminconsent?client_id={client}")
    await TenantStore(bot_db, tenant).sync_state.put(
        "graph", {"first_success_at": datetime.now(UTC), "last_run": {"status": "ok"}}
    )
    after = card((await admin.send(1, text="admin"))[0])
    assert not [a for b in after["body"] if b["type"] == "ActionSet" for a in b["actions"]
                if a["type"] == "Action.OpenUrl"]  # fmt: skip
    for command in ("admin_sync", "admin_removal", "admin_review", "admin_publish",
                    "admin_ropa", "admin_ropa_file", "admin_archive"):  # fmt: skip
        assert action(home, command) == {"juno": command}


async def test_sync_now_runs_at_once_and_reports_to_the_admin(
    bot_server: BotServer, bot_db: Db
) -> None:
    tenant, admin_id = str(uuid.uuid4()), str(uuid.uuid4())
    record = TenantRecord(
        tenant_id=tenant, name="Demo Org", demo=True, admins=[AdminGrant(user_id=admin_id)]
    )
    await TenantRegistry(bot_db).add(record)
    # Synced a minute ago, so the schedule leaves it alone and only "sync now" runs it.
    now = datetime.now(UTC)
    await TenantStore(bot_db, tenant).sync_state.put(
        "graph", {"last_run": {"status": "ok", "finished_at": now, "created": 0}}
    )
    admin = await ready_chat(bot_server, tenant, user=admin_id)

    [started] = await admin.send(1, value={"juno": "admin_sync"})

    assert started["text"] == "Directory sync started. I will tell you when it has finished."
    [done] = (await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1:]
    admin.seen += 1
    assert done["text"].startswith("Directory sync finished. Last run ")
    assert ": succeeded, " in done["text"]
    synced = await TenantStore(bot_db, tenant).profiles.count()
    assert synced > 0 and f"succeeded, {synced} created" in done["text"]
    home = card((await admin.send(1, text="admin"))[0])
    assert any(x.startswith("Directory permission works: first successful sync 20")
               for x in texts_of(home))  # fmt: skip
    audit = await TenantStore(bot_db, tenant).audit_log.recent(limit=20)
    assert any(e["action"] == "admin:sync_now" and e["outcome"] == "started" for e in audit)


async def test_sync_now_without_a_directory_connection_says_so(
    admin_setup: tuple[str, dict[str, str], Chat, Chat],
) -> None:
    _, _, admin, _ = admin_setup  # this tenant has neither Graph credentials nor demo data
    [reply] = await admin.send(1, value={"juno": "admin_sync"})
    assert reply["text"].startswith("A sync cannot start now")


async def test_changing_the_removal_mode_needs_the_typed_name(
    bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, _, admin, user = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    form = card((await admin.send(1, value=action(home, "admin_removal")))[0])
    choices = next(b for b in form["body"] if b["type"] == "Input.ChoiceSet")
    assert choices["value"] == "directory_delete_rest_anonymize"
    assert {c["value"] for c in choices["choices"]} == {
        "delete_all", "directory_only", "directory_delete_rest_anonymize"
    }  # fmt: skip
    submit = {**action(form, "admin_removal_set"), "mode": "delete_all"}

    [wrong] = await admin.send(1, value={**submit, "confirm": "Orgg"})
    [empty] = await admin.send(1, value={**submit, "confirm": ""})
    [forged] = await user.send(1, value={**submit, "confirm": "Org"})
    registry = TenantRegistry(bot_db)
    assert wrong["text"] == 'The name you typed does not match "Org"; nothing was changed.'
    assert empty["text"] == wrong["text"]
    assert forged["text"] == "Sorry, only your organization's JUNO admins can do that."
    assert (await registry.require(tenant)).removal_mode == "directory_delete_rest_anonymize"

    [done] = await admin.send(1, value={**submit, "confirm": " org "})

    assert done["text"] == (
        "Done. From now on, when someone leaves: Delete all of the person's data in JUNO."
    )
    assert (await registry.require(tenant)).removal_mode == "delete_all"
    [same] = await admin.send(1, value={**submit, "confirm": "Org"})
    assert same["text"].startswith("That is already the mode in force")
    audit = await TenantStore(bot_db, tenant).audit_log.recent(limit=50)
    outcomes = [e["outcome"] for e in audit if e["action"] == "admin:removal_mode"]
    assert "changed directory_delete_rest_anonymize -> delete_all" in outcomes
    assert outcomes.count("refused: confirmation did not match") == 2


async def test_publishing_a_notice_asks_everyone_again_and_tells_them(
    bot_server: BotServer, bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, _, admin, user = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    form = card((await admin.send(1, value=action(home, "admin_publish")))[0])
    assert {b.get("id") for b in form["body"]} >= {"kind", "text_tr", "text_en"}
    submit = action(form, "admin_publish_set")
    [empty] = await admin.send(1, value={**submit, "kind": "notice", "text_tr": " "})
    assert empty["text"].startswith("Please paste the text")

    [published, flagged] = await admin.send(
        2, value={**submit, "kind": "notice", "text_en": "Notice v2: we now keep less."}
    )

    assert published["text"].startswith("Privacy notice version 2 is published.")
    # English only: published, and the admin is told who will read it in another language.
    assert flagged["text"].startswith("Note: this version has no Turkish text.")
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 2)
    assert told[-2]["text"] == (
        "Your organization has published a new privacy notice (version 2). Please read it:"
    )
    notice = card(told[-1])
    assert "Notice v2: we now keep less." in texts_of(notice)
    user.seen += 2
    report = await bot_server.peers.wait_replies(admin.conversation, admin.seen + 3)
    assert report[-1]["text"].startswith("Announcement sent to 2 of 2 people")
    admin.seen += 3
    # The user must acknowledge the new version before using the directory again.
    gated = await user.send(2, text="ara Işık")
    assert gated[0]["text"] == (
        "Before I can help with that, please acknowledge the privacy notice and accept the "
        "terms of use."
    )
    await user.send(1, value=action(card(gated[1]), "ack_notice"))
    [found] = await user.send(1, text="ara Işık")
    assert card(found)["body"][0]["text"] == "Işık Kaya"
    trail = await TenantStore(bot_db, tenant).consents.for_user(user.user, limit=10)
    notices = [e for e in trail if e["document"] == "notice"]
    assert [(e["version"], e["action"]) for e in notices] == [
        (2, "acknowledged"),
        (2, "shown"),  # the gate showed version 2 before it was acknowledged
        (1, "acknowledged"),
        (1, "shown"),
    ]
    # Old versions stay readable from "my consents".
    consents = card((await user.send(1, text="my consents"))[0])
    old = action(consents, "show_version")  # newest first: notice v2
    assert old == {"juno": "show_version", "kind": "notice", "version": 2}
    [first] = await user.send(1, value={**old, "version": 1})
    shown = card(first)
    assert shown["body"][0]["text"] == "Privacy notice (version 1)"
    assert builtin(Kind.NOTICE).text("en") in texts_of(shown)
    assert "actions" not in shown
    [missing] = await user.send(1, value={**old, "version": 7})
    assert missing["text"] == "I could not find that version."


async def test_record_of_processing_as_a_card_and_as_a_file(
    bot_server: BotServer, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    _, _, admin, _ = admin_setup
    [shown] = await admin.send(1, value={"juno": "admin_ropa"})
    ropa = card(shown)
    assert texts_of(ropa)[0] == "Record of processing — Org"
    facts = [f for b in ropa["body"] if b["type"] == "FactSet" for f in b["facts"]]
    assert any(f["title"] == "When someone leaves" for f in facts)
    assert any(f["title"] == "Recipients" for f in facts)

    [preparing] = await admin.send(1, value=action(ropa, "admin_ropa_file"))

    assert preparing["text"].startswith("Preparing the file")
    offer = (await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1]
    admin.seen += 1
    [file_card] = offer["attachments"]
    assert file_card["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    assert file_card["name"].startswith("juno-ropa-") and file_card["name"].endswith(".md")
    uploaded = (await accept_file(bot_server, admin, file_card)).decode("utf-8")
    assert uploaded.startswith("# Record of processing activities — Org")


async def test_all_of_the_tenants_data_from_the_admin_card(
    bot_server: BotServer, bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, _, admin, _ = admin_setup
    [preparing] = await admin.send(1, value={"juno": "admin_archive"})
    assert preparing["text"].startswith("Preparing the file")
    offer = (await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1]
    admin.seen += 1
    [file_card] = offer["attachments"]
    assert file_card["name"].startswith(f"juno-tenant-{tenant}-")

    data = await accept_file(bot_server, admin, file_card)

    manifest = verify_archive(io.BytesIO(data))
    assert manifest["tenant_id"] == tenant and manifest["tenant_name"] == "Org"
    archived = {s["collection"]: s["records"] for s in manifest["stores"]}
    assert archived["profiles"] == await TenantStore(bot_db, tenant).profiles.count()
    assert archived["consents"] >= 4  # both people acknowledged and accepted
    audit = await TenantStore(bot_db, tenant).audit_log.recent(limit=20)
    assert any(e["action"] == "admin:tenant_archive" for e in audit)


async def test_an_erasure_asked_for_in_teams_is_approved_on_the_card(
    bot_server: BotServer, bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, ids, admin, user = admin_setup
    [asked] = await user.send(1, text="verilerimi sil")
    request_id = asked["text"].split()[3]
    heads_up = await bot_server.peers.wait_replies(admin.conversation, admin.seen + 1)
    admin.seen += 1
    assert heads_up[-1]["text"].startswith(f"Erasure request {request_id} from Ayşe Yılmaz.")
    home = card((await admin.send(1, text="admin"))[0])
    approve = action(home, "dsr_approve")
    assert approve["id"] == request_id
    row = next(b["text"] for b in home["body"] if b.get("text", "").startswith(request_id))
    assert row.startswith(f"{request_id} · Ayşe Yılmaz · erasure · open · due ")

    # One press is not enough: the admin types the person's name (folded comparison).
    confirm = card((await admin.send(1, value=approve))[0])
    assert confirm["body"][0]["text"] == "Erase the data of Ayşe Yılmaz?"
    erase = action(confirm, "dsr_approve")
    [wrong] = await admin.send(1, value={**erase, "confirm": "Ayse Yildirim"})
    assert wrong["text"] == "That did not match Ayşe Yılmaz; nothing was erased."
    [empty] = await admin.send(1, value={**erase, "confirm": "  "})
    assert empty["text"] == wrong["text"]
    assert await TenantStore(bot_db, tenant).profiles.get(ids["ayse"]) is not None

    [done] = await admin.send(1, value={**erase, "confirm": "  AYSE YILMAZ "})

    assert done["text"] == f"Request {request_id} is now completed."
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 1)
    assert told[-1]["text"].startswith(f"Your erasure request {request_id} was approved")
    store = TenantStore(bot_db, tenant)
    assert await store.profiles.get(ids["ayse"]) is None
    assert await store.conversations.get(ids["ayse"]) is None
    assert await store.consents.for_user(ids["ayse"]) == []  # pseudonymized, not readable as hers
    log = await store.collections[Coll.DESTRUCTION_LOG].find({"status": "done"})
    assert {e["store"] for e in log} >= {"profiles", "conversations"}

    # The erasure sticks until the controller lifts it, from the desk.
    home = card((await admin.send(1, text="admin"))[0])
    texts = [b.get("text", "") for b in home["body"]]
    assert "Erasure suppressions: 1" in texts
    lift = action(home, "admin_lift_suppression")
    [bad] = await admin.send(1, value={**lift, "object_id": "Ayşe"})
    assert bad["text"].startswith("That is not an Entra object id")
    [lifted] = await admin.send(1, value={**lift, "object_id": ids["ayse"].upper()})
    assert lifted["text"].startswith("Suppression lifted")
    assert await store.suppressions.count() == 0
    audit = await store.audit_log.recent(limit=10)
    assert any(e["action"] == "admin:lift_suppression" and e["outcome"] == "lifted" for e in audit)
    assert ids["ayse"] not in repr(audit)


async def test_an_approved_access_request_stays_on_the_desk_until_done(
    bot_server: BotServer, bot_db: Db, admin_setup: tuple[str, dict[str, str], Chat, Chat]
) -> None:
    tenant, ids, admin, user = admin_setup
    store = TenantStore(bot_db, tenant)
    request = await open_request(store, ids["ayse"], DsrType.ACCESS, details="HR file too")
    admin.locale = "tr-TR"  # the admin's own language, whatever the requester's
    home = card((await admin.send(1, text="yönetim"))[0])
    admin.locale = "en-US"
    row = next(b["text"] for b in home["body"] if b.get("text", "").startswith(request.id))
    assert row.startswith(f"{request.id} · Ayşe Yılmaz · erişim ve dışa aktarım · açık · ")
    [approved] = await admin.send(1, value={"juno": "dsr_approve", "id": request.id})
    assert approved["text"] == f"Request {request.id} is now approved, not finished."
    await bot_server.peers.wait_replies(user.conversation, user.seen + 1)
    user.seen += 1
    home = card((await admin.send(1, text="admin"))[0])
    row = next(b["text"] for b in home["body"] if b.get("text", "").startswith(request.id))
    assert " · access and export · approved, not finished · due " in row
    done = action(home, "dsr_complete")
    assert done["id"] == request.id
    [closed] = await admin.send(1, value=done)
    assert closed["text"] == f"Request {request.id} is now completed."
    told = await bot_server.peers.wait_replies(user.conversation, user.seen + 1)
    assert told[-1]["text"] == f"Your request {request.id} was handled and is now closed."
    home = card((await admin.send(1, text="admin"))[0])
    assert not any(b.get("text", "").startswith(request.id) for b in home["body"])
