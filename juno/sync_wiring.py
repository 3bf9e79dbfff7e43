"""Wiring for Graph sync in `juno serve`: the per-tenant schedule, and the demo tenant when no
customer tenant has Graph credentials yet (so `make run` has a directory to search)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from graph_sync import (
    GraphClients,
    Scheduler,
    Screen,
    make_erasure,
    make_screen,
    seed_demo_tenant,
)
from juno.keys import pseudonym_key
from juno.settings import Settings
from storage import Database
from storage.repositories import TenantRegistry


async def seed_demo_if_needed(db: Database, log: Any, screen: Screen | None = None) -> str | None:
    tenants = await TenantRegistry(db.db).list_all()
    if any(t.graph is not None for t in tenants if not t.demo):
        return None
    tenant_id = await seed_demo_tenant(db.db, screen=screen)
    log.info("no Graph credentials configured: demo tenant ready", tenant=tenant_id)
    return tenant_id


def build_scheduler(db: Database, settings: Settings, log: Any) -> Scheduler:
    clients = GraphClients(
        authority_host=settings.authority_host, graph_base_url=settings.graph_base_url
    )
    key = pseudonym_key(settings, log)
    return Scheduler(
        db.db,
        TenantRegistry(db.db),
        clients,
        make_erasure(db.db, key),
        screen=make_screen(db.db, key),
    )


def attach_sync(app: web.Application, db: Database, scheduler: Scheduler, log: Any) -> None:
    async def start(_: web.Application) -> None:
        await seed_demo_if_needed(db, log, scheduler.screen)
        await scheduler.start()

    async def stop(_: web.Application) -> None:
        await scheduler.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
