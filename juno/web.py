"""The HTTP application `juno serve` runs: health probes, /metrics, and the guards every request
passes before any route sees it (the bot and the API mount under it as sub-apps).

The guards live on the root application on purpose: aiohttp reads a request's body with the
root app's `client_max_size`, so a sub-app's own limit never applies; the per-route body
limits, the body read timeout and the JSON depth limit are therefore enforced here, each
refusal a 4xx with a reason and one warning line.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from juno.graph_web import add_graph_routes
from juno.metrics import Metrics
from storage import Database

ReadinessCheck = Callable[[], Awaitable[str | None]]
"""Answers None when its part is ready, else a short phrase saying what is missing."""

DEFAULT_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 64
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(rb"[\[\]{}]")


@dataclass(frozen=True)
class Limits:
    """Body size per path prefix (first match wins), the time a client gets to send its body,
    and how deeply a JSON body may nest."""

    bodies: tuple[tuple[str, int], ...] = ()
    default_body: int = DEFAULT_BODY_BYTES
    body_timeout: float = 30.0
    json_depth: int = MAX_JSON_DEPTH

    def body_limit(self, path: str) -> int:
        return next(
            (size for prefix, size in self.bodies if path.startswith(prefix)), self.default_body
        )


@dataclass
class ServiceState:
    db: Database
    metrics: Metrics
    ready: bool = False
    log: Any = None
    limits: Limits = field(default_factory=Limits)
    metrics_token: str | None = None
    checks: list[ReadinessCheck] = field(default_factory=list)


STATE = web.AppKey("juno_state", ServiceState)


def json_too_deep(body: bytes, limit: int) -> bool:
    """True if the JSON text nests arrays/objects deeper than `limit`: checked on the bytes,
    before parsing, because Python's parser recurses and a deep enough body exhausts it.
    Brackets inside strings do not count."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _route(request: web.Request) -> str:
    """The route's template rather than the path the client sent, so log lines stay short and
    carry nothing the client chose."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "other"


def _refuse(state: ServiceState, request: web.Request, status: int, reason: str) -> web.Response:
    if state.log is not None:
        state.log.warning("request refused", path=_route(request), status=status, reason=reason)
    return web.json_response({"error": reason}, status=status, headers={"Connection": "close"})


def guards(state: ServiceState) -> Middleware:
    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in ("GET", "HEAD", "OPTIONS") and not request.body_exists:
            return await handler(request)
        limit = state.limits.body_limit(request.path)
        declared = request.content_length
        if declared is not None and declared > limit:
            return _refuse(state, request, 413, f"the body is larger than {limit} bytes")
        bounded = request.clone(client_max_size=limit)
        try:
            async with asyncio.timeout(state.limits.body_timeout):
                body = await bounded.read()
        except web.HTTPRequestEntityTooLarge:
            return _refuse(state, request, 413, f"the body is larger than {limit} bytes")
        except TimeoutError:
            return _refuse(state, request, 408, "the request body did not arrive in time")
        except web.RequestPayloadError as exc:
            # Bad chunk framing or a body that does not decompress: the parser's words quote
            # the bytes, so only the type is kept.
            return _refuse(state, request, 400, f"malformed request body ({type(exc).__name__})")
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if state.log is not None:
                state.log.warning("client connection dropped", error=type(exc).__name__)
            return web.json_response({"error": "the request body was incomplete"}, status=400)
        if body.lstrip()[:1] in (b"[", b"{") and json_too_deep(body, state.limits.json_depth):
            return _refuse(
                state, request, 400, f"the JSON body nests deeper than {state.limits.json_depth}"
            )
        return await handler(bounded)

    return guard


async def healthz(request: web.Request) -> web.Response:
    """Liveness plus the database: a load balancer should stop sending to a replica that
    cannot reach MongoDB. Deliberately independent of Entra: a replica that cannot reach the
    identity platform is alive and recovers on its own, so it must not be restarted."""
    state = request.app[STATE]
    if await state.db.ping():
        return web.json_response({"status": "ok", "database": "reachable"})
    return web.json_response({"status": "unavailable", "database": "unreachable"}, status=503)


async def readyz(request: web.Request) -> web.Response:
    """Ready once migrations ran and until shutdown begins, so rolling updates drain cleanly,
    and only while every part can do its job (e.g. the bot has the keys to check tokens);
    otherwise 503 with what is missing."""
    state = request.app[STATE]
    if not state.ready:
        return web.json_response(
            {"status": "not ready", "missing": ["starting or stopping"]}, status=503
        )
    missing = [reason for check in state.checks if (reason := await check()) is not None]
    if missing:
        return web.json_response({"status": "not ready", "missing": missing}, status=503)
    return web.json_response({"status": "ready"})


def _is_loopback(remote: str | None) -> bool:
    try:
        return remote is not None and ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


async def metrics(request: web.Request) -> web.Response:
    """With JUNO_METRICS_TOKEN set, only for `Authorization: Bearer <token>`; without it, only
    for a scraper on this host that did not come through a proxy (see docs/security.md)."""
    state = request.app[STATE]
    if state.metrics_token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), state.metrics_token.encode()
        ):
            return web.json_response(
                {"error": "metrics need the bearer token (JUNO_METRICS_TOKEN)"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    elif not _is_loopback(request.remote) or "X-Forwarded-For" in request.headers:
        return web.json_response(
            {"error": "metrics are served to loopback only unless JUNO_METRICS_TOKEN is set"},
            status=403,
        )
    return web.Response(text=state.metrics.render(), content_type="text/plain")


def build_app(state: ServiceState) -> web.Application:
    app = web.Application(
        client_max_size=max(
            [state.limits.default_body, *(size for _, size in state.limits.bodies)]
        ),
        middlewares=[state.metrics.middleware(state.log), guards(state)],
    )
    app[STATE] = state
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    add_graph_routes(app)  # Graph change notifications (juno/graph_web.py)
    return app
