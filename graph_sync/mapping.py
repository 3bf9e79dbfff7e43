"""From a page of Graph users to the summarized profiles we store, and the writes that store them.

The profile holds only what the data map declares (privacy/datamap.py, `profiles`): names, mail,
title, department, location, employee id, intern flag, manager, account state and search keys.
Nothing else Graph sends is kept.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from msgspec import UNSET

from graph_sync.models import GraphUser, ManagerRef
from storage.repositories import ProfilesRepo
from storage.scoped import KeyedUpsert
from storage.search_keys import fold, pack_keys, search_keys


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a page is decoded and mapped.

    A page builds tens of thousands of small, acyclic dicts, lists and sets; the collector runs
    dozens of times over them and finds nothing (measured: ~20% of mapping time). Reference
    counting frees them either way, and the pause lasts one page's synchronous work (ms).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_INTERN_WORDS = frozenset({"intern", "interns", "internship"})
_INTERN_PREFIX = "stajyer"  # Turkish, with suffixes: stajyeri, stajyerler


_Parts = frozenset[str]
_CACHE_LIMIT = 8192  # ~0.5 KB an entry: ~4 MB per tenant at most, dropped after each round
# Per tenant: value -> its search keys. Departments, titles, offices and most names repeat
# across a directory, and folding is the costliest step of mapping; a plain dict keeps it off
# the hot path (cheaper per hit than lru_cache). Unique values (employee ids) fill it, so it is
# emptied when full; the repeating values are back after a few hundred profiles. `search_keys`
# is a union over values, so the union of cached parts equals computing it on the profile.
_caches: dict[str, dict[str, _Parts]] = {}


_ASCII_NON_WORD = re.compile(r"[^0-9a-z]+")


def _value_parts(value: str) -> _Parts:
    if value.isascii():
        # `fold` on ASCII text reduces to this (no Turkish letters, nothing to decompose);
        # unique values such as employee ids take this path on every profile.
        # tests/unit/graph_sync/test_mapping.py holds it equal to `search_keys`.
        folded = _ASCII_NON_WORD.sub(" ", value.lower()).strip()
        keys = {folded, *folded.split(" ")} if folded else set()
    else:
        keys = set(search_keys([value]))
    return frozenset(keys)


def clear_caches(tenant_id: str | None = None) -> None:
    """Drop one tenant's cached search keys (after its round), or every cache."""
    if tenant_id is not None:
        _caches.pop(tenant_id, None)
        return
    _caches.clear()
    is_intern.cache_clear()


def profile_search_keys(tenant_id: str, values: Iterable[str | None]) -> list[str]:
    """`search_keys(values)`, from a cache. (Prefixes are no longer stored: search ranks in the
    searching process, storage.search_index.)"""
    cache = _caches.get(tenant_id)
    if cache is None or len(cache) > _CACHE_LIMIT:
        cache = _caches[tenant_id] = {}
    keys: set[str] = set()
    for value in values:
        if not value:
            continue
        parts = cache.get(value)
        if parts is None:
            parts = cache[value] = _value_parts(value)
        keys |= parts
    return sorted(keys)


@lru_cache(maxsize=1 << 12)
def is_intern(employee_type: str | None, job_title: str | None) -> bool:
    if employee_type and employee_type.strip().casefold() == "intern":
        return True
    if not job_title:
        return False
    # Whole words only: "Internal Auditor" is not an intern.
    return any(
        word in _INTERN_WORDS or word.startswith(_INTERN_PREFIX)
        for word in fold(job_title).split(" ")
    )


def mail_of(user: GraphUser) -> str | None:
    """`mail`, else the sign-in name when it is an address of the tenant (not a guest's #EXT#)."""
    if user.mail:
        return user.mail
    upn = user.user_principal_name
    if upn and "@" in upn and "#EXT#" not in upn.upper():
        return upn
    return None


def is_hidden(user: GraphUser) -> bool:
    """Disabled accounts and guests are kept (the org chart needs them) but never shown."""
    return user.account_enabled is False or (user.user_type or "").casefold() == "guest"


def manager_of(refs: list[ManagerRef] | None) -> str | None:
    """The manager named by `manager@delta`; an entry carrying `@removed` takes it away."""
    current: str | None = None
    for ref in refs or ():
        if ref.removed is UNSET and ref.id:
            current = ref.id
        elif ref.id == current:
            current = None
    return current


def profile_fields(user: GraphUser, tenant_id: str) -> dict[str, Any]:
    """The stored fields Graph owns for one user (the full selected state, see docs)."""
    keys = profile_search_keys(
        tenant_id,
        (
            user.given_name,
            user.surname,
            user.display_name,
            user.job_title,
            user.department,
            user.office_location,
            user.employee_id,
        ),
    )
    return {
        "user_id": user.id,
        "given_name": user.given_name,
        "surname": user.surname,
        "display_name": user.display_name,
        "mail": mail_of(user),
        "job_title": user.job_title,
        "department": user.department,
        "office_location": user.office_location,
        "employee_id": user.employee_id,
        "is_intern": is_intern(user.employee_type, user.job_title),
        "account_enabled": user.account_enabled,
        "user_type": user.user_type,
        "hidden": is_hidden(user),
        "search_keys": pack_keys(keys),
    }


@dataclass(slots=True)
class PagePlan:
    """Everything one page asks of the database, ready for a single bulk write."""

    upserts: list[KeyedUpsert] = field(default_factory=list)
    soft_deleted: list[KeyedUpsert] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    hidden: int = 0
    entries: int = 0


def plan_page(
    users: Sequence[GraphUser],
    profiles: ProfilesRepo,
    *,
    round_no: int,
    full_round: bool,
    now: datetime,
) -> PagePlan:
    """Fold a page's entries per user (Graph may repeat one) into upserts, soft deletes and
    erasures.

    The operations are `ProfilesRepo.upsert_op`'s, from fields built with cached search keys
    because folding is most of the mapping's cost.

    In a full round an absent `manager@delta` means "no manager"; in an incremental round it
    means "unchanged", so the stored manager is left alone.
    """
    last: dict[str, GraphUser] = {}
    managers: dict[str, str | None] = {}
    for user in users:
        last.pop(user.id, None)  # keep the order of each user's last appearance
        last[user.id] = user
        if user.manager_delta is not UNSET:
            managers[user.id] = manager_of(user.manager_delta)
    plan = PagePlan(entries=len(users))
    stamp = {"synced_at": now, "seen_in_round": round_no}
    for user_id, user in last.items():
        removed = user.removed
        if removed is not UNSET and removed is not None:
            if removed.reason == "deleted":
                plan.deleted.append(user_id)
            else:
                # Soft-deleted: hide who we know; never create a record for someone we never had.
                plan.soft_deleted.append(profiles.upsert_op(user_id, {"hidden": True, **stamp}))
                plan.hidden += 1
            continue
        fields = profile_fields(user, profiles.tenant_id)
        fields.update(stamp)
        if user_id in managers:
            fields["manager_id"] = managers[user_id]
        elif full_round:
            fields["manager_id"] = None
        plan.hidden += fields["hidden"]
        plan.upserts.append(profiles.upsert_op(user_id, fields))
    return plan
