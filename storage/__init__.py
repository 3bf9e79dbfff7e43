"""MongoDB access for JUNO: connection, embedded server, collections, tenant-scoped repositories.

This package imports nothing else of ours, so every other package can depend on it.
"""

from storage.collections import ALL_COLLECTIONS, Coll, migrate
from storage.connection import Database, open_database
from storage.errors import StorageError, TenantScopeViolation

__all__ = [
    "ALL_COLLECTIONS",
    "Coll",
    "Database",
    "StorageError",
    "TenantScopeViolation",
    "migrate",
    "open_database",
]
