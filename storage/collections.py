"""Every collection JUNO keeps, and its indexes.

Each tenant-owned document carries `tenant_id`, and every secondary index starts with it, so a
query can only ever be answered inside one tenant. Documents with a natural key also carry
`tkey`: `<tenant_id>:<natural key>`, equal to their `_id`. Its single-field index exists because
the embedded engine answers upserts of *new* documents by scanning the collection unless a
single-field equality index matches the filter (measured: ~70 upserts/s at 3k documents without
it, ~2,500 upserts/s flat with it); on a real MongoDB it costs one small index.

For the same reason, documents of the collections in `SUBJECT_FIELDS` carry `tuser`:
`<tenant_id>:<subject>`, mirroring the field that names the person (storage.scoped keeps it in
step on every write and adds it to every equality filter on that field). Without it the consent
gate's read of a user's trail, and an export's read of each store, scanned the collection
(11 ms at 10,000 activity records, growing with them; bench/load.py).
"""

from __future__ import annotations

from enum import StrEnum

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from storage.keys import TKEY, TUSER, person_key


class Coll(StrEnum):
    TENANTS = "tenants"
    PROFILES = "profiles"
    SYNC_STATE = "sync_state"
    CONSENTS = "consents"
    KPI_EVENTS = "kpi_events"
    DSR_REQUESTS = "dsr_requests"
    CONVERSATIONS = "conversations"
    DESTRUCTION_LOG = "destruction_log"
    AUDIT_LOG = "audit_log"
    BOT_STATE = "bot_state"
    LEGAL_DOCUMENTS = "legal_documents"
    EXPORTS = "exports"
    DESTRUCTION_RUNS = "destruction_runs"
    ACCESS_REVIEWS = "access_reviews"
    GRAPH_SUBSCRIPTIONS = "graph_subscriptions"
    SUPPRESSIONS = "suppressions"
    OUTBOX = "outbox"
    # Processor duties (privacy.incidents, privacy.processor_notices).
    INCIDENTS = "incidents"
    PROCESSOR_NOTICES = "processor_notices"


ALL_COLLECTIONS: tuple[Coll, ...] = tuple(Coll)
_NAMESPACE_EXISTS = 48
_INDEX_NOT_FOUND = 27

T = ("tenant_id", ASCENDING)
_TKEY = IndexModel([(TKEY, ASCENDING)], name="tkey")
_TUSER = IndexModel([(TUSER, ASCENDING)], name="tuser")

# The field naming the person a document is about, where it is read by person on a hot path or
# in an export (the data map's `subject_key`; a test holds the two together). Profiles are not
# here: they are keyed by person already, and a full sync would pay for one more index on each
# of 100,000 writes.
SUBJECT_FIELDS: dict[Coll, str] = {
    Coll.CONSENTS: "user_id",
    Coll.KPI_EVENTS: "user_id",
    Coll.DSR_REQUESTS: "user_id",
    Coll.CONVERSATIONS: "user_id",
    Coll.AUDIT_LOG: "actor",
    Coll.BOT_STATE: "user_id",
    Coll.EXPORTS: "user_id",
    Coll.DESTRUCTION_RUNS: "user_id",
    Coll.OUTBOX: "user_id",
}

INDEXES: dict[Coll, list[IndexModel]] = {
    # The registry is keyed by tenant id itself (`_id`), so it needs no further index.
    Coll.TENANTS: [],
    Coll.PROFILES: [
        _TKEY,
        IndexModel([T, ("user_id", ASCENDING)], name="tenant_user"),
        # No search index: search ranks in the searching process (storage.search_index), so
        # profile writes maintain no multikey index (see `_RETIRED`).
        IndexModel([T, ("manager_id", ASCENDING)], name="tenant_manager"),
    ],
    Coll.SYNC_STATE: [_TKEY],
    Coll.CONSENTS: [
        IndexModel([T, ("user_id", ASCENDING), ("at", DESCENDING)], name="tenant_user_at"),
    ],
    Coll.KPI_EVENTS: [
        # Daily count buckets, written as keyed upserts (bot.kpi): without this each one scans.
        _TKEY,
        # Retention finds buckets by day; a merge reads a day's marked buckets by day too.
        IndexModel([T, ("day", ASCENDING)], name="tenant_day"),
        IndexModel([T, ("user_id", ASCENDING)], name="tenant_user"),
        # Only per-event documents from before the buckets have `at`: this keeps the check for
        # any left to fold (privacy.usage, at every start) an index lookup, not a scan.
        IndexModel([T, ("at", ASCENDING)], name="tenant_at"),
    ],
    Coll.DSR_REQUESTS: [
        IndexModel([T, ("status", ASCENDING), ("due_at", ASCENDING)], name="tenant_status_due"),
        IndexModel([T, ("user_id", ASCENDING)], name="tenant_user"),
    ],
    Coll.CONVERSATIONS: [_TKEY, IndexModel([T, ("user_id", ASCENDING)], name="tenant_user")],
    # Keyed per (run, store) so an interrupted run rewrites its own entry instead of adding one.
    Coll.DESTRUCTION_LOG: [_TKEY, IndexModel([T, ("at", DESCENDING)], name="tenant_at")],
    Coll.AUDIT_LOG: [IndexModel([T, ("at", DESCENDING)], name="tenant_at")],
    Coll.BOT_STATE: [_TKEY, IndexModel([T, ("expires_at", ASCENDING)], name="tenant_expires")],
    Coll.LEGAL_DOCUMENTS: [_TKEY, IndexModel([T, ("kind", ASCENDING)], name="tenant_kind")],
    Coll.EXPORTS: [_TKEY, IndexModel([T, ("expires_at", ASCENDING)], name="tenant_expires")],
    # One document per erasure or retention run *in progress*; deleted when the run completes.
    Coll.DESTRUCTION_RUNS: [_TKEY, IndexModel([T, ("kind", ASCENDING)], name="tenant_kind")],
    Coll.ACCESS_REVIEWS: [IndexModel([T, ("at", DESCENDING)], name="tenant_at")],
    # One document per tenant: its Graph change-notification subscription (graph_sync).
    Coll.GRAPH_SUBSCRIPTIONS: [_TKEY],
    # Keyed by the suppression token (privacy.suppression): one lookup per page of a sync.
    Coll.SUPPRESSIONS: [_TKEY],
    # Messages to requesters queued by a process without the bot's identity (`juno dsr`).
    Coll.OUTBOX: [_TKEY, IndexModel([T, ("user_id", ASCENDING)], name="tenant_user")],
    # One document per (tenant, incident): the tenant's share of a personal-data breach.
    Coll.INCIDENTS: [_TKEY, IndexModel([T, ("opened_at", DESCENDING)], name="tenant_opened")],
    # What a tenant's admins were last told of (the sub-processor list), keyed by subject.
    Coll.PROCESSOR_NOTICES: [_TKEY],
}

for _coll in SUBJECT_FIELDS:
    INDEXES[_coll].append(_TUSER)


# Indexes (and the fields only they served) that earlier versions created: dropped at start.
# Profiles stored tenant-scoped search prefixes under a multikey index until search moved into
# the process (storage.search_index); the field is unset first, so an interrupted migration
# still finds the index and finishes next time.
_RETIRED: dict[Coll, dict[str, tuple[str, ...]]] = {
    Coll.PROFILES: {"search_prefixes": ("search_prefixes",), "tenant_search": ()},
}


async def _retire(db: AsyncDatabase[dict[str, object]], existing: set[str]) -> None:
    for coll, retired in _RETIRED.items():
        if coll.value not in existing:
            continue
        names = {ix["name"] async for ix in await db[coll.value].list_indexes()}
        for index, fields in retired.items():
            if index not in names:
                continue
            for name in fields:
                await db[coll.value].update_many({name: {"$exists": True}}, {"$unset": {name: ""}})
            try:
                await db[coll.value].drop_index(index)
            except OperationFailure as exc:
                if exc.code != _INDEX_NOT_FOUND:  # another process dropped it first: fine
                    raise


async def migrate(db: AsyncDatabase[dict[str, object]]) -> list[str]:
    """Create missing collections and indexes, retire old ones; safe to run at every start and
    concurrently.

    Returns the names of the collections that had to be created.
    """
    existing = set(await db.list_collection_names())
    await _retire(db, existing)
    created: list[str] = []
    for coll in ALL_COLLECTIONS:
        if coll.value not in existing:
            try:
                await db.create_collection(coll.value, check_exists=False)
            except OperationFailure as exc:
                if exc.code != _NAMESPACE_EXISTS:  # another process created it first: fine
                    raise
            else:
                created.append(coll.value)
        indexes = INDEXES[coll]
        if indexes:
            await db[coll.value].create_indexes(indexes)
    for coll, field in SUBJECT_FIELDS.items():
        await _backfill_person_keys(db, coll, field)
    return created


async def _backfill_person_keys(
    db: AsyncDatabase[dict[str, object]], coll: Coll, field: str
) -> None:
    """Give `tuser` to documents written before it existed, so a read by person still finds
    them; a no-op read once every document has it."""
    missing = {field: {"$type": "string"}, TUSER: {"$exists": False}}
    projection = {"tenant_id": 1, field: 1}
    while batch := await db[coll.value].find(missing, projection, limit=1000).to_list(None):
        await db[coll.value].bulk_write(
            [
                UpdateOne(
                    {"_id": doc["_id"], field: doc[field]},
                    {"$set": {TUSER: person_key(str(doc["tenant_id"]), str(doc[field]))}},
                )
                for doc in batch
            ],
            ordered=False,
        )
