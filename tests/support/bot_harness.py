"""Real peers for the bot: a fake Bot Connector (the serviceUrl) that records replies, the Bot
Framework OpenID metadata + JWKS with the test's own signing key, and an HTTPS token authority
(trustme certificate) for the bot's outbound msal token. They run on their own event loop in a
thread, so `juno serve` (a real subprocess) can call them while a test waits on it."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import jwt
import trustme
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.threaded_web import ThreadedSites

BOT_APP_ID = "5a7d2f8e-3c1b-4e6f-9a0d-1b2c3d4e5f60"
BOT_SECRET = "test-bot-secret"
ISSUER = "https://api.botframework.com"


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    data.update({"kid": kid, "use": "sig", "alg": "RS256"})
    return data


@dataclass
class Peers:
    host: str = "127.0.0.1"
    port: int = 0
    tls_port: int = 0
    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    kid: str = "test-key-1"
    ca: trustme.CA = field(default_factory=trustme.CA)
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    reply_auth: list[str] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    tokens_issued: int = 0
    # Per conversation: statuses to answer before the usual 200s, and what each request got.
    script: dict[str, list[tuple[int, dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    arrivals: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sites: ThreadedSites = field(default_factory=ThreadedSites)

    @property
    def service_url(self) -> str:
        return f"http://{self.host}:{self.port}/connector/"

    def upload_url(self, name: str) -> str:
        return f"http://{self.host}:{self.port}/upload/{name}"

    @property
    def metadata_url(self) -> str:
        return f"http://{self.host}:{self.port}/bf/openid"

    @property
    def authority_host(self) -> str:
        return f"https://{self.host}:{self.tls_port}"

    def ca_file(self, path: str) -> str:
        self.ca.cert_pem.write_to_path(path)
        return path

    # --- tokens ---------------------------------------------------------------------------
    def token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": BOT_APP_ID,
            "exp": now + 3600,
            "nbf": now - 10,
            "serviceurl": self.service_url,
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(
            claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    # --- replies ---------------------------------------------------------------------------
    def answer(self, conversation_id: str, *statuses: int, retry_after: str | None = None) -> None:
        """Refuse the conversation's next requests with these statuses (each with Retry-After
        when given), then accept again."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self._lock:
            self.script[conversation_id].extend((status, headers) for status in statuses)

    def answered(self, conversation_id: str) -> list[tuple[float, int]]:
        """(monotonic arrival time, status answered) of every request to the conversation."""
        with self._lock:
            return list(self.arrivals.get(conversation_id, []))

    def take(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.replies.get(conversation_id, []))

    def reply_count(self) -> int:
        """Replies received in all conversations so far."""
        with self._lock:
            return sum(len(r) for r in self.replies.values())

    async def wait_replies(
        self, conversation_id: str, count: int, within: float = 15
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            got = self.take(conversation_id)
            if len(got) >= count:
                return got
            await asyncio.sleep(0.05)
        raise AssertionError(f"expected {count} replies, got {self.take(conversation_id)}")

    # --- servers ---------------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application()

        async def openid(_: web.Request) -> web.Response:
            return web.json_response(
                {"issuer": ISSUER, "jwks_uri": f"http://{self.host}:{self.port}/bf/keys"}
            )

        async def keys(_: web.Request) -> web.Response:
            return web.json_response({"keys": [jwk(self.key, self.kid)]})

        async def connector(request: web.Request) -> web.Response:
            arrived = time.monotonic()
            body = await request.json()
            parts = request.match_info["tail"].split("/")
            conversation = parts[0] if parts else ""
            with self._lock:
                scripted = self.script.get(conversation)
                status, headers = scripted.pop(0) if scripted else (200, {})
                self.arrivals[conversation].append((arrived, status))
                if status == 200:
                    self.replies[conversation].append(body)
                    self.reply_auth.append(request.headers.get("Authorization", ""))
            if status != 200:
                return web.json_response(
                    {"error": {"code": str(status)}}, status=status, headers=headers
                )
            return web.json_response({"id": uuid.uuid4().hex})

        async def upload(request: web.Request) -> web.Response:
            body = await request.read()
            expected = f"bytes 0-{len(body) - 1}/{len(body)}"
            if request.headers.get("Content-Range") != expected:
                return web.json_response({"error": "bad Content-Range"}, status=400)
            with self._lock:
                self.uploads[request.match_info["name"]] = body
            return web.json_response({"id": "file-1"}, status=201)

        app.router.add_put("/upload/{name}", upload)
        app.router.add_get("/bf/openid", openid)
        app.router.add_get("/bf/keys", keys)
        app.router.add_route("*", "/connector/v3/conversations/{tail:.*}", connector)
        return app

    def _authority(self) -> web.Application:
        app = web.Application()

        async def discovery(request: web.Request) -> web.Response:
            tenant = request.match_info["tenant"]
            base = f"{self.authority_host}/{tenant}"
            return web.json_response(
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "jwks_uri": f"{base}/discovery/v2.0/keys",
                }
            )

        async def token(request: web.Request) -> web.Response:
            form = await request.post()
            if form.get("client_id") != BOT_APP_ID or form.get("client_secret") != BOT_SECRET:
                return web.json_response(
                    {"error": "invalid_client", "error_description": "bad credentials"},
                    status=401,
                )
            with self._lock:
                self.tokens_issued += 1
            return web.json_response(
                {"token_type": "Bearer", "expires_in": 3600, "access_token": "outbound-token"}
            )

        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", discovery)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
        return app

    def start(self) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(self.host).configure_cert(context)
        self.port, self.tls_port = self._sites.start(
            [(self._app(), None), (self._authority(), context)]
        )

    def stop(self) -> None:
        self._sites.stop()


def activity(
    *,
    tenant: str,
    user: str,
    conversation: str,
    service_url: str,
    text: str | None = None,
    value: dict[str, Any] | None = None,
    locale: str = "en-US",
    type_: str = "message",
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type_,
        "id": uuid.uuid4().hex,
        "timestamp": "2026-11-25T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:{user}", "aadObjectId": user, "name": "Test User"},
        "conversation": {"id": conversation, "conversationType": "personal", "tenantId": tenant},
        "recipient": {"id": f"28:{BOT_APP_ID}", "name": "JUNO"},
        "locale": locale,
        "channelData": {"tenant": {"id": tenant}},
    }
    if text is not None:
        body["text"] = text
    if value is not None:
        body["value"] = value
    body.update(extra)
    return body


def statuses(peers: Peers, conversation: str) -> list[int]:
    return [status for _, status in peers.answered(conversation)]
