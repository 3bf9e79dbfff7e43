"""Named removal strategies. Each one can say what it does, so the record of processing prints
the description that belongs to the code instead of a second, hand-written one.

A strategy acts on a `Target`: the documents a selector picks in one tenant's collection. The
same strategies serve erasure (the selector names one person) and retention sweeps (the
selector names everything past a cutoff), so there is one implementation of "anonymize".
Every strategy can count what it is about to change before changing it, which is what lets a
run write its destruction-log entry first and destroy second.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from privacy.rollup import Hook, Rollup, merge, mergeable
from storage.scoped import TenantCollection

PSEUDONYM_PREFIX = "psn_"


class Pseudonymizer(Protocol):
    def __call__(self, value: str) -> str: ...

    def derive(self, purpose: str, prefix: str) -> Pseudonymizer: ...


# Separate derivations of the one pseudonym key, so what each names cannot be joined to the
# pseudonyms left in retained records (docs/privacy.md, "Pseudonyms").
LOG_SUBJECT = "destruction-log"
LOG_PREFIX = "del_"
SUPPRESSION = "suppression"
SUPPRESSION_PREFIX = "sup_"


@dataclass(frozen=True)
class KeyedHash:
    """HMAC-SHA-256 of the tenant and value: stable (so records still group) but not reversible
    without our key, and different per tenant so tenants' pseudonyms cannot be joined."""

    key: bytes
    tenant_id: str
    prefix: str = PSEUDONYM_PREFIX

    def __call__(self, value: str) -> str:
        digest = hmac.new(self.key, f"{self.tenant_id}\x00{value}".encode(), hashlib.sha256)
        return self.prefix + digest.hexdigest()[:32]

    def derive(self, purpose: str, prefix: str) -> KeyedHash:
        """The same construction under a key derived for `purpose`: without the root key, its
        values and the retained pseudonyms cannot be matched to each other."""
        derived = hmac.new(self.key, f"juno/{purpose}".encode(), hashlib.sha256).digest()
        return KeyedHash(derived, self.tenant_id, prefix)


def keyed_hash(key: bytes, tenant_id: str) -> KeyedHash:
    return KeyedHash(key, tenant_id)


def is_pseudonym(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX)


def subject_selector(subject_key: str, subject_id: str) -> dict[str, Any]:
    """Documents of one subject. A dotted key (`admins.user_id`) names objects in a list; the
    list may also still hold plain ids from before it held objects, so both forms match."""
    if "." in subject_key:
        top = subject_key.split(".", 1)[0]
        return {"$or": [{subject_key: subject_id}, {top: subject_id}]}
    return {subject_key: subject_id}


@dataclass(frozen=True)
class Target:
    """What a strategy acts on. `subject` is the person when erasing one; None in a sweep,
    where each document's own subject is read from `subject_key`."""

    coll: TenantCollection
    selector: Mapping[str, Any]
    subject_key: str
    fields: tuple[str, ...]
    pseudonym: Callable[[str], str]
    subject: str | None = None
    flag: str | None = None  # a boolean field set on records once they are anonymized
    rollup: Rollup | None = None  # count buckets and their anonymous totals (`aggregate`)
    hook: Hook | None = None  # told after each write inside a multi-write strategy


def _both(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    return {"$and": [dict(a), dict(b)]}


@dataclass(frozen=True)
class Strategy:
    name: str
    summary: str

    def describe(self, fields: Sequence[str]) -> str:
        if not fields:
            return self.summary
        return f"{self.summary}: {', '.join(fields)}"

    async def count(self, t: Target) -> int:
        """How many records `apply` would change now (0 once it has been applied)."""
        match self.name:
            case "delete" | "pull":
                return await t.coll.count(t.selector)
            case "nullify":
                return await t.coll.count(_still_holding(t))
            case "pseudonymize":
                return sum(len(ids) for ids in (await _by_subject(t)).values())
            case "aggregate":
                return await mergeable(t.coll, _rollup(t), t.selector)
            case "keep":
                return 0
        raise ValueError(f"unknown strategy {self.name}")

    async def apply(self, t: Target) -> int:
        """Change the target's records; returns how many were touched.

        Every strategy is idempotent: applying it twice leaves the same state, which is what
        lets an interrupted run simply go again.
        """
        match self.name:
            case "delete":
                return await t.coll.delete_many(t.selector)
            case "nullify":
                update: dict[str, Any] = {"$unset": dict.fromkeys(t.fields, "")}
                if t.flag:
                    update["$set"] = {t.flag: True}
                return await t.coll.update_many(_still_holding(t), update)
            case "pseudonymize":
                return await _pseudonymize(t)
            case "pull":
                return await _pull(t)
            case "aggregate":
                if t.subject is not None:
                    # The data map forbids it (datamap.check): a period merged one person
                    # early would have a total of one.
                    raise ValueError(f"{t.coll.name}: aggregate merges whole periods only")
                return await merge(t.coll, _rollup(t), t.selector, hook=t.hook)
            case "keep":
                return 0
        raise ValueError(f"unknown strategy {self.name}")


def _rollup(t: Target) -> Rollup:
    if t.rollup is None:
        raise ValueError(f"{t.coll.name}: aggregate needs the store's rollup declared")
    return t.rollup


def _still_holding(t: Target) -> dict[str, Any]:
    """The selected records that still hold a field to remove. Kept flat where possible: the
    embedded engine evaluates `$and`/`$or` filters markedly slower on large collections."""
    if t.subject is not None and t.subject_key in t.fields:
        return dict(t.selector)  # removing the subject key itself ends the match
    if len(t.fields) == 1 and t.fields[0] not in t.selector:
        return {**t.selector, t.fields[0]: {"$exists": True}}
    holding = {"$or": [{f: {"$exists": True}} for f in t.fields]}
    return _both(t.selector, holding)


async def _by_subject(t: Target) -> dict[str, list[Any]]:
    """Document ids grouped by the raw subject they still name (pseudonyms are skipped, which
    is what makes pseudonymizing twice a no-op)."""
    if t.subject is not None and "." not in t.subject_key:
        docs = await t.coll.find(t.selector, projection={"_id": 1})
        return {t.subject: [d["_id"] for d in docs]} if docs else {}
    top = t.subject_key.split(".", 1)[0]
    docs = await t.coll.find(t.selector, projection={"_id": 1, top: 1})
    grouped: dict[str, list[Any]] = defaultdict(list)
    for doc in docs:
        if "." in t.subject_key:
            if t.subject is not None:
                grouped[t.subject].append(doc["_id"])
            continue
        value = doc.get(top)
        if isinstance(value, str) and not is_pseudonym(value):
            grouped[value].append(doc["_id"])
    return grouped


async def _pseudonymize(t: Target) -> int:
    touched = 0
    for subject, ids in (await _by_subject(t)).items():
        token = t.pseudonym(subject)
        plain = [f for f in t.fields if "." not in f]
        if plain:
            touched += await t.coll.update_many(
                {"_id": {"$in": ids}}, {"$set": dict.fromkeys(plain, token)}
            )
        for dotted in (f for f in t.fields if "." in f):
            touched += await _pseudonymize_in_lists(t, dotted, subject, token, ids)
    return touched


async def _pseudonymize_in_lists(
    t: Target, dotted: str, subject: str, token: str, ids: list[Any]
) -> int:
    """Replace the subject inside lists of objects (`admins.user_id`), leaving other people's
    entries alone. Rewrites each list whole: these lists are short (a tenant's admins)."""
    top, inner = dotted.split(".", 1)
    touched = 0
    for doc in await t.coll.find({"_id": {"$in": ids}}, projection={top: 1}):
        entries = doc.get(top)
        if not isinstance(entries, list):
            continue
        rewritten = [
            {**e, inner: token}
            if isinstance(e, Mapping) and e.get(inner) == subject
            else (token if e == subject else e)
            for e in entries
        ]
        if rewritten != entries:
            touched += await t.coll.update_one({"_id": doc["_id"]}, {"$set": {top: rewritten}})
    return touched


async def _pull(t: Target) -> int:
    if t.subject is None:
        raise ValueError("pull removes one named person from lists; it needs a subject")
    touched = 0
    inner = t.subject_key.split(".", 1)[1] if "." in t.subject_key else None
    for name in t.fields:
        if inner is not None:
            touched += await t.coll.update_many(t.selector, {"$pull": {name: {inner: t.subject}}})
        touched += await t.coll.update_many(t.selector, {"$pull": {name: t.subject}})
    return touched


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("delete", "delete the records"),
        Strategy("nullify", "remove the identifying fields, keep the rest"),
        Strategy("pseudonymize", "replace identifiers with a keyed hash"),
        Strategy("pull", "take the person off the list"),
        Strategy(
            "aggregate",
            "add the person's counts to the tenant's anonymous totals for the same day "
            "(which name nobody and count the people merged), then delete the person's records",
        ),
        Strategy("keep", "keep unchanged"),
    )
}

# From least to most destructive, for describing and comparing what modes do.
STRENGTH: dict[str, int] = {
    "keep": 0,
    "pseudonymize": 1,
    "nullify": 2,
    "pull": 2,
    "aggregate": 2,
    "delete": 3,
}
