"""Summarized directory profiles, one per employee, keyed by Entra object id, and people search.

Search ranks in this process (`storage.search_index`: folded words of every visible profile,
kept fresh from a directory version every profile write bumps), exact > prefix > contains, ties
by folded display name then id, so paging is stable; the database returns only the page, by
`_id`. Search terms are never stored and never reach the database at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.errors import TenantScopeViolation
from storage.keys import TKEY
from storage.scoped import BulkOutcome, KeyedUpsert, TenantCollection, renames
from storage.search_index import bump_version, index_for

Document = dict[str, Any]
VISIBLE = {"hidden": {"$ne": True}}
REPORTS_LIMIT = 200
# Profile fields the sync does not own: an approved correction, a position Graph does not send,
# the time retention counts a soft delete's grace period from. A whole-profile write keeps them.
SYNC_FOREIGN = ("overrides", "position", "soft_deleted_at")
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
    """0 exact, 1 prefix, 2 contains, None no match: the ranking the search index computes with
    set operations (tests hold the two equal)."""
    words = {w for key in keys for w in key.split(" ")}
    phrase = " ".join(tokens)
    if phrase in keys or (len(tokens) == 1 and tokens[0] in words):
        return 0
    if all(any(w.startswith(t) for w in words) for t in tokens):
        return 1
    if all(any(t in key for key in keys) for t in tokens):
        return 2
    return None


class ProfilesCollection(TenantCollection):
    """The profiles collection of one tenant: every write bumps the tenant's directory version
    afterwards, so every replica's search index follows (storage.search_index). Erasure,
    rectification and tenant purge write through it too (`TenantStore.collections`).

    A profile's `_id` is `<tenant>:<user_id>`: every write here keeps it so, and a filter on
    `user_id` is narrowed to that `_id`, so a read by person (an export, an erasure, a
    correction) is a point read. The embedded engine otherwise compared every profile of
    every tenant (16 ms an export's read at 16,000 profiles; bench/load.py --tenants 8)."""

    def scope(self, filter_: Mapping[str, Any] | None = None) -> Document:
        scoped = super().scope(filter_)
        user_id = scoped.get("user_id")
        if isinstance(user_id, str) and user_id and "_id" not in scoped:
            scoped["_id"] = self.key(user_id)
        return scoped

    def _guard_update(self, update: Mapping[str, Any]) -> None:
        super()._guard_update(update)
        if renames(update, "user_id") or any(
            isinstance(fields, Mapping) and "user_id" in fields for fields in update.values()
        ):
            raise TenantScopeViolation("a profile's user id is its key: it never changes")

    async def _changed(self) -> None:
        await bump_version(self._coll, self.tenant_id)

    async def insert(self, document: Mapping[str, Any]) -> Any:
        doc = dict(document)
        user_id = doc.get("user_id")
        if isinstance(user_id, str) and user_id:
            key = self.key(user_id)
            if doc.setdefault("_id", key) != key:
                raise TenantScopeViolation("a profile's _id is its tenant and user id")
            doc[TKEY] = key
        inserted = await super().insert(doc)
        await self._changed()
        return inserted

    async def insert_once(self, key_parts: Sequence[str], fields: Mapping[str, Any]) -> bool:
        if "user_id" in fields and list(key_parts) != [fields["user_id"]]:
            raise TenantScopeViolation("a profile's _id is its tenant and user id")
        created = await super().insert_once(key_parts, fields)
        await self._changed()
        return created

    async def upsert(
        self,
        key_parts: Sequence[str],
        set_fields: Mapping[str, Any],
        set_on_insert: Mapping[str, Any] | None = None,
    ) -> Document:
        found = await super().upsert(key_parts, set_fields, set_on_insert)
        await self._changed()
        return found

    async def bulk(
        self,
        operations: Sequence[KeyedUpsert],
        *,
        update_only: Sequence[KeyedUpsert] = (),
        replace_unless: Sequence[str] = (),
    ) -> BulkOutcome:
        outcome = await super().bulk(
            operations, update_only=update_only, replace_unless=replace_unless
        )
        if operations or update_only:
            # After the write, so a replica that sees the new version also sees the page.
            await self._changed()
        return outcome

    async def update_each(
        self, requests: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> int:
        changed = await super().update_each(requests)
        if requests:
            await self._changed()
        return changed

    async def update_many(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> int:
        changed = await super().update_many(filter_, update)
        await self._changed()
        return changed

    async def update_one(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> int:
        changed = await super().update_one(filter_, update)
        await self._changed()
        return changed

    async def delete_many(self, filter_: Mapping[str, Any] | None = None) -> int:
        deleted = await super().delete_many(filter_)
        await self._changed()
        return deleted


class ProfilesRepo:
    def __init__(self, coll: TenantCollection) -> None:
        self._c = coll

    @property
    def tenant_id(self) -> str:
        return self._c.tenant_id

    def upsert_op(self, user_id: str, fields: dict[str, Any]) -> KeyedUpsert:
        """The keyed `$set` of one profile: the only way profile upserts are built, and on the
        sync's hot path (a directory's worth per full round), so it takes `fields` over
        instead of copying it (the caller built it fresh) and checks no more than it must:
        `tenant_id` and `tkey` are overwritten with ours, and a `tenant_id.<x>` path among
        the fields would conflict with that `tenant_id` and fail the whole write."""
        if not user_id:
            raise ValueError("a profile needs a user id")
        key = self._c.key(user_id)
        fields["user_id"] = user_id
        fields["tenant_id"] = self._c.tenant_id
        fields[TKEY] = key
        return KeyedUpsert(tenant_id=self._c.tenant_id, key=key, update={"$set": fields})

    async def upsert_many(self, profiles: Sequence[Mapping[str, Any]]) -> BulkOutcome:
        """One round trip for a whole page of profiles (plus the version bump)."""
        return await self._c.bulk([self.upsert_op(p["user_id"], dict(p)) for p in profiles])

    async def apply_page(
        self,
        upserts: Sequence[KeyedUpsert],
        hide: Sequence[KeyedUpsert] = (),
        *,
        whole: bool = False,
    ) -> BulkOutcome:
        """A sync page in one round trip (plus the version bump): `upserts` create or update,
        `hide` only updates (a soft delete never creates a record for someone never held).

        `whole` says each upsert carries every field the sync owns (a full round): a profile
        holding nothing else is then replaced rather than `$set` (the faster write on the
        embedded engine); one with fields the sync does not own (`SYNC_FOREIGN`) gets the
        `$set`, so an approved correction survives."""
        return await self._c.bulk(
            upserts, update_only=hide, replace_unless=SYNC_FOREIGN if whole else ()
        )

    async def holds_any(self) -> bool:
        """Whether the tenant holds any profile: one indexed read, where a count scans."""
        return await self._c.find_one(projection={"_id": 1}) is not None

    async def not_seen_in(self, round_no: int) -> list[str]:
        """Who a full round did not stamp: they have left the directory."""
        stale = await self._c.find(
            {"seen_in_round": {"$ne": round_no}}, projection={"user_id": 1, "_id": 0}
        )
        return [doc["user_id"] for doc in stale if doc.get("user_id")]

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
        """Visible direct reports (cards), from the search index while it is current: on the
        embedded engine this equality is a scan of the tenant's profiles."""
        index = index_for(self._c._coll, self._c.tenant_id)
        found = await index.reports(self._c._coll, manager_id, CARD_FIELDS, REPORTS_LIMIT)
        if found is not None:
            return found
        return await self._c.find(
            {"manager_id": manager_id, **VISIBLE}, projection=CARD_FIELDS, limit=REPORTS_LIMIT
        )

    async def card_of(self, user_id: str) -> Document | None:
        """A visible person's card fields (the org chart's managers), from the search index
        while it is current, else one point read."""
        index = index_for(self._c._coll, self._c.tenant_id)
        found = await index.card(self._c._coll, user_id, CARD_FIELDS)
        if found is not False:
            return found if isinstance(found, dict) else None
        return await self.get_visible(user_id)

    async def search(self, term: str, *, offset: int = 0, limit: int = 8) -> SearchPage:
        index = index_for(self._c._coll, self._c.tenant_id)
        page = await index.search(
            self._c._coll, term, offset=offset, limit=limit, projection=CARD_FIELDS
        )
        if page is None:
            return SearchPage([], 0, 0, too_short=True)
        return SearchPage(page.items, page.total, page.offset)

    async def set_override(self, user_id: str, field: str, override: Mapping[str, Any]) -> int:
        """An approved correction, kept beside (never instead of) the synced value. The value's
        words become searchable too: the search index reads them from the override
        (storage.search_index), so the next sync, which rewrites the stored keys from Graph,
        cannot drop them."""
        update: Document = {"$set": {f"overrides.{field}": dict(override)}}
        return await self._c.update_one({"user_id": user_id}, update)

    async def count(self) -> int:
        return await self._c.count()

    async def delete(self, user_id: str) -> int:
        return await self._c.delete_many({"user_id": user_id})
