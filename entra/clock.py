"""The one clock: timezone-aware UTC, which is what PyMongo (`tz_aware=True`) hands back, so
stored and computed times compare without surprises. Components take it as a default they
can replace in tests."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
