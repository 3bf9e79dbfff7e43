"""The admin-desk tests' helpers: a tenant with an admin and a user in chat, card texts, accepting
a file offer as Teams does."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bot_server import (
    BotServer,
    Chat,
    accept_answer,
)
from tests.support.directory import Db, ready_chat


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


def texts_of(content: dict[str, Any]) -> list[str]:
    return [str(b.get("text", "")) for b in content["body"]]


async def accept_file(bot_server: BotServer, chat: Chat, offer: dict[str, Any]) -> bytes:
    """Answer a FileConsentCard with "accept" as Teams does; returns what was uploaded."""
    name = offer["name"]
    answer = accept_answer(chat, offer["content"]["acceptContext"], name)
    status, _ = await chat.post(answer)
    assert status == 200
    await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1)  # the file info card
    chat.seen += 1
    return bot_server.peers.uploads[name]
