"""Summarized directory profiles, one per employee, keyed by Entra object id, and people search.

Search is an indexed equality match on tenant-scoped prefix keys (see
`storage.search_keys.prefix_keys`), then ranking in Python over at most `MAX_CANDIDATES`
documents: exact > prefix > contains, ties by folded display name then id, so paging is stable.
Search terms are never stored and only ever used as equality values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.scoped import BulkOutcome, KeyedUpsert, TenantCollection
from storage.search_keys import (
    MAX_PREFIX,
    MIN_PREFIX,
    fold,
    prefix_keys,
    query_tokens,
    search_keys,
)

Document = dict[str, Any]
# Each candidate costs the server ~25 µs to return (measured on the embedded engine), so a very
# common prefix ("ay" in a Turkish directory) is capped; the reply then asks for more letters.
MAX_CANDIDATES = 200
VISIBLE = {"hidden": {"$ne": True}}
CARD_FIELDS = {
    "tenant_id": 1,
    "user_id": 1,
    "given_name": 1,
    "surname": 1,
    "display_name": 1,
    "mail": 1,
    "job_title": 1,
    "position": 1,
    "department": 1,
    "office_location": 1,
    "employee_id": 1,
    "is_intern": 1,
    "manager_id": 1,
    "overrides": 1,
    "search_keys": 1,
}


@dataclass(frozen=True)
class SearchPage:
    items: list[Document]
    total: int
    offset: int
    too_short: bool = False
    capped: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.total


def rank(tokens: Sequence[str], keys: Sequence[str]) -> int | None:
    """0 exact, 1 prefix, 2 contains, None no match."""
    words = {w for key in keys for w in key.split(" ")}
    phrase = " ".join(tokens)
    if phrase in keys or (len(tokens) == 1 and tokens[0] in words):
        return 0
    if all(any(w.startswith(t) for w in words) for t in tokens):
        return 1
    if all(any(t in key for key in keys) for t in tokens):
        return 2
    return None


class ProfilesRepo:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    def upsert_op(self, user_id: str, fields: Mapping[str, Any]) -> KeyedUpsert:
        values = {**fields, "user_id": user_id}
        if "search_keys" in values and "search_prefixes" not in values:
            values["search_prefixes"] = prefix_keys(self._c.tenant_id, values["search_keys"])
        return self._c.upsert_op([user_id], values)

    async def upsert_many(self, profiles: Sequence[Mapping[str, Any]]) -> BulkOutcome:
        """One round trip for a whole page of profiles."""
        return await self._c.bulk([self.upsert_op(p["user_id"], p) for p in profiles])

    async def get(self, user_id: str) -> Document | None:
        return await self._c.get(user_id)

    async def get_visible(self, user_id: str) -> Document | None:
        doc = await self._c.get(user_id)
        return doc if doc is not None and not doc.get("hidden") else None

    async def get_many_visible(self, user_ids: Sequence[str]) -> dict[str, Document]:
        if not user_ids:
            return {}
        keys = [self._c.key(u) for u in user_ids]
        docs = await self._c.find({"_id": {"$in": keys}, **VISIBLE}, projection=CARD_FIELDS)
        return {d["user_id"]: d for d in docs}

    async def reports_of(self, manager_id: str) -> list[Document]:
        return await self._c.find(
            {"manager_id": manager_id, **VISIBLE}, projection=CARD_FIELDS, limit=200
        )

    async def search(self, term: str, *, offset: int = 0, limit: int = 8) -> SearchPage:
        tokens = query_tokens(term)
        usable = [t for t in tokens if len(t) >= MIN_PREFIX or any(c.isdigit() for c in t)]
        if not usable:
            return SearchPage([], 0, 0, too_short=True)
        anchor = max(usable, key=len)
        if not any(c.isdigit() for c in anchor):
            anchor = anchor[:MAX_PREFIX]
        candidates = await self._c.find(
            {"search_prefixes": f"{self._c.tenant_id}:{anchor}", **VISIBLE},
            projection=CARD_FIELDS,
            limit=MAX_CANDIDATES,
        )
        ranked: list[tuple[int, str, str, Document]] = []
        for doc in candidates:
            found = rank(tokens, doc.get("search_keys") or [])
            if found is not None:
                name = fold(doc.get("display_name") or "")
                ranked.append((found, name, doc["user_id"], doc))
        ranked.sort(key=lambda r: (r[0], r[1], r[2]))
        start = max(0, offset)
        page = [r[3] for r in ranked[start : start + limit]]
        return SearchPage(page, len(ranked), start, capped=len(candidates) >= MAX_CANDIDATES)

    async def set_override(self, user_id: str, field: str, override: Mapping[str, Any]) -> int:
        """An approved correction, kept beside (never instead of) the synced value. The value's
        words become searchable too."""
        folded = search_keys([str(override.get("value", ""))])
        update: Document = {"$set": {f"overrides.{field}": dict(override)}}
        if folded:
            update["$addToSet"] = {
                "search_keys": {"$each": folded},
                "search_prefixes": {"$each": prefix_keys(self._c.tenant_id, folded)},
            }
        return await self._c.update_one({"user_id": user_id}, update)

    async def count(self) -> int:
        return await self._c.count()

    async def delete(self, user_id: str) -> int:
        return await self._c.delete_many({"user_id": user_id})
