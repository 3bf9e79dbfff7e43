"""`juno serve` as a subprocess with the fake Bot Connector and authority, and a Teams user's chat
with it over real HTTP."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pymongo import MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import TenantRecord
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, Peers, activity
from tests.support.processes import JUNO, base_env, free_port, wait_ready

TENANT = "c0ffee00-0000-4000-8000-000000000001"
DISABLED = "c0ffee00-0000-4000-8000-000000000002"
UNKNOWN = "c0ffee00-0000-4000-8000-00000000dead"


def bot_env(
    mongo_uri: str,
    db_name: str,
    port: int,
    *,
    metadata_url: str,
    authority_host: str,
    ca_file: str,
    **extra: str,
) -> dict[str, str]:
    """The environment of a `juno serve` whose bot talks to local stand-ins: the test's JWKS
    (metadata_url), token authority and connector, trusted through `ca_file`."""
    return base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_PORT=str(port),
        JUNO_BOT_APP_ID=BOT_APP_ID,
        JUNO_BOT_APP_SECRET=BOT_SECRET,
        JUNO_BOT_OPENID_METADATA_URL=metadata_url,
        JUNO_BOT_VALIDATE_SERVICE_URL="0",  # the fake connector is on loopback
        JUNO_AUTHORITY_HOST=authority_host,
        REQUESTS_CA_BUNDLE=ca_file,  # msal (the bot's outbound token)
        **extra,
    )


@dataclass
class BotServer:
    url: str
    peers: Peers
    db_name: str
    proc: subprocess.Popen[str]
    env: dict[str, str]
    cwd: Path


@pytest.fixture(scope="module")
def bot_server(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    peers = Peers()
    peers.start()
    db_name = f"bot_{uuid.uuid4().hex[:10]}"
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    with client:
        tenants = client[db_name]["tenants"]
        tenants.insert_one(TenantRecord(tenant_id=TENANT, name="Contoso").to_document())
        tenants.insert_one(
            TenantRecord(tenant_id=DISABLED, name="Fabrikam", enabled=False).to_document()
        )
    tmp = tmp_path_factory.mktemp("bot")
    port = free_port()
    env = bot_env(
        mongo_uri,
        db_name,
        port,
        metadata_url=peers.metadata_url,
        authority_host=peers.authority_host,
        ca_file=peers.ca_file(str(tmp / "ca.pem")),
    )
    proc = subprocess.Popen(
        [JUNO, "serve"], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    yield BotServer(url, peers, db_name, proc, env, tmp)
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    peers.stop()
    assert "Traceback" not in err, err


@pytest.fixture
async def bot_db(
    mongo_uri: str, bot_server: BotServer
) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client[bot_server.db_name]
    await client.close()


class Chat:
    """One user's personal conversation with the bot."""

    def __init__(self, server: BotServer, tenant: str = TENANT, locale: str = "en-US"):
        self.server = server
        self.tenant = tenant
        self.user = str(uuid.uuid4())
        self.conversation = f"a:{uuid.uuid4().hex}"
        self.locale = locale
        self.seen = 0

    def activity(self, **kw: Any) -> dict[str, Any]:
        return activity(
            tenant=self.tenant,
            user=self.user,
            conversation=self.conversation,
            service_url=self.server.peers.service_url,
            locale=self.locale,
            **kw,
        )

    async def post(
        self, body: Any, *, token: str | None = "valid", raw: bytes | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if token == "valid":
            token = self.server.peers.token()
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with aiohttp.ClientSession() as session:
            kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
            async with session.post(
                f"{self.server.url}/api/messages", headers=headers, **kwargs
            ) as resp:
                text = await resp.text()
                try:
                    payload = await resp.json(content_type=None) if text else {}
                except ValueError:
                    payload = {"text": text}
                return resp.status, payload

    async def send(self, expect: int, **kw: Any) -> list[dict[str, Any]]:
        status, body = await self.post(self.activity(**kw))
        assert status in (200, 202), body
        replies = await self.server.peers.wait_replies(self.conversation, self.seen + expect)
        new = replies[self.seen :]
        self.seen = len(replies)
        return new

    async def quiet(self, seconds: float = 0.5) -> None:
        await _sleep(seconds)
        assert len(self.server.peers.take(self.conversation)) == self.seen


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def card(reply: dict[str, Any]) -> dict[str, Any]:
    [attachment] = reply["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content: dict[str, Any] = attachment["content"]
    assert content["version"] == "1.5"
    return content


def action(content: dict[str, Any], command: str) -> dict[str, Any]:
    """A card's submit data for `command`, from its actions, an ActionSet in its body or a
    row of a list (a container whose `selectAction` is the button)."""
    body = content.get("body", [])
    sets = [b["actions"] for b in body if b.get("type") == "ActionSet"]
    picks = [b["selectAction"] for b in body if isinstance(b.get("selectAction"), dict)]
    for act in [*content.get("actions", []), *(a for s in sets for a in s), *picks]:
        if act.get("data", {}).get("juno") == command:
            data: dict[str, Any] = act["data"]
            return data
    raise AssertionError(f"no {command} action in {content}")


async def consent_fully(chat: Chat) -> None:
    first = await chat.send(3, type_="conversationUpdate", membersAdded=[
        {"id": f"28:{BOT_APP_ID}"}
    ])  # fmt: skip
    notice, eula = card(first[1]), card(first[2])
    await chat.send(1, value=action(notice, "ack_notice"))
    await chat.send(1, value=action(eula, "accept_eula"))


async def offered_file(chat: Chat) -> dict[str, Any]:
    await consent_fully(chat)
    await chat.send(1, text="export my data")
    replies = await chat.server.peers.wait_replies(chat.conversation, chat.seen + 1)
    chat.seen = len(replies)
    [attachment] = replies[-1]["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.teams.card.file.consent"
    assert isinstance(attachment, dict)
    assert attachment["content"]["sizeInBytes"] > 0
    assert attachment["name"].endswith(".zip")
    offer: dict[str, Any] = attachment
    return offer


def accept_answer(chat: Chat, context: Any, name: str) -> dict[str, Any]:
    """The invoke Teams sends when the user accepts a FileConsentCard: where to upload."""
    return chat.activity(
        type_="invoke",
        name="fileConsent/invoke",
        value={
            "type": "fileUpload",
            "action": "accept",
            "context": context,
            "uploadInfo": {
                "contentUrl": f"https://contoso-my.sharepoint.com/personal/{name}",
                "name": name,
                "uploadUrl": chat.server.peers.upload_url(name),
                "uniqueId": "1234",
                "fileType": name.rsplit(".", 1)[-1],
            },
        },
    )
