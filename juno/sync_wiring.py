"""Wiring for Graph sync in `juno serve`: the per-tenant schedule, the demo tenant when no
customer tenant has Graph credentials yet (so `make run` has a directory to search), and Graph
change notifications when the service has a public address (docs/graph-sync.md)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
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
from graph_sync.notifications import DeltaTrigger
from graph_sync.scheduler import HEALTHY_POLL_FACTOR
from graph_sync.subscriptions import SubscriptionKeeper, endpoint_urls
from juno.graph_web import NOTIFY, GraphNotifications
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
        # While a tenant's subscription is healthy the poll is only the safety net.
        healthy_poll_factor=HEALTHY_POLL_FACTOR if notification_urls(settings) else 1,
    )


def notification_urls(settings: Settings) -> tuple[str, str] | None:
    if not settings.graph_notifications:
        return None
    return endpoint_urls(settings.public_base_url)


KEEPER_INTERVAL = timedelta(minutes=1)


def build_notifications(
    db: Database, scheduler: Scheduler, settings: Settings
) -> GraphNotifications | None:
    urls = notification_urls(settings)
    if urls is None:
        return None
    clients = scheduler.make_client
    if not isinstance(clients, GraphClients):  # pragma: no cover - build_scheduler's
        clients = GraphClients(
            authority_host=settings.authority_host, graph_base_url=settings.graph_base_url
        )
    trigger = DeltaTrigger(db.db, scheduler.run_now, scheduler.running_task)
    keeper = SubscriptionKeeper(
        db.db,
        clients.subscriptions,
        notification_url=urls[0],
        lifecycle_url=urls[1],
        catch_up=trigger.poke,
    )
    return GraphNotifications(db.db, trigger, keeper)


def attach_sync(
    app: web.Application,
    db: Database,
    scheduler: Scheduler,
    log: Any,
    settings: Settings | None = None,
) -> None:
    notify = build_notifications(db, scheduler, settings) if settings else None
    keeping: list[asyncio.Task[None]] = []
    if notify is not None:
        app[NOTIFY] = notify
    elif settings is not None:
        log.info(
            "Graph change notifications off (JUNO_GRAPH_NOTIFICATIONS=0, or no public https "
            "JUNO_PUBLIC_BASE_URL): the schedule polls every tenant"
        )

    async def start(_: web.Application) -> None:
        await seed_demo_if_needed(db, log, scheduler.screen)
        await scheduler.start()
        if notify is not None:
            keeping.append(asyncio.create_task(_keep(app, notify, log), name="graph-subscriptions"))

    async def stop(_: web.Application) -> None:
        for task in keeping:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if notify is not None:
            await notify.stop()
        await scheduler.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


async def _keep(app: web.Application, notify: GraphNotifications, log: Any) -> None:
    """Create and renew subscriptions every minute. The first pass waits until the service
    listens: Graph validates our endpoint while it creates a subscription."""
    from juno.web import STATE

    state = app[STATE]
    for _ in range(600):
        if state.ready:
            break
        await asyncio.sleep(0.1)
    while True:
        try:
            done = await notify.keeper.maintain_all()
        except Exception as exc:  # the database away: next pass
            log.warning("subscription upkeep failed", error=f"{type(exc).__name__}: {exc}")
        else:
            for tenant, outcome in done.items():
                if outcome not in ("ok", "busy", "waiting", "off"):
                    log.info("graph subscription", tenant=tenant, outcome=outcome)
        await asyncio.sleep(KEEPER_INTERVAL.total_seconds())
