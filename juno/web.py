"""The HTTP application `juno serve` runs: health probes now; the bot and API mount here later."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from juno.graph_web import add_graph_routes
from juno.metrics import Metrics
from storage import Database


@dataclass
class ServiceState:
    db: Database
    metrics: Metrics
    ready: bool = False


STATE = web.AppKey("juno_state", ServiceState)


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus the database: a load balancer should stop sending to a replica that
    cannot reach MongoDB."""
    state = request.app[STATE]
    if await state.db.ping():
        return web.json_response({"status": "ok", "database": "reachable"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def readyz(request: web.Request) -> web.Response:
    """Ready once migrations ran and until shutdown begins, so rolling updates drain cleanly."""
    state = request.app[STATE]
    if state.ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not ready"}, status=503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[STATE].metrics.render(), content_type="text/plain")


def build_app(state: ServiceState) -> web.Application:
    app = web.Application(client_max_size=1024 * 1024, middlewares=[state.metrics.middleware()])
    app[STATE] = state
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    add_graph_routes(app)  # Graph change notifications (juno/graph_web.py)
    return app
