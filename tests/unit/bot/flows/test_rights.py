"""Data rights never depend on accepting the terms of use (the notice promises them regardless).

A person who has neither acknowledged the notice nor accepted the EULA, and has declined it,
can still read the notice, see their consents and their own profile, suggest a correction,
export their data, ask for erasure and get help, in Turkish and in English, over real HTTP
against `juno serve`. Looking up colleagues stays behind the terms.
"""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from bot.i18n import t
from storage.repositories import TenantStore
from tests.support.bot_server import TENANT, BotServer, Chat, action, bot_db, bot_server, card

__all__ = ["bot_db", "bot_server"]  # fixtures, shared with the bot's own suite

Db = AsyncDatabase[dict[str, Any]]

TYPED = {
    "en": {
        "profile": "my profile",
        "correct": "suggest a correction",
        "notice": "privacy",
        "consents": "my consents",
        "help": "help",
        "export": "export my data",
        "erase": "delete my data",
        "search": "find Ayşe",
    },
    "tr": {
        "profile": "profilim",
        "correct": "düzeltme öner",
        "notice": "gizlilik",
        "consents": "onaylarım",
        "help": "yardım",
        "export": "verilerimi dışa aktar",
        "erase": "verilerimi sil",
        "search": "ara Ayşe",
    },
}


async def latest(store: TenantStore, user: str) -> dict[str, str]:
    """The id and due date of the person's newest request, as the bot quotes them."""
    newest = max(await store.dsr_requests.find({"user_id": user}), key=lambda d: d["created_at"])
    return {"id": newest["_id"].split(":", 1)[1], "due": f"{newest['due_at']:%Y-%m-%d}"}


@pytest.mark.parametrize("lang", ["tr", "en"])
async def test_rights_work_after_declining_the_terms(
    lang: str, bot_server: BotServer, bot_db: Db
) -> None:
    chat = Chat(bot_server, locale=f"{lang}-{lang.upper() if lang == 'tr' else 'US'}")
    store = TenantStore(bot_db, TENANT)
    await store.profiles.upsert_many(
        [{"user_id": chat.user, "display_name": "Ayşe Yılmaz", "department": "Satış"}]
    )
    gate = t(lang, "needs_consent")
    first = await chat.send(3, text="merhaba" if lang == "tr" else "hello")
    assert first[0]["text"] == gate
    await chat.send(1, value=action(card(first[2]), "decline_eula"))
    typed = TYPED[lang]

    profile = card((await chat.send(1, text=typed["profile"]))[0])
    assert profile["body"][0]["text"] == t(lang, "my_profile_title")
    correction = card((await chat.send(1, text=typed["correct"]))[0])
    assert correction["body"][0]["text"] == t(lang, "correct_title")
    proposed = await chat.send(1, value={"juno": "propose", "field": "department", "value": "İK"})
    assert proposed[0]["text"] == t(lang, "request_recorded", **await latest(store, chat.user))
    notice = card((await chat.send(1, text=typed["notice"]))[0])
    assert "(" in notice["body"][0]["text"]  # "Privacy notice (version 1)"
    consents = card((await chat.send(1, text=typed["consents"]))[0])
    assert consents["type"] == "AdaptiveCard"
    help_ = card((await chat.send(1, text=typed["help"]))[0])
    assert help_["body"][0]["text"] == t(lang, "help_title")
    export = await chat.send(2, text=typed["export"])  # the reply, then the file offer
    assert export[0]["text"] == t(lang, "export_started_file")  # personal chat: a file
    erase = await chat.send(1, text=typed["erase"])
    assert erase[0]["text"] == t(lang, "erasure_requested", **await latest(store, chat.user))

    # Colleagues are behind the terms.
    gated = await chat.send(3, text=typed["search"])
    assert gated[0]["text"] == gate
    requests = await store.dsr_requests.find({"user_id": chat.user})
    assert sorted(r["type"] for r in requests) == ["erasure", "rectification"]
