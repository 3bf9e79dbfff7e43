"""A collection handle bound to one tenant: the only way repositories touch tenant data.

Every read filter, update and aggregation gets `tenant_id` forced in here, so tenant isolation is
a property of this one class rather than of each query someone writes later. Callers pass plain
field/value filters; a filter naming another tenant raises instead of silently widening.

The person key `tuser` (storage.collections.SUBJECT_FIELDS) is kept here too, for the same
reason: every write that sets or removes the subject field sets or removes it, and every
equality filter on the subject field is narrowed by it, so no caller can forget either half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ReplaceOne, ReturnDocument, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from storage.collections import SUBJECT_FIELDS
from storage.errors import TenantScopeViolation
from storage.keys import TKEY, TUSER, person_key, scoped_key

Document = dict[str, Any]
_DUPLICATE_KEY = 11000
_SUBJECTS: dict[str, str] = {coll.value: field for coll, field in SUBJECT_FIELDS.items()}
# Operators that run JavaScript on the server: never, at any depth of a filter or pipeline.
_CODE_OPERATORS = frozenset({"$where", "$function", "$accumulator"})


def _code_operator(value: Any) -> str | None:
    """The first server-side-code operator anywhere inside `value`, else None. Iterative, so a
    deeply nested value cannot exhaust the stack."""
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, Mapping):
            for key, inner in item.items():
                if key in _CODE_OPERATORS:
                    return str(key)
                pending.append(inner)
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return None


def renames(update: Mapping[str, Any], field: str) -> bool:
    """Whether `update` moves `field` away or another field onto it."""
    moved = update.get("$rename")
    return isinstance(moved, Mapping) and (field in moved or field in moved.values())


def _names_tenant(path: Any) -> bool:
    return isinstance(path, str) and (path == "tenant_id" or path.startswith("tenant_id."))


@dataclass(frozen=True, slots=True)
class KeyedUpsert:
    """One keyed upsert. With `once` (journal field, token) it applies at most once per token:
    the token is pushed onto the journal in the same atomic update whose filter requires it
    absent, which is how counts move between documents exactly once without transactions."""

    tenant_id: str
    key: str
    update: Document
    once: tuple[str, str] | None = None

    @property
    def filter(self) -> Document:
        found: Document = {"_id": self.key, TKEY: self.key}
        if self.once is not None:
            journal, token = self.once
            found[journal] = {"$ne": token}
        return found


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    inserted: int
    modified: int


class TenantCollection:
    def __init__(self, collection: AsyncCollection[Document], tenant_id: str) -> None:
        if not tenant_id:
            raise TenantScopeViolation("a tenant-scoped collection needs a tenant id")
        self._coll = collection
        self.tenant_id = tenant_id
        self._subject: str | None = _SUBJECTS.get(collection.name)

    @property
    def name(self) -> str:
        return self._coll.name

    def key(self, *parts: str) -> str:
        return scoped_key(self.tenant_id, *parts)

    def scope(self, filter_: Mapping[str, Any] | None = None) -> Document:
        scoped: Document = dict(filter_ or {})
        if "tenant_id" in scoped and scoped["tenant_id"] != self.tenant_id:
            raise TenantScopeViolation(f"filter names another tenant in {self.name}")
        found = _code_operator(scoped)
        if found is not None:
            raise TenantScopeViolation(f"{found} is never allowed")
        scoped["tenant_id"] = self.tenant_id
        subject = self._subject
        if subject is not None and isinstance(scoped.get(subject), str) and TUSER not in scoped:
            scoped[TUSER] = person_key(self.tenant_id, scoped[subject])
        return scoped

    def _with_person(self, document: Document) -> Document:
        """A document to store, with `tuser` matching its subject field (or without it)."""
        subject = self._subject
        if subject is None:
            return document
        document.pop(TUSER, None)
        if isinstance(document.get(subject), str):
            document[TUSER] = person_key(self.tenant_id, document[subject])
        return document

    def _mirror(self, update: Mapping[str, Any]) -> Document:
        """`update` with `tuser` following whatever it does to the subject field."""
        mirrored: Document = {
            op: dict(v) if isinstance(v, Mapping) else v for op, v in update.items()
        }
        subject = self._subject
        if subject is None:
            return mirrored
        for op in ("$set", "$setOnInsert"):
            fields = mirrored.get(op)
            if not fields or subject not in fields:
                continue
            if isinstance(fields[subject], str):
                fields[TUSER] = person_key(self.tenant_id, fields[subject])
            elif op == "$set":
                mirrored.setdefault("$unset", {})[TUSER] = ""
        if subject in mirrored.get("$unset", {}):
            mirrored["$unset"][TUSER] = ""
        return mirrored

    def _guard_update(self, update: Mapping[str, Any]) -> None:
        if not isinstance(update, Mapping):
            # An aggregation-pipeline update can compute any field, tenant_id included.
            raise TenantScopeViolation(f"pipeline updates are not tenant-scoped in {self.name}")
        found = _code_operator(update)
        if found is not None:
            raise TenantScopeViolation(f"{found} is never allowed")
        for op, fields in update.items():
            if not isinstance(fields, Mapping):
                continue
            if op == "$rename" and any(
                _names_tenant(src) or _names_tenant(dst) for src, dst in fields.items()
            ):
                raise TenantScopeViolation(f"an update may not rename tenant_id in {self.name}")
            if op == "$rename" and self._subject is not None and renames(update, self._subject):
                # `tuser` follows the subject field's value, not a field moved under its name.
                raise TenantScopeViolation(f"an update may not rename {self._subject}")
            for path in fields:
                if path == TUSER or (isinstance(path, str) and path.startswith(f"{TUSER}.")):
                    raise TenantScopeViolation(f"{TUSER} is kept by the store in {self.name}")
                if not _names_tenant(path):
                    continue
                if op == "$set" and path == "tenant_id" and fields[path] == self.tenant_id:
                    continue
                raise TenantScopeViolation(f"an update may not change tenant_id in {self.name}")

    async def find(
        self,
        filter_: Mapping[str, Any] | None = None,
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
        skip: int = 0,
        limit: int = 0,
    ) -> list[Document]:
        # One batch up to `limit` (or the driver's default) so a bounded read is one round trip.
        cursor = self._coll.find(
            self.scope(filter_), projection, skip=skip, limit=limit, batch_size=limit
        )
        if sort:
            cursor = cursor.sort(list(sort))
        return await cursor.to_list(None)

    async def find_one(
        self,
        filter_: Mapping[str, Any] | None = None,
        *,
        projection: Mapping[str, Any] | None = None,
        sort: Sequence[tuple[str, int]] | None = None,
    ) -> Document | None:
        return await self._coll.find_one(
            self.scope(filter_), projection, sort=list(sort) if sort else None
        )

    async def get(self, *key_parts: str) -> Document | None:
        """Fetch by natural key: one indexed point read."""
        key = self.key(*key_parts)
        return await self._coll.find_one({"_id": key, "tenant_id": self.tenant_id})

    async def count(self, filter_: Mapping[str, Any] | None = None) -> int:
        return await self._coll.count_documents(self.scope(filter_))

    async def insert(self, document: Mapping[str, Any]) -> Any:
        doc = dict(document)
        if doc.get("tenant_id", self.tenant_id) != self.tenant_id:
            raise TenantScopeViolation(f"document names another tenant in {self.name}")
        doc["tenant_id"] = self.tenant_id
        result = await self._coll.insert_one(self._with_person(doc))
        return result.inserted_id

    async def insert_once(self, key_parts: Sequence[str], fields: Mapping[str, Any]) -> bool:
        """Insert a keyed document unless it exists; True if this call created it. Atomic on
        any MongoDB because `_id` is unique, so it can de-duplicate across replicas.

        Written as an upsert that only sets on insert, matched on `_id` and `tkey`, rather than
        `insert_one`: the embedded engine checks a single inserted document's `_id` against
        every document in the collection (24 ms per insert at 10,000 activity records, the
        largest part of a turn's database time under load), while this upsert finds its
        candidate through the `tkey` index (under 1 ms flat; bench/load.py)."""
        key = self.key(*key_parts)
        doc = self._with_person({**fields, TKEY: key, "tenant_id": self.tenant_id})
        try:
            result = await self._coll.update_one(
                {"_id": key, TKEY: key}, {"$setOnInsert": doc}, upsert=True
            )
        except DuplicateKeyError:  # a concurrent insert of the same key won
            return False
        return result.upserted_id is not None

    def upsert_op(
        self,
        key_parts: Sequence[str],
        set_fields: Mapping[str, Any],
        set_on_insert: Mapping[str, Any] | None = None,
        unset: Sequence[str] = (),
        *,
        inc: Mapping[str, int] | None = None,
        once: tuple[str, str] | None = None,
    ) -> KeyedUpsert:
        """One keyed upsert, for `bulk` (the embedded server's fast path is bulk UpdateOne).
        `inc` adds to counters; `once` = (journal field, token) makes it apply at most once
        per token (see `KeyedUpsert`)."""
        key = self.key(*key_parts)
        update: Document = {"$set": {**set_fields, "tenant_id": self.tenant_id, TKEY: key}}
        if set_on_insert:
            update["$setOnInsert"] = dict(set_on_insert)
        if unset:
            update["$unset"] = dict.fromkeys(unset, "")
        if inc:
            update["$inc"] = dict(inc)
        if once is not None:
            update["$push"] = {once[0]: once[1]}
        self._guard_update(update)
        return KeyedUpsert(
            tenant_id=self.tenant_id, key=key, update=self._mirror(update), once=once
        )

    async def upsert(
        self,
        key_parts: Sequence[str],
        set_fields: Mapping[str, Any],
        set_on_insert: Mapping[str, Any] | None = None,
    ) -> Document:
        op = self.upsert_op(key_parts, set_fields, set_on_insert)
        found = await self._coll.find_one_and_update(
            op.filter, op.update, upsert=True, return_document=ReturnDocument.AFTER
        )
        if found is None:  # pragma: no cover - an upsert always returns the document
            raise TenantScopeViolation(f"upsert returned nothing in {self.name}")
        return found

    async def claim(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> Document | None:
        """Update the one document matching `filter_` and return it as it is now, or None when
        nothing matched. Never inserts: a lease or a busy flag is taken by one conditional
        update, which a single-document write makes atomic on any MongoDB, so two workers can
        never both hold it."""
        self._guard_update(update)
        found: Document | None = await self._coll.find_one_and_update(
            self.scope(filter_), self._mirror(update), return_document=ReturnDocument.AFTER
        )
        return found

    async def bulk(
        self,
        operations: Sequence[KeyedUpsert],
        *,
        update_only: Sequence[KeyedUpsert] = (),
        replace_unless: Sequence[str] = (),
    ) -> BulkOutcome:
        """Apply keyed upserts, and `update_only` operations (never inserting: hiding someone
        held without creating a record for someone never held), in one round trip.

        With `replace_unless`, each upsert's `$set` is the whole document: it replaces a
        document holding none of those fields (the embedded engine replaces a document in about
        half the time it applies a `$set` of ~20 fields) and is applied as the `$set` to one that
        holds any of them, so those fields survive.

        An at-most-once upsert whose token is already in the journal fails its filter, and the
        upsert then collides with the existing `_id`: that duplicate-key error means "already
        applied". The same error comes from a replacement whose document holds a kept field, and
        from two upserts racing to create one document: those are retried as plain updates (the
        document exists by then) instead of being taken for applied.
        """
        if not operations and not update_only:
            return BulkOutcome(0, 0)
        if any(op.tenant_id != self.tenant_id for op in (*operations, *update_only)):
            raise TenantScopeViolation(f"bulk write outside the tenant in {self.name}")
        requests: list[UpdateOne | ReplaceOne[Document]]
        if replace_unless:
            absent = {name: {"$exists": False} for name in replace_unless}
            requests = [
                ReplaceOne({**op.filter, **absent}, op.update["$set"], upsert=True)
                for op in operations
            ]
        else:
            requests = [UpdateOne(op.filter, op.update, upsert=True) for op in operations]
        requests += [UpdateOne(op.filter, op.update, upsert=False) for op in update_only]
        try:
            result = await self._coll.bulk_write(requests, ordered=False)
        except BulkWriteError as exc:
            details = exc.details
            errors = details.get("writeErrors") or []
            retry = [
                operations[e["index"]]
                for e in errors
                if e.get("code") == _DUPLICATE_KEY and e["index"] < len(operations)
            ]
            if len(retry) != len(errors) or (
                not replace_unless and any(op.once is None for op in retry)
            ):
                raise
            modified = int(details.get("nModified") or 0)
            for op in retry:
                again = await self._coll.update_one(op.filter, op.update)
                modified += again.modified_count
            return BulkOutcome(int(details.get("nUpserted") or 0), modified)
        return BulkOutcome(result.upserted_count, result.modified_count)

    async def update_each(
        self, requests: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
    ) -> int:
        """Several single-document (filter, update) pairs in one round trip, for updates that
        differ per document; returns how many documents changed."""
        if not requests:
            return 0
        ops: list[UpdateOne] = []
        for filter_, update in requests:
            self._guard_update(update)
            ops.append(UpdateOne(self.scope(filter_), self._mirror(update)))
        result = await self._coll.bulk_write(ops, ordered=False)
        return result.modified_count

    async def update_many(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> int:
        self._guard_update(update)
        result = await self._coll.update_many(self.scope(filter_), self._mirror(update))
        return result.modified_count

    async def update_one(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> int:
        self._guard_update(update)
        result = await self._coll.update_one(self.scope(filter_), self._mirror(update))
        return result.modified_count

    async def delete_many(self, filter_: Mapping[str, Any] | None = None) -> int:
        result = await self._coll.delete_many(self.scope(filter_))
        return result.deleted_count

    async def aggregate(self, pipeline: Sequence[Mapping[str, Any]]) -> list[Document]:
        stages: list[Mapping[str, Any]] = [{"$match": {"tenant_id": self.tenant_id}}]
        for stage in pipeline:
            if any(
                op in stage for op in ("$lookup", "$unionWith", "$graphLookup", "$out", "$merge")
            ):
                raise TenantScopeViolation("cross-collection stages are not tenant-scoped")
            found = _code_operator(stage)
            if found is not None:
                raise TenantScopeViolation(f"{found} is never allowed")
            stages.append(stage)
        cursor = await self._coll.aggregate(stages)
        return await cursor.to_list(None)
