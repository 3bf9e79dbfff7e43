"""Peers for the adversarial tests: the bot harness's Bot Framework metadata, connector and
HTTPS token authority, plus Entra's tenant-independent metadata and keys for /api/v1 tokens
(signed with a key of their own), all on loopback."""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.bot_harness import BOT_APP_ID, Peers, jwk, new_key


@dataclass
class EntraPeers(Peers):
    entra_key: rsa.RSAPrivateKey = field(default_factory=new_key)
    entra_kid: str = "entra-1"

    def _authority(self) -> web.Application:
        app = super()._authority()

        async def keys(_: web.Request) -> web.Response:
            return web.json_response({"keys": [jwk(self.entra_key, self.entra_kid)]})

        app.router.add_get("/{tenant}/discovery/v2.0/keys", keys)
        return app

    def user_token(
        self, tid: str, oid: str, *, key: rsa.RSAPrivateKey | None = None, **claims: Any
    ) -> str:
        """A delegated Entra access token for JUNO's API, as a signed-in user would bring."""
        now = int(time.time())
        body: dict[str, Any] = {
            "iss": f"{self.authority_host}/{tid}/v2.0",
            "aud": BOT_APP_ID,
            "tid": tid,
            "oid": oid,
            "scp": "access_as_user",
            "nbf": now - 60,
            "exp": now + 3600,
            **claims,
        }
        return jwt.encode(
            body, key or self.entra_key, algorithm="RS256", headers={"kid": self.entra_kid}
        )


@dataclass
class LogFile:
    """`juno serve`'s stderr, written to a file so a test can read what one attack logged."""

    path: Path

    def mark(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, mark: int, settle: float = 0.3) -> str:
        time.sleep(settle)
        with self.path.open("rb") as f:
            f.seek(mark)
            return f.read().decode("utf-8", "replace")


def raw_exchange(port: int, data: bytes, *, timeout: float = 5) -> bytes:
    """Send bytes as they are (no client library to tidy them) and read until the server
    closes or the timeout passes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def stop(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
