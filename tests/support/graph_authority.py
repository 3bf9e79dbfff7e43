"""A local HTTPS stand-in for the Microsoft identity platform, enough for msal's app-only flow.

msal (with `instance_discovery=False`) reads `/{tenant}/v2.0/.well-known/openid-configuration`
and posts the client-credentials grant to the token endpoint it names. This server answers both
over TLS with a certificate from a `trustme` CA, and answers failures the way Entra does
(`invalid_client` with AADSTS7000215, `unauthorized_client` with AADSTS700016, 400 on an unknown
tenant's discovery document). Client assertions (certificate credentials) are verified against
the registered certificate's public key.
"""

from __future__ import annotations

import ssl
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import trustme
from aiohttp import web
from cryptography import x509


@dataclass
class App:
    client_id: str
    secret: str | None = None
    certificate_pem: bytes | None = None
    consented: bool = True


@dataclass
class FakeAuthority:
    tenants: set[str] = field(default_factory=set)
    apps: dict[str, App] = field(default_factory=dict)
    issued: set[str] = field(default_factory=set)
    token_requests: int = 0
    token_lifetime: int = 3599  # seconds, the expires_in of every token issued
    base: str = ""
    ca: trustme.CA = field(default_factory=trustme.CA)
    _runner: web.AppRunner | None = None

    def write_ca(self, path: Path) -> Path:
        self.ca.cert_pem.write_to_path(str(path))
        return path

    def client_pem(self) -> bytes:
        """A PEM with a private key and its certificate, as an app credential file holds."""
        leaf = self.ca.issue_cert("juno-graph-app.example", key_type=trustme.KeyType.RSA)
        return leaf.private_key_pem.bytes() + leaf.cert_chain_pems[0].bytes()

    async def start(self) -> str:
        server_cert = self.ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_cert.configure_cert(context)
        app = web.Application()
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        port = (getattr(server, "sockets", None) or [])[0].getsockname()[1]
        self.base = f"https://127.0.0.1:{port}"
        return self.base

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        if tenant not in self.tenants:
            return web.json_response(
                {
                    "error": "invalid_tenant",
                    "error_description": f"AADSTS90002: Tenant '{tenant}' not found.",
                },
                status=400,
            )
        root = f"{self.base}/{tenant}"
        return web.json_response(
            {
                "token_endpoint": f"{root}/oauth2/v2.0/token",
                "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
                "issuer": f"{root}/v2.0",
                "jwks_uri": f"{root}/discovery/v2.0/keys",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
            }
        )

    def _refuse(self, status: int, error: str, description: str) -> web.Response:
        trace = f"\r\nTrace ID: {uuid.uuid4()}\r\nCorrelation ID: {uuid.uuid4()}"
        return web.json_response(
            {"error": error, "error_description": description + trace}, status=status
        )

    def _assertion_ok(self, app: App, assertion: str, audience: str) -> bool:
        if app.certificate_pem is None:
            return False
        public_key: Any = x509.load_pem_x509_certificate(app.certificate_pem).public_key()
        try:
            jwt.decode(
                assertion,
                public_key,
                algorithms=["PS256", "RS256"],
                audience=audience,
                options={"require": ["exp", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            return False
        return True

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        tenant = request.match_info["tenant"]
        form = await request.post()
        client_id = str(form.get("client_id", ""))
        app = self.apps.get(client_id)
        if form.get("grant_type") != "client_credentials":
            return self._refuse(400, "unsupported_grant_type", "AADSTS70003: grant type.")
        if app is None or not app.consented:
            return self._refuse(
                400,
                "unauthorized_client",
                f"AADSTS700016: Application with identifier '{client_id}' was not found in the "
                f"directory '{tenant}'. This can happen if the application has not been "
                "installed by the administrator of the tenant.",
            )
        if "client_assertion" in form:
            audience = f"{self.base}/{tenant}/oauth2/v2.0/token"
            ok = self._assertion_ok(app, str(form["client_assertion"]), audience)
        else:
            ok = app.secret is not None and form.get("client_secret") == app.secret
        if not ok:
            return self._refuse(
                401,
                "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                f"in the request is the client secret value, not the client secret ID, for a "
                f"secret added to app '{client_id}'.",
            )
        if not str(form.get("scope", "")).endswith("/.default"):
            return self._refuse(400, "invalid_scope", "AADSTS70011: invalid scope.")
        token = f"fake-at-{uuid.uuid4().hex}"
        self.issued.add(token)
        return web.json_response(
            {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": token}
        )
