"""The SDK's `Storage` interface: over one tenant's `bot_state` collection, and the empty one
the `AgentApplication` is given.

Keys are the SDK's own (e.g. "msteams/users/<id>"); the tenant comes from the store this is
built on, so one tenant's state can never be read with another tenant's key.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from microsoft_agents.hosting.core.storage import Storage, StoreItem

from storage.repositories import KeyedStore

ItemT = TypeVar("ItemT", bound=StoreItem)


class MongoStorage(Storage):
    def __init__(self, store: KeyedStore) -> None:
        self._store = store

    async def read(
        self, keys: list[str], *, target_cls: type[ItemT], **kwargs: Any
    ) -> dict[str, ItemT]:
        if not keys:
            raise ValueError("Storage.read(): keys are required")
        found = await self._store.get_many([f"state/{k}" for k in keys])
        items: dict[str, ItemT] = {}
        for key in keys:
            doc = found.get(f"state/{key}")
            if doc is not None:
                items[key] = target_cls.from_json_to_store_item(doc["state"])  # type: ignore[assignment]
        return items

    async def write(self, changes: dict[str, StoreItem]) -> None:
        if not changes:
            raise ValueError("Storage.write(): changes are required")
        for key, item in changes.items():
            fields: dict[str, Any] = {
                "state": item.store_item_to_json(),
                "updated_at": datetime.now(UTC),
            }
            if isinstance(item, UserState):
                fields["user_id"] = item.user_id
            await self._store.put(f"state/{key}", fields)

    async def delete(self, keys: list[str]) -> None:
        for key in keys:
            await self._store.delete(f"state/{key}")


class NoStorage(Storage):
    """What the `AgentApplication` requires as its storage, holding nothing: it has no tenant to
    scope keys by, so JUNO's state is never written there (bot.turn.JunoState loads and saves
    nothing). The SDK's sign-in check still reads it on every message; that read finds nothing
    and costs no round trip. A write would be a new SDK feature storing state unscoped, so it
    fails loudly instead."""

    async def read(
        self, keys: list[str], *, target_cls: type[ItemT], **kwargs: Any
    ) -> dict[str, ItemT]:
        return {}

    async def write(self, changes: dict[str, StoreItem]) -> None:
        raise NotImplementedError("JUNO keeps no state in the SDK's application storage")

    async def delete(self, keys: list[str]) -> None:
        return None


class UserState(StoreItem):
    """Per-user dialog state: only what the bot needs to behave well on the next turn."""

    def __init__(self, user_id: str, welcomed: bool = False, locale: str | None = None) -> None:
        self.user_id = user_id
        self.welcomed = welcomed
        self.locale = locale

    def store_item_to_json(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "welcomed": self.welcomed, "locale": self.locale}

    @staticmethod
    def from_json_to_store_item(json_data: MutableMapping[str, Any]) -> UserState:
        return UserState(
            str(json_data.get("user_id", "")),
            bool(json_data.get("welcomed", False)),
            json_data.get("locale"),
        )
