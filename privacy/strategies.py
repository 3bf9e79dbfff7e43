"""Named removal strategies. Each one can say what it does, so the record of processing prints
the description that belongs to the code instead of a second, hand-written one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from storage.scoped import TenantCollection


class Pseudonymizer(Protocol):
    def __call__(self, value: str) -> str: ...


def keyed_hash(key: bytes, tenant_id: str) -> Pseudonymizer:
    """HMAC-SHA-256 of the tenant and value: stable (so records still group) but not reversible
    without our key, and different per tenant so tenants' pseudonyms cannot be joined."""

    def pseudonym(value: str) -> str:
        digest = hmac.new(key, f"{tenant_id}\x00{value}".encode(), hashlib.sha256)
        return "psn_" + digest.hexdigest()[:32]

    return pseudonym


@dataclass(frozen=True)
class Strategy:
    name: str
    summary: str

    def describe(self, fields: Sequence[str]) -> str:
        if not fields:
            return self.summary
        return f"{self.summary}: {', '.join(fields)}"

    async def apply(
        self,
        coll: TenantCollection,
        subject_key: str,
        subject_id: str,
        fields: Sequence[str],
        pseudonym: Pseudonymizer,
    ) -> int:
        """Apply to one subject's documents; returns how many records were touched.

        Every strategy is idempotent: applying it twice leaves the same state, which is what
        lets an interrupted erasure simply run again.
        """
        match self.name:
            case "delete":
                return await coll.delete_many({subject_key: subject_id})
            case "nullify":
                return await coll.update_many(
                    {subject_key: subject_id}, {"$unset": dict.fromkeys(fields, "")}
                )
            case "pseudonymize":
                token = pseudonym(subject_id)
                return await coll.update_many(
                    {subject_key: subject_id}, {"$set": dict.fromkeys(fields, token)}
                )
            case "keep":
                return 0
        raise ValueError(f"unknown strategy {self.name}")


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("delete", "delete the records"),
        Strategy("nullify", "remove the identifying fields, keep the rest"),
        Strategy("pseudonymize", "replace identifiers with a keyed hash"),
        Strategy("keep", "keep unchanged"),
    )
}
