"""Inbound authentication for /api/messages: every request carries a Bot Connector JWT.

Why not the SDK's `jwt_authorization_middleware`: in microsoft-agents 1.9 its validator builds
the JWKS address from hard-coded public/US-Gov hosts, so neither other national clouds nor a
test's own signing keys can be used. This middleware keeps the SDK's contract (it puts a
`ClaimsIdentity` in `request["claims_identity"]`, which `CloudAdapter.process` reads) and takes
the OpenID metadata URL from configuration. Keys come from that metadata's `jwks_uri`, cached
(entra.signing_keys), and are refreshed at most once a minute when an unknown `kid` appears.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web
from aiohttp.typedefs import Middleware
from microsoft_agents.hosting.core.authorization import ClaimsIdentity

from bot.config import BOT_FRAMEWORK_ISSUER, BotConfig
from entra import signing_keys
from entra.signing_keys import SigningKeys

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_LEEWAY = 300  # Bot Framework allows five minutes of clock skew


class TokenRejected(Exception):
    """The reason is logged by type only and returned generically, never echoing token data."""


class KeysUnavailable(TokenRejected):
    """The token cannot be checked now (metadata unreachable): 503, so the connector retries."""


class OpenIdKeys:
    """The Bot Framework's signing keys, from the configured metadata over the shared cache
    (entra.signing_keys)."""

    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url
        self._cache = SigningKeys()
        self._tried_at = 0.0
        self._trying = False

    async def problem(self) -> str | None:
        """For /readyz: None while signing keys are at hand, else what is missing. Until the
        metadata could be read once, tries again at most every ten seconds (a token arriving
        meanwhile also tries), so the bot becomes ready by itself when Entra is back."""
        if self._cache.has_keys(self.metadata_url):
            return None
        if not self._trying and time.monotonic() - self._tried_at >= 10:
            self._trying = True
            self._tried_at = time.monotonic()
            try:
                with contextlib.suppress(signing_keys.KeysUnavailable):
                    await self._cache.warm(self.metadata_url)
            finally:
                self._trying = False
        if self._cache.has_keys(self.metadata_url):
            return None
        return "bot signing keys (OpenID metadata unreachable)"

    async def key(self, kid: str) -> tuple[str | None, jwt.PyJWK]:
        """The metadata's issuer and the key `kid`."""
        try:
            issuer, found = await self._cache.key(self.metadata_url, kid)
        except signing_keys.KeysUnavailable as exc:
            raise KeysUnavailable("signing keys unavailable") from exc
        if found is None:
            raise TokenRejected("unknown signing key")
        return issuer, found


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
        issuer, key = await self.keys.key(header["kid"])
        issuers = {BOT_FRAMEWORK_ISSUER}
        if issuer:
            issuers.add(issuer)
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
