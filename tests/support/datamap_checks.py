"""A check any end-to-end test can run on its database: every stored collection and every
top-level field in it is declared in the data map, and every field that names *another*
person (by an id that is some record's subject) is declared as a reference, so erasing that
person treats it. Product code that starts storing something new, or starts pointing at
someone new, without declaring it fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, SYSTEM_FIELDS, Store, top
from storage.collections import Coll

_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _subjects(store: Store, doc: dict[str, Any]) -> set[str]:
    """The people a record is *about*, by the store's subject key."""
    key = store.subject_key
    if key is None:
        return set()
    if "." in key:
        outer, inner = key.split(".", 1)
        entries = doc.get(outer)
        if not isinstance(entries, list):
            return set()
        return {
            str(e.get(inner)) if isinstance(e, dict) else str(e)
            for e in entries
            if isinstance(e, dict | str)
        }
    value = doc.get(key)
    return {value} if isinstance(value, str) else set()


async def undeclared(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    declared = {c.value: c for c in DATA_MAP}
    docs: list[tuple[Store, dict[str, Any]]] = []
    for name in await db.list_collection_names():
        if name not in declared:
            problems.append(f"collection {name} is not in the data map")
            continue
        store = DATA_MAP[Coll(name)]
        async for doc in db[name].find({}):
            docs.append((store, doc))
            for field in doc:
                if field not in store.fields:
                    problems.append(f"{name}.{field} is stored but not declared")
    # People are who records are about, by their Entra object id (a GUID): "operator" is the
    # subject of audit entries too, but names no one.
    people = {p for store, doc in docs for p in _subjects(store, doc) if _GUID.fullmatch(p)}
    for store, doc in docs:
        own = _subjects(store, doc)
        allowed = {top(store.subject_key or "")} | {top(r.field) for r in store.references}
        for field, value in doc.items():
            if field in SYSTEM_FIELDS or field in allowed:
                continue
            if any(s in people and s not in own for s in _strings(value)):
                problems.append(
                    f"{store.collection.value}.{field} names another person but is not a "
                    "declared reference"
                )
    return sorted(set(problems))
