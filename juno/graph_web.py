"""Microsoft Graph's calls to `juno serve`: `/api/graph/notifications` and `/api/graph/lifecycle`.

Graph's rules (change-notifications-delivery-webhooks, webhooks-lifecycle):
- a POST with `?validationToken=...` is the validation handshake: answer 200, `text/plain`,
  the URL-decoded token and nothing else, within 10 s;
- any other POST is a changeNotificationCollection: answer 2xx within 3 s or Graph retries
  (and throttles a slow endpoint). So the only work before the answer is the `clientState`
  check, which decides it (202 when any item is genuine, 403 when none is); recording the
  notification and scheduling the delta round happen after.

The routes are on the service's main application (juno/web.py mounts them), so its body and
time limits apply; what they act on is attached by juno/sync_wiring.py when notifications are
enabled, and until then a notification is answered 404.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.notifications import DeltaTrigger, InvalidPayload, Verdict, parse, verify
from graph_sync.subscriptions import (
    LIFECYCLE_PATH,
    NOTIFICATIONS_PATH,
    SubscriptionKeeper,
    SubscriptionStore,
)
from storage.repositories import TenantRegistry

log = logging.getLogger("juno.graph")
MAX_VALIDATION_TOKEN = 2048
_PLAIN_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


@dataclass
class GraphNotifications:
    """What a notification acts on: the database, the delta trigger, the subscription keeper."""

    db: AsyncDatabase[dict[str, Any]]
    trigger: DeltaTrigger
    keeper: SubscriptionKeeper
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        await self.trigger.stop()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=10)

    async def after(self, verdict: Verdict) -> None:
        """Everything that follows a 202: schedule first (latency), then record."""
        now = utcnow()
        for tenant in verdict.accepted:
            self.trigger.poke(tenant)
        try:
            for tenant, count in verdict.accepted.items():
                await SubscriptionStore(self.db, tenant).note_notifications(count, now)
            for tenant, count in verdict.rejected_tenants.items():
                await SubscriptionStore(self.db, tenant).note_rejected(count, now)
            for tenant, event in verdict.lifecycle:
                await self.lifecycle(tenant, event)
        except Exception as exc:  # the database away: the poll and the keeper catch up
            log.warning("recording a Graph notification failed: %s: %s", type(exc).__name__, exc)

    async def lifecycle(self, tenant: str, event: str) -> None:
        store = SubscriptionStore(self.db, tenant)
        status = {
            "subscriptionRemoved": "removed",
            "reauthorizationRequired": "reauthorization_required",
        }.get(event)
        await store.note_lifecycle(event, utcnow(), status)
        log.info("tenant %s: Graph lifecycle event %s", tenant, event)
        if event == "missed" or status is None:
            self.trigger.poke(tenant)
            return
        record = await TenantRegistry(self.db).get(tenant)
        if record is None:
            return
        for _ in range(10):  # another worker may be renewing it right now
            outcome = await self.keeper.maintain(record)
            if outcome != "busy":
                break
            await asyncio.sleep(1)
        if event == "subscriptionRemoved":
            self.trigger.poke(tenant)  # whatever changed while there was none


NOTIFY = web.AppKey("juno_graph_notifications", GraphNotifications)


def _problem(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


async def _receive(request: web.Request, *, lifecycle: bool) -> web.Response:
    token = request.query.get("validationToken")
    if token is not None:
        if not token or len(token) > MAX_VALIDATION_TOKEN:
            return _problem(400, "validationToken must be 1 to 2048 characters")
        return web.Response(text=token, content_type="text/plain", headers=_PLAIN_HEADERS)
    service = request.app.get(NOTIFY)
    if service is None:
        return _problem(404, "change notifications are not enabled on this service")
    try:
        items = parse(await request.read())
    except InvalidPayload as exc:
        return _problem(400, str(exc))
    verdict = await verify(service.db, items, lifecycle=lifecycle)
    if verdict.rejected:
        log.warning(
            "refused %d Graph notification(s): clientState did not match (from %s)",
            verdict.rejected,
            request.remote,
        )
    service.later(service.after(verdict))
    if not verdict.any_valid:
        return _problem(403, "clientState does not match any subscription")
    return web.Response(status=202)


async def notifications(request: web.Request) -> web.Response:
    return await _receive(request, lifecycle=False)


async def lifecycle_notifications(request: web.Request) -> web.Response:
    return await _receive(request, lifecycle=True)


def add_graph_routes(app: web.Application) -> None:
    app.router.add_post(NOTIFICATIONS_PATH, notifications)
    app.router.add_post(LIFECYCLE_PATH, lifecycle_notifications)
