"""Errors the storage layer raises for callers to turn into user-facing messages."""


class StorageError(Exception):
    """The database could not be reached or did not do what was asked."""


class TenantScopeViolation(StorageError):
    """A caller tried to read or write another tenant's documents through a scoped repository."""
