"""The /api/v1 API: Entra ID access tokens checked in full (a local authority serves the
OpenID metadata and keys, signed with the test's own key), each caller sees only their own
data, signed export links, and an OpenAPI document that matches what the routes answer."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from jsonschema import Draft202012Validator

from juno.api import EntraTokens, build_api_app
from juno.api.openapi import OPENAPI
from juno.logs import get_logger
from privacy.links import create_export_link
from storage.repositories import TenantRegistry, TenantStore
from tests.support.api_authority import (
    ANN,
    APP_ID,
    BOB,
    DISABLED,
    FOREIGN,
    SIGNING_KEY,
    STRANGER,
    TID,
    Authority,
    new_key,
    seed,
)
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import Db
from tests.support.processes import JUNO, base_env, free_port, wait_ready


@pytest.fixture(scope="module")
def authority() -> Iterator[Authority]:
    server = Authority()
    server.start()
    yield server
    server.stop()


def api_app(db: Db, authority: Authority, audiences: tuple[str, ...] | None = None) -> Any:
    tokens = EntraTokens(
        db,
        authority_host=authority.url,
        audiences=(APP_ID, f"api://botid-{APP_ID}") if audiences is None else audiences,
    )
    root = web.Application()
    root.add_subapp(
        "/api/v1",
        build_api_app(db, tokens=tokens, signing_key=SIGNING_KEY.encode(), log=get_logger("t")),
    )
    return root


@pytest.fixture
async def client(db: Db, authority: Authority) -> AsyncIterator[TestClient[Any, Any]]:
    await seed(db)
    async with TestClient(TestServer(api_app(db, authority))) as c:
        yield c


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": f"#/components/schemas/{name}", **OPENAPI})


def matrix(a: Authority) -> list[tuple[str, dict[str, str], int, str]]:
    now = int(time.time())
    return [
        ("valid", bearer(a.token()), 200, ""),
        (
            "v1 token",
            bearer(a.token(iss=f"https://sts.windows.net/{TID}/", aud=f"api://botid-{APP_ID}")),
            200,
            "",
        ),
        ("missing", {}, 401, "missing bearer token"),
        ("not bearer", {"Authorization": "Basic YTpi"}, 401, "missing bearer token"),
        ("garbage", bearer("not.a.jwt"), 401, "malformed token"),
        ("wrong key", bearer(a.token(key=new_key())), 401, "invalid token signature"),
        ("unknown kid", bearer(a.token(kid="rotated-away")), 401, "unknown signing key"),
        ("expired", bearer(a.token(exp=now - 3600, nbf=now - 7200)), 401, "token expired"),
        ("not yet valid", bearer(a.token(nbf=now + 3600)), 401, "token not yet valid"),
        ("wrong audience", bearer(a.token(aud="api://someone-else")), 401, "another audience"),
        ("wrong issuer", bearer(a.token(iss=a.issuer(FOREIGN))), 401, "another issuer"),
        ("no tenant", bearer(a.token(tid=None)), 401, "token names no tenant"),
        # One answer for both, after the signature: the API does not reveal which it is.
        ("unregistered", bearer(a.token(tid=STRANGER)), 401, "tenant not served"),
        ("disabled", bearer(a.token(tid=DISABLED)), 401, "tenant not served"),
        ("app-only", bearer(a.token(scp=None, roles=["x"])), 401, "not a user token"),
        ("no user", bearer(a.token(oid=None)), 401, "lacks a required claim"),
        (
            "hs256",
            bearer(jwt.encode({"tid": TID, "oid": ANN}, "k" * 32, algorithm="HS256")),
            401,
            "unexpected token header",
        ),
    ]


async def test_token_matrix(client: TestClient[Any, Any], authority: Authority) -> None:
    for name, headers, status, reason in matrix(authority):
        for path in ("/api/v1/me/consents", "/api/v1/me/export"):
            resp = await client.get(path, headers=headers)
            assert resp.status == status, (name, path, await resp.text())
            if status == 401:
                body = await resp.json()
                assert reason in body["error"], (name, body)
                schema("Error").validate(body)
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
                assert resp.headers["Cache-Control"] == "no-store"
    # Strangers' tenant ids never make the API fetch anything.
    assert f"metadata:{STRANGER}" not in authority.hits


async def test_keys_are_cached(client: TestClient[Any, Any], authority: Authority) -> None:
    before = len(authority.hits)
    for _ in range(3):
        assert (
            await client.get("/api/v1/me/consents", headers=bearer(authority.token()))
        ).status == 200
    assert len(authority.hits) - before <= 2  # metadata + keys once, then from the cache


async def test_each_caller_sees_only_their_own_data(
    client: TestClient[Any, Any], authority: Authority, db: Db
) -> None:
    for user, other in ((ANN, BOB), (BOB, ANN)):
        resp = await client.get("/api/v1/me/consents", headers=bearer(authority.token(oid=user)))
        body = await resp.json()
        schema("Consents").validate(body)
        assert body["user_id"] == user and body["tenant_id"] == TID
        assert body["notice"] == {"version": 1, "acknowledged": True}
        assert body["eula"]["state"] is None and len(body["trail"]) == 1
        assert other not in json.dumps(body)

        resp = await client.get("/api/v1/me/export", headers=bearer(authority.token(oid=user)))
        assert resp.status == 200 and resp.content_type == "application/zip"
        assert resp.headers["Content-Disposition"].startswith('attachment; filename="juno-export-')
        with zipfile.ZipFile(io.BytesIO(await resp.read())) as zf:
            data = json.loads(zf.read("data.json"))
            summary = zf.read("summary.txt").decode()
            assert all(other not in zf.read(n).decode() for n in zf.namelist())
        assert data["subject"] == {"user_id": user} and data["locale"] == "tr"
        assert summary.startswith("JUNO for Teams'te verileriniz")  # the tenant's language
    english = await client.get("/api/v1/me/export?locale=en", headers=bearer(authority.token()))
    with zipfile.ZipFile(io.BytesIO(await english.read())) as zf:
        assert zf.read("summary.txt").decode().startswith("Your data in JUNO for Teams")
    bad = await client.get("/api/v1/me/export?locale=de", headers=bearer(authority.token()))
    assert bad.status == 400 and (await bad.json()) == {"error": "locale must be tr or en"}
    audit = await TenantStore(db, TID).audit_log.recent(limit=10)
    assert {(e["actor"], e["target"]) for e in audit if e["action"] == "export"} == {
        (ANN, "api"),
        (BOB, "api"),
    }
    assert await undeclared(db) == []


async def test_download_links_through_the_route(client: TestClient[Any, Any], db: Db) -> None:
    path = await create_export_link(
        TenantStore(db, TID), ANN, b"PK zip", key=SIGNING_KEY.encode(), filename="a.zip"
    )
    first = await client.get(path)
    assert first.status == 200 and await first.read() == b"PK zip"
    assert first.headers["Content-Disposition"] == 'attachment; filename="a.zip"'
    second = await client.get(path)
    assert second.status == 410 and "already used" in (await second.json())["error"]
    tampered = await client.get(path[:-3] + "AAA")
    assert tampered.status == 404
    schema("Error").validate(await tampered.json())
    assert (await client.head(path)).status == 405  # a link preview cannot use a link up


async def test_openapi_describes_every_route(
    client: TestClient[Any, Any], db: Db, authority: Authority
) -> None:
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc == json.loads(json.dumps(OPENAPI)) and doc["openapi"].startswith("3.1")
    [api] = [r for r in api_app(db, authority).router.resources() if r.canonical == "/api/v1"]
    sub: web.Application = api.get_info()["app"]
    routes = {
        (r.resource.canonical.removeprefix("/api/v1"), r.method.lower())
        for r in sub.router.routes()
        if r.resource is not None
    }
    described = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert routes == described
    for ops in doc["paths"].values():
        for op in ops.values():
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    Draft202012Validator.check_schema(media["schema"])
    unknown = await client.get("/api/v1/nothing-here")
    assert unknown.status == 404 and "error" in await unknown.json()
    wrong_method = await client.post("/api/v1/me/export")
    assert wrong_method.status == 405 and wrong_method.headers["Allow"] == "GET"


async def test_unconfigured_api_says_so(db: Db, authority: Authority) -> None:
    await seed(db)
    async with TestClient(TestServer(api_app(db, authority, audiences=()))) as c:
        resp = await c.get("/api/v1/me/consents", headers=bearer(authority.token()))
        assert resp.status == 503 and "JUNO_API_AUDIENCE" in (await resp.json())["error"]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback test URL
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def start_serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [JUNO, "serve"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


async def test_juno_serve_mounts_the_api(
    mongo_uri: str, db_name: str, db: Db, tmp_path: Path, authority: Authority
) -> None:
    await seed(db)
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=db_name,
        JUNO_PORT=str(port),
        JUNO_AUTHORITY_HOST=authority.url,
        JUNO_API_AUDIENCE=APP_ID,
        JUNO_SIGNING_KEY=SIGNING_KEY,
    )
    proc = start_serve(env, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_ready, base, proc)
        status, body = await asyncio.to_thread(get, f"{base}/api/v1/openapi.json")
        assert status == 200 and json.loads(body)["info"]["title"] == "JUNO for Teams API"
        status, body = await asyncio.to_thread(
            get, f"{base}/api/v1/me/consents", authority.token(oid=BOB)
        )
        assert status == 200 and json.loads(body)["user_id"] == BOB
        status, body = await asyncio.to_thread(get, f"{base}/api/v1/me/consents")
        assert status == 401 and json.loads(body) == {"error": "missing bearer token"}
        path = await create_export_link(
            TenantStore(db, TID), ANN, b"PK served", key=SIGNING_KEY.encode()
        )
        assert await asyncio.to_thread(get, base + path) == (200, b"PK served")
        assert (await asyncio.to_thread(get, base + path))[0] == 410
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert await TenantRegistry(db).get(TID) is not None
