"""Repositories. All but the tenant registry are built for exactly one tenant."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from storage.collections import Coll
from storage.repositories.counts import DailyCounts
from storage.repositories.events import AuditLog, EventLog
from storage.repositories.keyed import KeyedStore
from storage.repositories.profiles import ProfilesCollection, ProfilesRepo
from storage.repositories.tenants import (
    AdminGrant,
    ControllerDetails,
    GraphCredentials,
    OwnTenantRecord,
    TenantExists,
    TenantNotFound,
    TenantRecord,
    TenantRegistry,
)
from storage.scoped import TenantCollection


class TenantStore:
    """Every repository of one tenant, so callers cannot reach another tenant by mistake."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]], tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.db = db

        def scoped(coll: Coll) -> TenantCollection:
            # Profile writes bump the directory version the search indexes follow.
            if coll is Coll.PROFILES:
                return ProfilesCollection(db[coll], tenant_id)
            return TenantCollection(db[coll], tenant_id)

        self.collections: dict[Coll, TenantCollection] = {
            coll: scoped(coll) for coll in Coll if coll is not Coll.TENANTS
        }
        self.profiles = ProfilesRepo(self.collections[Coll.PROFILES])
        self.sync_state = KeyedStore(self.collections[Coll.SYNC_STATE])
        self.consents = EventLog(self.collections[Coll.CONSENTS])
        self.kpi_events = DailyCounts(self.collections[Coll.KPI_EVENTS])
        self.dsr_requests = KeyedStore(self.collections[Coll.DSR_REQUESTS])
        self.conversations = KeyedStore(self.collections[Coll.CONVERSATIONS])
        self.destruction_log = EventLog(self.collections[Coll.DESTRUCTION_LOG])
        self.audit_log = AuditLog(self.collections[Coll.AUDIT_LOG])
        self.bot_state = KeyedStore(self.collections[Coll.BOT_STATE])
        self.legal_documents = KeyedStore(self.collections[Coll.LEGAL_DOCUMENTS])
        # Data-subject rights and retention (privacy.export, privacy.runs, privacy.access).
        self.exports = KeyedStore(self.collections[Coll.EXPORTS])
        self.destruction_runs = KeyedStore(self.collections[Coll.DESTRUCTION_RUNS])
        self.access_reviews = EventLog(self.collections[Coll.ACCESS_REVIEWS])
        # Graph change-notification subscription (graph_sync.subscriptions), key "users".
        self.graph_subscriptions = KeyedStore(self.collections[Coll.GRAPH_SUBSCRIPTIONS])
        self.suppressions = KeyedStore(self.collections[Coll.SUPPRESSIONS])
        self.outbox = KeyedStore(self.collections[Coll.OUTBOX])
        # Processor duties toward the controller (privacy.incidents, privacy.processor_notices).
        self.incidents = KeyedStore(self.collections[Coll.INCIDENTS])
        self.processor_notices = KeyedStore(self.collections[Coll.PROCESSOR_NOTICES])
        self.own_record = OwnTenantRecord(TenantCollection(db[Coll.TENANTS], tenant_id))


__all__ = [
    "AdminGrant",
    "AuditLog",
    "ControllerDetails",
    "DailyCounts",
    "EventLog",
    "GraphCredentials",
    "KeyedStore",
    "OwnTenantRecord",
    "ProfilesCollection",
    "ProfilesRepo",
    "TenantExists",
    "TenantNotFound",
    "TenantRecord",
    "TenantRegistry",
    "TenantStore",
]
