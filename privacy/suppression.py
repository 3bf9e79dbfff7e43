"""Suppressions: an erasure of someone who is still in the customer's directory must stick.

Graph keeps listing a person who asked to be erased but still works there, so without this the
next sync round writes their profile again. Erasing on a data-subject request (or on an
operator's word) first records a suppression for (tenant, object id); every sync round skips
suppressed ids and writes nothing about them, also no manager edge pointing at them, until
the controller lifts the suppression.

Only a keyed hash is stored, under a key derived for this purpose alone (privacy.strategies,
`SUPPRESSION`): the list cannot be read back into ids without our key, and its tokens do not
match the pseudonyms left in retained records or the destruction log's subjects.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from privacy.strategies import SUPPRESSION, SUPPRESSION_PREFIX, Pseudonymizer
from storage.repositories import TenantStore

IsSuppressed = Callable[[str], bool]


def tokenizer(pseudonym: Pseudonymizer) -> Pseudonymizer:
    """The suppression token of an object id, from the tenant's pseudonymizer."""
    return pseudonym.derive(SUPPRESSION, SUPPRESSION_PREFIX)


async def suppress(
    store: TenantStore, user_id: str, pseudonym: Pseudonymizer, *, now: datetime | None = None
) -> None:
    """Record that `user_id` must not be written again (idempotent)."""
    token = tokenizer(pseudonym)(user_id)
    await store.suppressions.put(
        token, {"token": token}, set_on_insert={"at": now or datetime.now(UTC)}
    )


async def lift(store: TenantStore, user_id: str, pseudonym: Pseudonymizer) -> bool:
    """Lift the suppression of `user_id`; True if there was one. The next full sync writes
    their profile again (an incremental one when Graph next reports a change to them)."""
    return await store.suppressions.delete(tokenizer(pseudonym)(user_id)) > 0


async def count(store: TenantStore) -> int:
    return await store.suppressions.count()


async def screen(store: TenantStore, pseudonym: Pseudonymizer | None) -> IsSuppressed:
    """A predicate for one page of a sync: is this object id suppressed? Reads the (small)
    list once; hashes ids only when the tenant has any suppression at all. Without a key and
    with suppressions present there is no way to tell, so this raises rather than guess."""
    tokens = {str(d["token"]) for d in await store.suppressions.find({}, projection={"token": 1})}
    if not tokens:
        return lambda _user_id: False
    if pseudonym is None:
        raise LookupError(
            f"tenant {store.tenant_id} has erasure suppressions but no pseudonym key is set, "
            "so suppressed people cannot be recognised; set JUNO_PSEUDONYM_KEY"
        )
    token_of = tokenizer(pseudonym)
    return lambda user_id: token_of(user_id) in tokens
