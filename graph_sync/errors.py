"""Errors of the Graph sync, each carrying one readable line for the operator.

Callers (the CLI, the scheduler) print `str(exc)` as is, so every message here names the tenant
or the cause and never a secret, a token or anything from a user's profile.
"""

from __future__ import annotations

from datetime import datetime


class GraphSyncError(Exception):
    """Base of every failure the sync reports instead of a traceback."""


class TokenError(GraphSyncError):
    """No access token: bad or missing credentials, consent not granted, authority unreachable."""


class GraphRequestError(GraphSyncError):
    """Graph answered with an error status we do not handle, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ThrottledError(GraphRequestError):
    """Graph kept answering 429/503/504 after every retry we allow."""


class ResyncRequired(GraphSyncError):
    """Graph dropped the delta state (410 Gone, `resyncRequired`, `syncStateNotFound`).

    `location` is the fresh initial link Graph sent with it, when it sent one.
    """

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location


class LeaseHeld(GraphSyncError):
    """Another worker is syncing this tenant right now."""

    def __init__(self, tenant_id: str, holder: str, until: datetime | None) -> None:
        when = f" until {until.strftime('%Y-%m-%d %H:%M:%SZ')}" if until else ""
        super().__init__(f"tenant {tenant_id}: sync lease is held by {holder}{when}")
        self.tenant_id = tenant_id
        self.holder = holder
        self.until = until


class LeaseLost(GraphSyncError):
    """Our lease expired or was taken over while the round ran; the round stopped early."""


class SyncInterrupted(GraphSyncError):
    """A graceful stop was requested; the round stopped between two pages."""


class ErasureUnavailable(GraphSyncError):
    """A user deleted in Entra ID cannot be erased yet (no pseudonym key configured)."""
