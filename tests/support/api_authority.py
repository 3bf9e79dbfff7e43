"""The API tests' Entra stand-in (signed tokens, JWKS over HTTP) and their seeded tenants."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from privacy.consent import ConsentAction, Kind, builtin, record
from storage.repositories import TenantStore
from tests.support.bot_harness import jwk
from tests.support.privacy_seed import Db, register
from tests.support.threaded_web import ThreadedSites

APP_ID = "5f0c3a1e-1111-4a5b-8c9d-0123456789ab"
TID = "aaaaaaaa-0000-0000-0000-00000000a9a1"
FOREIGN = "bbbbbbbb-0000-0000-0000-00000000a9a2"
DISABLED = "cccccccc-0000-0000-0000-00000000a9a3"
STRANGER = "dddddddd-0000-0000-0000-00000000a9a4"
ANN = "11111111-0000-0000-0000-00000000a9a1"
BOB = "22222222-0000-0000-0000-00000000a9a2"
SIGNING_KEY = "s" * 40


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Authority:
    """Entra's OpenID metadata and JWKS for any tenant, on loopback, in its own thread (so a
    `juno serve` subprocess can reach it while the test waits)."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "entra-test-1"
    port: int = 0
    hits: list[str] = field(default_factory=list)
    _sites: ThreadedSites = field(default_factory=ThreadedSites)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issuer(self, tenant: str) -> str:
        return f"{self.url}/{tenant}/v2.0"

    def token(
        self,
        *,
        tid: str | None = TID,
        oid: str | None = ANN,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        lifetime: int = 3600,
        **claims: Any,
    ) -> str:
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": self.issuer(tid or "common"),
            "aud": APP_ID,
            "tid": tid,
            "oid": oid,
            "scp": "access_as_user",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + lifetime,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            body, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    def _app(self) -> web.Application:
        app = web.Application()

        async def metadata(request: web.Request) -> web.Response:
            tenant = request.match_info["tenant"]
            self.hits.append(f"metadata:{tenant}")
            return web.json_response(
                {
                    # Entra's tenant-independent form; the API substitutes the tenant.
                    "issuer": f"{self.url}/{{tenantid}}/v2.0",
                    "jwks_uri": f"{self.url}/common/discovery/v2.0/keys",
                }
            )

        async def keys(_: web.Request) -> web.Response:
            self.hits.append("keys")
            return web.json_response({"keys": [jwk(self.key, self.kid)]})

        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", metadata)
        app.router.add_get("/common/discovery/v2.0/keys", keys)
        return app

    def start(self) -> None:
        [self.port] = self._sites.start([(self._app(), None)])

    def stop(self) -> None:
        self._sites.stop()


async def seed(db: Db) -> None:
    await register(db, TID, default_locale="tr")
    await register(db, FOREIGN, name="Fabrikam")
    await register(db, DISABLED, name="Gone Inc", enabled=False)
    store = TenantStore(db, TID)
    for user in (ANN, BOB):
        await record(
            store,
            user_id=user,
            document=builtin(Kind.NOTICE),
            action=ConsentAction.ACKNOWLEDGED,
            locale="tr",
            conversation_id=f"conv-{user}",
            activity_id="a1",
        )
        await store.profiles.upsert_many([{"user_id": user, "display_name": user[:4]}])
