"""Tenant admins in Teams: the admin home card, refusals for non-admins, and request decisions
from the card that end in the requester's notification."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import TenantStore
from tests.test_bot import BotServer, Chat, action, bot_db, bot_server, card
from tests.test_bot_directory import org, ready_chat

__all__ = ["bot_db", "bot_server", "org"]
Db = AsyncDatabase[dict[str, Any]]


@pytest.fixture
async def admin_setup(
    bot_server: BotServer, bot_db: Db, org: tuple[str, dict[str, str]]
) -> tuple[str, dict[str, str], Chat, Chat]:
    tenant, ids = org
    await bot_db["tenants"].update_one(
        {"_id": tenant}, {"$set": {"admins": [{"user_id": ids["ceo"], "since": None}]}}
    )
    admin = await ready_chat(bot_server, tenant, user=ids["ceo"])
    user = await ready_chat(bot_server, tenant, user=ids["ayse"])
    return tenant, ids, admin, user


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
    assert any(text.startswith(f"{request_id} · rectification · due ") for text in texts)
    assert any("Removal mode in force: directory_delete_rest_anonymize" in x for x in texts)
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
    tenant, _, admin, _ = admin_setup
    home = card((await admin.send(1, text="admin"))[0])
    assert any(b.get("text") == "No access review recorded yet." for b in home["body"])
    [done] = await admin.send(1, value=action(home, "admin_review"))
    assert done["text"] == "Access review recorded: 1 admin(s) reviewed by you."
    after = card((await admin.send(1, text="admin"))[0])
    assert any(b.get("text", "").startswith("Last access review: ") for b in after["body"])
    reviews = await TenantStore(bot_db, tenant).access_reviews.recent()
    assert reviews[0]["reviewer"] == "Zeynep Kurucu"
