"""Microsoft Graph surface: per-tenant delta sync of summarized profiles (DESIGN.md §5).

The public API the composition root wires (see docs/graph-sync.md):

- `GraphClients(authority_host=..., graph_base_url=...)`: `make_client(record) -> DeltaSource`
  (msal per tenant, msgraph-sdk transport; the bundled sample for the demo tenant).
- `make_erasure(db, key)`: the `on_deleted(tenant_id, user_id, reason)` the engine calls;
  `make_screen(db, key)`: its `screen`, who is suppressed (erased on request).
- `Scheduler(db, registry, make_client, on_deleted)`: `await start()` / `await stop()`.
- `sync_tenant(db, tenant_id, source, on_deleted, holder=Holder.here("juno-sync"))`: one run.
- `seed_demo_tenant(db) -> str`.
"""

from graph_sync.clients import GraphClients
from graph_sync.demo import DEMO_TENANT_ID, DemoSource, seed_demo_tenant
from graph_sync.engine import DeltaEngine, OnDeleted, RoundStats, Screen
from graph_sync.erasure import make_erasure, make_screen
from graph_sync.errors import (
    ErasureUnavailable,
    GraphRequestError,
    GraphSyncError,
    LeaseHeld,
    LeaseLost,
    ResyncRequired,
    SyncInterrupted,
    ThrottledError,
    TokenError,
)
from graph_sync.lease import Holder
from graph_sync.runner import sync_tenant
from graph_sync.scheduler import Scheduler, eligible
from graph_sync.state import StateStore, SyncState

__all__ = [
    "DEMO_TENANT_ID",
    "DeltaEngine",
    "DemoSource",
    "ErasureUnavailable",
    "GraphClients",
    "GraphRequestError",
    "GraphSyncError",
    "Holder",
    "LeaseHeld",
    "LeaseLost",
    "OnDeleted",
    "ResyncRequired",
    "RoundStats",
    "Scheduler",
    "Screen",
    "StateStore",
    "SyncInterrupted",
    "SyncState",
    "ThrottledError",
    "TokenError",
    "eligible",
    "make_erasure",
    "make_screen",
    "seed_demo_tenant",
    "sync_tenant",
]
