"""A small seeded org chart and a chat that has already consented, for the directory tests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from storage.repositories import TenantRecord, TenantStore
from storage.search_keys import pack_keys, search_keys
from tests.support.bot_server import (
    BotServer,
    Chat,
    consent_fully,
)

Db = AsyncDatabase[dict[str, Any]]


def profile(user_id: str, given: str, surname: str, **extra: Any) -> dict[str, Any]:
    display = f"{given} {surname}"
    values = [given, surname, display, extra.get("job_title"), extra.get("department")]
    return {
        "user_id": user_id,
        "given_name": given,
        "surname": surname,
        "display_name": display,
        "search_keys": pack_keys(search_keys(values)),  # as the sync stores them
        **extra,
    }


def rows(content: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A list card's people: (name shown, what tapping the row sends)."""
    return [
        (b["items"][0]["text"], b["selectAction"]["data"])
        for b in content["body"]
        if isinstance(b.get("selectAction"), dict)
    ]


@pytest.fixture
async def org(bot_db: Db) -> tuple[str, dict[str, str]]:
    """A fresh tenant with a small org chart: CEO <- CFO <- Ayşe (+ 12 finance staff)."""
    tenant = str(uuid.uuid4())
    await bot_db["tenants"].insert_one(TenantRecord(tenant_id=tenant, name="Org").to_document())
    ids = {name: str(uuid.uuid4()) for name in ("ceo", "cfo", "ayse", "isik", "hidden")}
    store = TenantStore(bot_db, tenant)
    await store.profiles.upsert_many(
        [
            profile(ids["ceo"], "Zeynep", "Kurucu", job_title="CEO"),
            profile(ids["cfo"], "Can", "Öztürk", job_title="CFO", manager_id=ids["ceo"]),
            profile(
                ids["ayse"], "Ayşe", "Yılmaz", job_title="Analist", department="Finans",
                manager_id=ids["cfo"], mail="ayse@example.com", is_intern=True,
            ),
            profile(ids["isik"], "Işık", "Kaya", job_title="Yazılım Mühendisi"),
            profile(ids["hidden"], "Gizli", "Ayşe", hidden=True),
            *[
                profile(str(uuid.uuid4()), f"Finansçı{i:02d}", "Ekip", department="Finans",
                        manager_id=ids["cfo"])
                for i in range(12)
            ],
        ]
    )  # fmt: skip
    return tenant, ids


async def ready_chat(server: BotServer, tenant: str, user: str | None = None) -> Chat:
    chat = Chat(server, tenant=tenant)
    if user:
        chat.user = user
    await consent_fully(chat)
    return chat
