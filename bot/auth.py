"""Inbound authentication for /api/messages: every request carries a Bot Connector JWT.

Why not the SDK's `jwt_authorization_middleware`: in microsoft-agents 1.9 its validator builds
the JWKS address from hard-coded public/US-Gov hosts, so neither other national clouds nor a
test's own signing keys can be used. This middleware keeps the SDK's contract (it puts a
`ClaimsIdentity` in `request["claims_identity"]`, which `CloudAdapter.process` reads) and takes
the OpenID metadata URL from configuration. Keys come from that metadata's `jwks_uri`, are
cached, and are refreshed at most once a minute when an unknown `kid` appears.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from aiohttp.typedefs import Middleware
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

from bot.config import BOT_FRAMEWORK_ISSUER, BotConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_REFRESH_EVERY = 24 * 3600
_MIN_REFRESH_GAP = 60
_LEEWAY = 300  # Bot Framework allows five minutes of clock skew


class TokenRejected(Exception):
    """The reason is logged by type only and returned generically, never echoing token data."""


class KeysUnavailable(TokenRejected):
    """The token cannot be checked now (metadata unreachable): 503, so the connector retries."""


class OpenIdKeys:
    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._issuer: str | None = None
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._tried_at = 0.0

    @property
    def issuer(self) -> str | None:
        return self._issuer

    async def _refresh(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(self.metadata_url) as resp:
                resp.raise_for_status()
                metadata = json.loads(await resp.read())
            async with session.get(metadata["jwks_uri"]) as resp:
                resp.raise_for_status()
                jwks = json.loads(await resp.read())
        keys: dict[str, jwt.PyJWK] = {}
        for entry in jwks.get("keys", []):
            if entry.get("kid") and entry.get("kty") == "RSA":
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm="RS256")
        self._keys = keys
        self._issuer = metadata.get("issuer")
        self._fetched_at = time.monotonic()

    async def problem(self) -> str | None:
        """For /readyz: None while signing keys are at hand, else what is missing. Until the
        metadata could be read once, tries again at most every ten seconds (a token arriving
        meanwhile also tries), so the bot becomes ready by itself when Entra is back."""
        if self._keys:
            return None
        if not self._lock.locked() and time.monotonic() - self._tried_at >= 10:
            async with self._lock:
                self._tried_at = time.monotonic()
                with contextlib.suppress(
                    aiohttp.ClientError, TimeoutError, KeyError, ValueError, TypeError
                ):
                    await self._refresh()
        return None if self._keys else "bot signing keys (OpenID metadata unreachable)"

    async def key(self, kid: str) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > _REFRESH_EVERY:
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                stale = age > _REFRESH_EVERY
                if (kid not in self._keys and age > _MIN_REFRESH_GAP) or stale or not self._keys:
                    try:
                        await self._refresh()
                    except (
                        aiohttp.ClientError,
                        TimeoutError,
                        KeyError,
                        ValueError,
                        TypeError,
                    ) as exc:
                        raise KeysUnavailable("signing keys unavailable") from exc
        found = self._keys.get(kid)
        if found is None:
            raise TokenRejected("unknown signing key")
        return found


class TokenValidator:
    def __init__(self, config: BotConfig) -> None:
        if not config.app_id:
            raise ValueError("JUNO_BOT_APP_ID is required unless dev mode is on")
        self.config = config
        self.keys = OpenIdKeys(config.openid_metadata_url)

    async def validate(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected("malformed token") from exc
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise TokenRejected("unexpected token header")
        key = await self.keys.key(header["kid"])
        issuers = {BOT_FRAMEWORK_ISSUER}
        if self.keys.issuer:
            issuers.add(self.keys.issuer)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.config.app_id,
                issuer=sorted(issuers),
                leeway=_LEEWAY,
                # `serviceurl`: Bot Framework binds each channel token to the serviceUrl the
                # activity names; bot.http compares the two.
                options={"require": ["exp", "iss", "aud", "serviceurl"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenRejected(type(exc).__name__) from exc
        return claims


def jwt_middleware(
    config: BotConfig, log: Any, validator: TokenValidator | None = None
) -> Middleware:
    """Always installed on the bot's routes. Anonymous only in explicit dev mode with no app id
    (and `juno serve` refuses dev mode on anything but loopback)."""
    if validator is None and not config.anonymous:
        validator = TokenValidator(config)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if validator is None:
            request["claims_identity"] = ClaimsIdentity({}, "Anonymous")
            return await handler(request)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return web.json_response({"error": "missing bearer token"}, status=401)
        try:
            claims = await validator.validate(token.strip())
        except KeysUnavailable:
            log.warning("inbound token not checked: signing keys unavailable")
            return web.json_response(
                {"error": "signing keys unavailable; try again later"},
                status=503,
                headers={"Retry-After": "10"},
            )
        except TokenRejected as exc:
            log.warning("inbound token rejected", reason=str(exc))
            return web.json_response({"error": "invalid token"}, status=401)
        request["claims_identity"] = ClaimsIdentity(claims, "Bearer", security_token=token)
        request["jwt_claims"] = claims
        return await handler(request)

    return middleware
