"""Opening the service's resources from settings, shared by `juno serve` and every CLI command."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pymongo.monitoring import CommandListener

from juno.errors import OperationError
from juno.settings import Settings
from privacy.datamap import validate
from privacy.usage import fold_legacy_events
from storage import Database, StorageError, migrate, open_database


async def open_db(settings: Settings, listeners: Sequence[CommandListener] = ()) -> Database:
    uri = settings.mongodb_uri.get_secret_value() if settings.mongodb_uri else None
    try:
        db = await open_database(
            uri=uri or None,
            db_name=settings.db_name,
            data_dir=settings.data_dir,
            engine=settings.embedded_engine,
            connect_timeout_ms=settings.mongo_connect_timeout_ms,
            listeners=listeners,
        )
    except StorageError as exc:
        raise OperationError(str(exc)) from exc
    await migrate(db.db)
    # Usage KPIs stored one document per event before they were daily buckets (privacy.usage).
    await fold_legacy_events(db.db)
    return db


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    validate()
    db = await open_db(settings)
    try:
        yield db
    finally:
        await db.close()
