"""The two writes the sync needs that `TenantCollection` does not offer yet, still tenant-scoped.

- A page's bulk write mixes upserts (profiles Graph sent) with update-only operations (soft
  deletes: hiding someone we hold, without creating a record for someone we never held), in one
  round trip.
- A page's write to profiles bumps the tenant's directory version, so every replica's search
  index reloads (storage.search_index).
- The lease is claimed with one conditional `find_one_and_update` without upsert, so two
  workers can never both hold it.

Both go through the parent's scoping (`scope`, keyed filters, tenant-checked operations); they
are candidates for storage/scoped.py (see the graph-sync report).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import ReturnDocument, UpdateOne

from storage.collections import Coll
from storage.errors import TenantScopeViolation
from storage.keys import TKEY
from storage.scoped import BulkOutcome, Document, KeyedUpsert, TenantCollection
from storage.search_index import bump_version


class SyncCollection(TenantCollection):
    def keyed_set(self, key_part: str, fields: dict[str, Any]) -> KeyedUpsert:
        """`upsert_op([key_part], fields)` for the hot path: the same keyed `$set` (a test holds
        them equal), built without copying `fields` (taken over, the caller built it fresh) or
        re-checking a tenant id we put there ourselves. ~4 µs less per profile."""
        if not key_part:
            raise ValueError("scoped keys need a tenant id and non-empty parts")
        key = f"{self.tenant_id}:{key_part}"
        fields["tenant_id"] = self.tenant_id
        fields[TKEY] = key
        return KeyedUpsert(tenant_id=self.tenant_id, key=key, update={"$set": fields})

    async def bulk_apply(
        self, upserts: Sequence[KeyedUpsert], updates: Sequence[KeyedUpsert] = ()
    ) -> BulkOutcome:
        """Upsert `upserts`, update (never insert) `updates`: one round trip for both."""
        if not upserts and not updates:
            return BulkOutcome(0, 0)
        if any(op.tenant_id != self.tenant_id for op in (*upserts, *updates)):
            raise TenantScopeViolation(f"bulk write outside the tenant in {self.name}")
        requests = [UpdateOne(op.filter, op.update, upsert=True) for op in upserts]
        requests += [UpdateOne(op.filter, op.update, upsert=False) for op in updates]
        result = await self._coll.bulk_write(requests, ordered=False)
        if self._coll.name == Coll.PROFILES:
            # After the write, so a replica that sees the new version also sees the page.
            await bump_version(self._coll, self.tenant_id)
        return BulkOutcome(result.upserted_count, result.modified_count)

    async def claim(self, filter_: Mapping[str, Any], update: Mapping[str, Any]) -> Document | None:
        """Update the one document matching `filter_` (tenant-scoped) and return it as it is
        now, or None when nothing matched. Never inserts."""
        self._guard_update(update)
        found: Document | None = await self._coll.find_one_and_update(
            self.scope(filter_), dict(update), return_document=ReturnDocument.AFTER
        )
        return found
