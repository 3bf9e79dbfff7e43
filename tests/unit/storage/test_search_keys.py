"""Fuzzing with a bounded example count: hostile search text and whole activities never cause a
500, a stack trace to the user, or a query operator reaching MongoDB."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient, monitoring

from storage import migrate
from storage.repositories import TenantStore
from storage.search_keys import search_keys
from tests.support.bot_server import TENANT, BotServer, Chat, bot_server

__all__ = ["bot_server"]

TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
) | st.sampled_from(['{"$gt": ""}', ".*", "(a+)+$", "$where", "\x00", "İıŞşĞğ", "a" * 5000])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


class Filters(monitoring.CommandListener):
    def __init__(self) -> None:
        self.filters: list[Any] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(event.command.get("filter"))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(term=TEXT)
def test_search_text_never_becomes_an_operator(mongo_uri: str, term: str) -> None:
    async def run() -> None:
        listener = Filters()
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            mongo_uri, event_listeners=[listener]
        )
        try:
            db = client["fuzz_search"]
            store = TenantStore(db, "f0220000-0000-4000-8000-000000000001")
            if await store.profiles.count() == 0:
                await migrate(db)
                keys = search_keys(["Ayşe Yılmaz", "Finans"])
                await store.profiles.upsert_many(
                    [{"user_id": "u1", "display_name": "Ayşe Yılmaz", "search_keys": keys}]
                )
            listener.filters.clear()  # what setting up read (migrate's own finds) is not search
            page = await store.profiles.search(term)
            assert page.total in (0, 1)
            # The search text never reaches MongoDB at all: the only profile query is the page,
            # by our own keys.
            tenant = store.tenant_id
            for filter_ in listener.filters:
                if "_id" in filter_ and filter_.get("tenant_id") == tenant:
                    assert set(filter_) <= {"_id", "tenant_id", "hidden"}, filter_
                    assert set(filter_["_id"]) == {"$in"}, filter_
                    assert all(k in (f"{tenant}:u1",) for k in filter_["_id"]["$in"]), filter_
                    assert filter_.get("hidden", {"$ne": True}) == {"$ne": True}, filter_
                else:
                    assert filter_ in (
                        {"tenant_id": tenant, "hidden": {"$ne": True}},  # the index's load
                        {"_id": f"{tenant}:directory"},  # its version check
                    ), filter_
        finally:
            await client.close()

    asyncio.run(run())


ACTIVITY_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["message", "invoke", "conversationUpdate", "event"]) | TEXT,
        "text": TEXT | JSON,
        "value": JSON,
        "name": TEXT,
        "locale": TEXT,
        "channelData": JSON,
        "entities": JSON,
        "attachments": JSON,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=ACTIVITY_FIELDS, drop=st.sets(st.sampled_from(["from", "recipient", "serviceUrl"])))
def test_any_activity_gets_a_clean_answer(
    bot_server: BotServer, fields: dict[str, Any], drop: set[str]
) -> None:
    async def run() -> None:
        chat = Chat(bot_server, tenant=TENANT)
        body = chat.activity(text="help")
        body.update(fields)
        for key in drop:
            body.pop(key, None)
        status, answer = await chat.post(body)
        assert status in (200, 202, 400, 401, 403), (status, answer)
        assert "Traceback" not in str(answer)
        for reply in bot_server.peers.take(chat.conversation):
            assert "Traceback" not in str(reply) and "Exception" not in str(reply)

    asyncio.run(run())
