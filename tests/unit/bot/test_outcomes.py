"""Decisions made with `juno dsr` reach the requester in Teams the way the admin desk's do:
the operator's process uses the bot's identity and the person's stored conversation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from tests.support.bot_server import TENANT, BotServer, Chat, bot_db, bot_server, consent_fully
from tests.support.processes import JUNO

__all__ = ["bot_db", "bot_server"]
Db = AsyncDatabase[dict[str, Any]]


async def juno(server: BotServer, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        JUNO, *args, env=server.env, cwd=server.cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(120):
        out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_rejection_from_the_cli_reaches_the_requester(bot_server: BotServer) -> None:
    chat = Chat(bot_server, locale="tr-TR")
    await consent_fully(chat)
    code, out, err = await juno(
        bot_server, "dsr", "open", "--tenant", TENANT, "--user", chat.user, "--type", "access",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    request_id = json.loads(out)["id"]
    code, out, err = await juno(
        bot_server, "dsr", "reject", "--tenant", TENANT, "--id", request_id,
        "--reason", "Kimlik doğrulanamadı",
    )  # fmt: skip
    assert code == 0, err
    assert "the requester was told in Teams" in err, err
    told = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1)
    assert told[-1]["text"] == (
        f"{request_id} numaralı talebiniz onaylanmadı. Gerekçe: Kimlik doğrulanamadı"
    )


async def test_a_decision_made_without_the_bots_identity_is_delivered_by_serve(
    bot_server: BotServer, bot_db: Db
) -> None:
    """`juno dsr` on a host without the bot's identity queues the message; the running
    `juno serve` sends it in the requester's conversation, like the desk's, and forgets it."""
    chat = Chat(bot_server)
    await consent_fully(chat)
    bare = {k: v for k, v in bot_server.env.items() if not k.startswith("JUNO_BOT_")}
    operator = BotServer(
        bot_server.url, bot_server.peers, bot_server.db_name, bot_server.proc, bare,
        bot_server.cwd,
    )  # fmt: skip
    code, out, err = await juno(
        operator, "dsr", "open", "--tenant", TENANT, "--user", chat.user, "--type", "access",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    request_id = json.loads(out)["id"]
    code, _, err = await juno(
        operator, "dsr", "complete", "--tenant", TENANT, "--id", request_id, "--note", "sent",
    )  # fmt: skip
    assert code == 0, err
    assert "the requester will be told in Teams by juno serve (queued)" in err, err
    told = await bot_server.peers.wait_replies(chat.conversation, chat.seen + 1, within=40)
    assert told[-1]["text"] == f"Your request {request_id} was handled and is now closed."
    for _ in range(50):
        if await bot_db["outbox"].count_documents({}) == 0:
            break
        await asyncio.sleep(0.1)
    assert await bot_db["outbox"].count_documents({}) == 0
