"""The HTTP API under /api/v1: the signed-in user's export and consents, signed export links,
and the OpenAPI document. Every error is JSON `{"error": reason}` with the right status."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pymongo.asynchronous.database import AsyncDatabase

from juno.api.auth import Caller, EntraTokens, Unauthorized, Unavailable
from juno.api.openapi import OPENAPI
from privacy.consent import standing
from privacy.export import LOCALES, build_export, plain
from privacy.links import LinkRefused, redeem_export_link
from storage.repositories import TenantStore

_NO_STORE = {"Cache-Control": "no-store"}
MAX_BODY_BYTES = 64 * 1024  # enforced by juno/web.py's guard: a sub-app's own limit is not


def _error(status: int, reason: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": reason}, status=status, headers={**_NO_STORE, **(headers or {})}
    )


def _errors(log: Any) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except Unauthorized as exc:
            log.info("api request refused", reason=str(exc))
            challenge = f'Bearer error="invalid_token", error_description="{exc}"'
            return _error(401, str(exc), {"WWW-Authenticate": challenge})
        except Unavailable as exc:
            log.warning("api unavailable", reason=str(exc))
            return _error(503, str(exc))
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
            return _error(exc.status, (exc.reason or "error").lower(), allow)
        except Exception as exc:
            log.error("api request failed", error=type(exc).__name__, exc_info=exc)
            return _error(500, "internal error")

    return middleware


def _zip(body: bytes, filename: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="application/zip",
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def build_api_app(
    db: AsyncDatabase[dict[str, Any]],
    *,
    tokens: EntraTokens,
    signing_key: bytes,
    log: Any,
) -> web.Application:
    app = web.Application(middlewares=[_errors(log)], client_max_size=MAX_BODY_BYTES)

    async def caller(request: web.Request) -> Caller:
        return await tokens.caller(request.headers.get("Authorization"))

    async def export_me(request: web.Request) -> web.StreamResponse:
        who = await caller(request)
        locale = request.query.get("locale")
        if locale is not None and locale not in LOCALES:
            return _error(400, "locale must be tr or en")
        store = TenantStore(db, who.tenant_id)
        if locale is None:
            record = await store.own_record.get()
            locale = record.default_locale if record else "en"
        result = await build_export(store, who.user_id, locale=locale, channel="api")
        return _zip(result.zip_bytes, result.filename)

    async def consents_me(request: web.Request) -> web.StreamResponse:
        who = await caller(request)
        mine = await standing(TenantStore(db, who.tenant_id), who.user_id)
        body = {
            "tenant_id": who.tenant_id,
            "user_id": who.user_id,
            "notice": {"version": mine.notice.version, "acknowledged": mine.notice_acknowledged},
            "eula": {
                "version": mine.eula.version,
                "state": mine.eula_state.value if mine.eula_state else None,
            },
            "trail": [
                {
                    "document": e["document"],
                    "version": int(e["version"]),
                    "action": e["action"],
                    "at": plain(e["at"]),
                    "locale": e.get("locale"),
                }
                for e in mine.decisions  # "shown" evidence is in the export, not here
            ],
        }
        return web.json_response(body, headers=_NO_STORE)

    async def download(request: web.Request) -> web.StreamResponse:
        try:
            got = await redeem_export_link(db, request.match_info["token"], key=signing_key)
        except LinkRefused as exc:
            return _error(exc.status, exc.reason)
        return _zip(got.zip_bytes, got.filename)

    async def openapi(_: web.Request) -> web.StreamResponse:
        return web.json_response(OPENAPI)

    app.router.add_get("/me/export", export_me, allow_head=False)
    app.router.add_get("/me/consents", consents_me, allow_head=False)
    # No HEAD: a link preview must not use up a single-use link.
    app.router.add_get("/exports/{token}", download, allow_head=False)
    app.router.add_get("/openapi.json", openapi, allow_head=False)
    return app
