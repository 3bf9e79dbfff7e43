"""A check any end-to-end test can run on its database: every stored collection and every
top-level field in it is declared in the data map. Product code that starts storing something
new without declaring it fails here."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP
from storage.collections import Coll


async def undeclared(db: AsyncDatabase[dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    declared = {c.value: c for c in DATA_MAP}
    for name in await db.list_collection_names():
        if name not in declared:
            problems.append(f"collection {name} is not in the data map")
            continue
        store = DATA_MAP[Coll(name)]
        async for doc in db[name].find({}):
            for field in doc:
                if field not in store.fields:
                    problems.append(f"{name}.{field} is stored but not declared")
    return sorted(set(problems))
