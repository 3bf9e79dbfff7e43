"""Erasing one user, store by store, as the tenant's removal mode and the data map say.

Each store's action is idempotent, so an interrupted erasure is finished by running it again.
Every store that changed gets a destruction-log entry naming the subject only by pseudonym.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from privacy.datamap import DATA_MAP
from privacy.removal_modes import RemovalMode
from privacy.strategies import STRATEGIES, Pseudonymizer
from storage.collections import Coll
from storage.repositories import TenantStore

# The registry lists admins, not subjects' data; the log itself is what erasure writes to.
_NOT_ERASED_HERE = {Coll.TENANTS, Coll.DESTRUCTION_LOG}


@dataclass(frozen=True)
class StoreOutcome:
    store: str
    method: str
    records: int


async def erase_user(
    store: TenantStore,
    user_id: str,
    mode: RemovalMode,
    *,
    reason: str,
    pseudonym: Pseudonymizer,
) -> list[StoreOutcome]:
    run_id = uuid.uuid4().hex
    subject = pseudonym(user_id)
    outcomes: list[StoreOutcome] = []
    for coll, decl in DATA_MAP.items():
        if coll in _NOT_ERASED_HERE or decl.subject_key is None or not decl.personal:
            continue
        action = decl.removal[mode]
        if action.strategy == "keep":
            continue
        records = await STRATEGIES[action.strategy].apply(
            store.collections[coll], decl.subject_key, user_id, action.fields, pseudonym
        )
        if records == 0:
            continue
        outcomes.append(StoreOutcome(coll.value, action.strategy, records))
        await store.destruction_log.append(
            {
                "subject": subject,
                "store": coll.value,
                "records": records,
                "method": action.strategy,
                "reason": reason,
                "run_id": run_id,
                "at": datetime.now(UTC),
            }
        )
    return outcomes
