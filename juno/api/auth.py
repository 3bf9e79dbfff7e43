"""Who is calling the API: a user's Microsoft Entra ID access token, checked in full.

The token must be RS256-signed by a key from the tenant's own OpenID metadata
(`{authority}/{tid}/v2.0/.well-known/openid-configuration`, authority from JUNO_AUTHORITY_HOST so
national clouds and tests can point elsewhere), issued by that tenant (v2 issuer, or the v1
`https://sts.windows.net/{tid}/`), to our API (the audience), unexpired, and delegated (it has a
`scp`: a user is present, not an app acting alone). The tenant must be registered and enabled.

The signature and claims are checked *before* the tenant registry is consulted, and an
unregistered or disabled tenant gets the same 401 as any other refused tenant: a caller learns
nothing about which tenants JUNO serves. To check a stranger's signature without fetching
anything that names the stranger, keys come first from the tenant-independent metadata
(`{authority}/organizations/v2.0/...`: Entra signs every tenant's tokens with the same keys);
only a registered, enabled tenant whose token names a key not found there has its own metadata
read (tenant-specific signing keys). Keys are cached per JWKS address (entra.signing_keys) and
refreshed daily, or at most once a minute when a token names a key we do not know (Entra rolls
keys).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from pymongo.asynchronous.database import AsyncDatabase

from entra.signing_keys import KeysUnavailable, SigningKeys
from storage.repositories import TenantRegistry

_LEEWAY = 60
_SHARED_KEYS = "organizations"
TENANT_REFUSED = "tenant not served"
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class Unauthorized(Exception):
    """401: the reason is a short phrase about the token, never its content."""


class Unavailable(Exception):
    """503: the API cannot check tokens right now (not configured, keys unreachable)."""


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    user_id: str
    claims: dict[str, Any] = field(repr=False)


class TenantKeys:
    """Signing keys by tenant: its OpenID metadata's address, over the shared cache
    (entra.signing_keys)."""

    def __init__(self, authority_host: str) -> None:
        self.authority = authority_host.rstrip("/")
        self._cache = SigningKeys()

    async def key(self, tenant_id: str, kid: str) -> tuple[str, jwt.PyJWK]:
        url = f"{self.authority}/{tenant_id}/v2.0/.well-known/openid-configuration"
        try:
            issuer, key = await self._cache.key(url, kid)
        except KeysUnavailable:
            raise Unavailable("signing keys unavailable") from None
        if issuer is None:
            raise Unavailable("signing keys unavailable")
        if key is None:
            raise Unauthorized("unknown signing key")
        return issuer, key


_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "token expired"),
    (jwt.ImmatureSignatureError, "token not yet valid"),
    (jwt.InvalidAudienceError, "token is for another audience"),
    (jwt.InvalidIssuerError, "token is from another issuer"),
    (jwt.InvalidSignatureError, "invalid token signature"),
    (jwt.MissingRequiredClaimError, "token lacks a required claim"),
)


class EntraTokens:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        authority_host: str,
        audiences: Sequence[str],
    ) -> None:
        self.registry = TenantRegistry(db)
        self.keys = TenantKeys(authority_host)
        self.audiences = list(audiences)

    async def caller(self, authorization: str | None) -> Caller:
        if not self.audiences:
            raise Unavailable("the API is not configured: set JUNO_API_AUDIENCE or JUNO_BOT_APP_ID")
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("missing bearer token")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") != "RS256" or not isinstance(header.get("kid"), str):
            raise Unauthorized("unexpected token header")
        tenant_id = unverified.get("tid")
        if not isinstance(tenant_id, str) or not _GUID.match(tenant_id):
            raise Unauthorized("token names no tenant")
        try:
            issuer, key = await self.keys.key(_SHARED_KEYS, header["kid"])
            record = None
        except Unauthorized:
            # Not a shared key: only a tenant we serve may bring its own signing keys.
            record = await self.registry.get(tenant_id)
            if record is None or not record.enabled:
                raise
            issuer, key = await self.keys.key(tenant_id, header["kid"])
        issuers = sorted(
            {
                issuer.replace("{tenantid}", tenant_id),
                f"{self.keys.authority}/{tenant_id}/v2.0",
                f"https://sts.windows.net/{tenant_id}/",
            }
        )
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self.audiences,
                issuer=issuers,
                leeway=_LEEWAY,
                options={"require": ["exp", "iss", "aud", "tid", "oid"]},
            )
        except jwt.PyJWTError as exc:
            reason = next((r for t, r in _REASONS if isinstance(exc, t)), "invalid token")
            raise Unauthorized(reason) from None
        if claims.get("tid") != tenant_id:  # pragma: no cover - same token, checked above
            raise Unauthorized("token names another tenant")
        if not claims.get("scp"):
            raise Unauthorized("not a user token (no delegated scope)")
        user_id = claims.get("oid")
        if not isinstance(user_id, str) or not user_id:
            raise Unauthorized("token names no user")
        if record is None:
            record = await self.registry.get(tenant_id)
        if record is None or not record.enabled:
            raise Unauthorized(TENANT_REFUSED)  # one reason for unregistered and disabled
        return Caller(tenant_id, user_id, claims)
