"""JUNO attacked as an outsider would: `juno serve` in production mode (bot app id and secret
set, real JWT validation against a local JWKS, Entra stand-ins on loopback), every case over
real HTTP or raw sockets. Each test names the finding of issue #13 it replays."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bot.http import MAX_ACTIVITY_BYTES
from juno.api.app import MAX_BODY_BYTES
from privacy.links import LinkRefused, redeem_export_link
from storage.repositories import TenantRecord, TenantStore
from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, ISSUER, new_key
from tests.support.bot_server import (
    BotServer,
    Chat,
    accept_answer,
    bot_env,
    consent_fully,
    offered_file,
)
from tests.support.processes import JUNO, base_env, free_port, wait_ready
from tests.support.stand_ins import EntraPeers, LogFile, raw_exchange, stop

TENANT = "5ec00000-0000-4000-8000-000000000001"
VICTIM_TENANT = "5ec00000-0000-4000-8000-000000000002"
DISABLED = "5ec00000-0000-4000-8000-000000000003"
STRANGER = "5ec00000-0000-4000-8000-0000000000ff"
ADMIN = "5ec0ad00-0000-4000-8000-000000000001"
VICTIM_ADMIN = "5ec0ad00-0000-4000-8000-000000000002"
METRICS_TOKEN = "metrics-" + "m" * 24
SIGNING_KEY = "k" * 48
TIMEOUT = 1.5  # header and body timeouts of the server under attack, in seconds

Db = AsyncDatabase[dict[str, Any]]


class Server(BotServer):
    port: int
    log: LogFile


@pytest.fixture(scope="module")
def server(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    peers = EntraPeers()
    peers.start()
    db_name = f"sec_{uuid.uuid4().hex[:10]}"
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    with client:
        tenants = client[db_name]["tenants"]
        for tenant, admin, enabled in (
            (TENANT, ADMIN, True),
            (VICTIM_TENANT, VICTIM_ADMIN, True),
            (DISABLED, ADMIN, False),
        ):
            record = TenantRecord(tenant_id=tenant, name=tenant[-4:], enabled=enabled)
            tenants.insert_one(
                {**record.to_document(), "admins": [{"user_id": admin, "since": None}]}
            )
    tmp = tmp_path_factory.mktemp("sec")
    port = free_port()
    ca = peers.ca_file(str(tmp / "ca.pem"))
    env = bot_env(
        mongo_uri,
        db_name,
        port,
        metadata_url=peers.metadata_url,
        authority_host=peers.authority_host,
        ca_file=ca,
        JUNO_SIGNING_KEY=SIGNING_KEY,
        JUNO_METRICS_TOKEN=METRICS_TOKEN,
        JUNO_HEADER_TIMEOUT_SECONDS=str(TIMEOUT),
        JUNO_BODY_TIMEOUT_SECONDS=str(TIMEOUT),
        JUNO_RETENTION_JOB="0",
        SSL_CERT_FILE=ca,  # aiohttp (the API's Entra metadata)
    )
    log = LogFile(tmp / "serve.log")
    with log.path.open("w") as err:
        proc = subprocess.Popen(
            [JUNO, "serve"], env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=err, text=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)
        found = Server(url, peers, db_name, proc, env, tmp)
        found.port, found.log = port, log
        yield found
    finally:
        stop(proc)
        peers.stop()
    text = log.path.read_text()
    assert "Traceback" not in text, text[-3000:]
    assert proc.returncode == 0


@pytest.fixture
async def db(mongo_uri: str, server: Server) -> AsyncIterator[Db]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri, tz_aware=True)
    yield client[server.db_name]
    await client.close()


def warnings_in(text: str) -> list[dict[str, Any]]:
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [e for e in events if e.get("level") in ("warning", "error", "critical")]


async def post(
    server: Server, path: str, *, data: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.url}{path}", data=data, headers=headers or {}) as resp,
    ):
        text = await resp.text()
        try:
            return resp.status, json.loads(text) if text else {}
        except ValueError:
            return resp.status, {"text": text}


# --- 1, 11: identity only from what Teams vouches for ------------------------------------


async def test_forged_identity_on_another_channel_is_refused_and_audited(
    server: Server, db: Db
) -> None:
    """Finding 1: a genuine connector token, `channelId: directline`, `from.id` = another
    tenant's admin, no aadObjectId, the tenant only in channelData: it used to open that
    tenant's admin desk."""
    chat = Chat(server, tenant=VICTIM_TENANT)
    forged = chat.activity(text="admin", channelId="directline")
    forged["from"] = {"id": VICTIM_ADMIN, "name": "Mallory"}
    del forged["conversation"]["tenantId"]
    status, body = await chat.post(forged)
    assert status == 403 and body["error"].startswith("activity refused: channel")
    await chat.quiet(0.3)  # no desk, no reply at all
    audit = await TenantStore(db, "unknown").audit_log.recent(limit=100)
    assert any(
        e["action"] == "refused_identity" and "channel not accepted" in e["outcome"] for e in audit
    )


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no aadObjectId", "from.aadObjectId"),
        ("tenant only in channelData", "conversation.tenantId"),
        ("channelData names another tenant", "channelData.tenant.id disagrees"),
        ("from.id only, aadObjectId of nobody", "from.aadObjectId"),
    ],
)
async def test_msteams_activity_without_vouched_identity_is_refused(
    server: Server, case: str, reason: str
) -> None:
    chat = Chat(server, tenant=TENANT)
    body = chat.activity(text="admin")
    if case == "no aadObjectId":
        body["from"] = {"id": f"29:{ADMIN}"}
    elif case == "tenant only in channelData":
        del body["conversation"]["tenantId"]
    elif case == "channelData names another tenant":
        body["channelData"] = {"tenant": {"id": VICTIM_TENANT}}
    else:
        body["from"] = {"id": ADMIN, "aadObjectId": "not-an-object-id"}
    status, answer = await chat.post(body)
    assert status == 403 and reason in answer["error"], (case, answer)
    await chat.quiet(0.2)


async def test_refused_tenant_strings_are_bounded_in_audit_and_log(server: Server, db: Db) -> None:
    """Finding 11: refusals used to be stored under whatever tenant string was sent (`$where`,
    5,000 x's), with 5 kB log lines."""
    mark = server.log.mark()
    chat = Chat(server, tenant="$where" + "x" * 5000)
    body = chat.activity(text="help", channelId="$where" + "y" * 5000)
    status, _ = await chat.post(body)
    assert status == 403
    names = await db.list_collection_names()
    assert not any("$" in n or "xxxx" in n for n in names)
    for doc in await TenantStore(db, "unknown").audit_log.recent(limit=200):
        assert all(len(str(v)) < 200 and "$" not in str(v) for v in doc.values())
    assert await db["audit_log"].count_documents({"tenant_id": {"$regex": "where"}}) == 0
    lines = server.log.since(mark).splitlines()
    assert lines and all(len(line) < 1000 for line in lines)
    assert len(warnings_in("\n".join(lines))) == 1


def test_channels_are_configurable() -> None:
    from microsoft_agents.activity import Activity

    from bot.identity import refusal

    body = {
        "type": "message",
        "channelId": "directline",
        "from": {"id": "x", "aadObjectId": ADMIN},
        "conversation": {"id": "c", "tenantId": TENANT},
    }
    activity = Activity.model_validate(body)
    assert refusal(activity, ("msteams",)) == "channel not accepted"
    assert refusal(activity, ("msteams", "directline")) is None
    no_user = Activity.model_validate({**body, "from": {"id": ADMIN}})
    assert refusal(no_user, ("msteams", "directline")) is not None  # never a from.id fallback


# --- 2, 3: body limits per route and JSON depth -------------------------------------------


def padded_activity(chat: Chat, size: int) -> bytes:
    body = chat.activity(text="help", channelData={"tenant": {"id": chat.tenant}, "pad": ""})
    raw = json.dumps(body).encode()
    body["channelData"]["pad"] = "p" * (size - len(raw))
    out = json.dumps(body).encode()
    assert len(out) == size
    return out


async def test_activity_body_limit_is_enforced_at_its_edge(server: Server) -> None:
    """Finding 2: the root app's 1 MB applied, not the bot's 256 kB."""
    mark = server.log.mark()
    chat = Chat(server, tenant=TENANT)
    status, _ = await chat.post(None, raw=padded_activity(chat, MAX_ACTIVITY_BYTES))
    assert status in (200, 202)
    status, body = await chat.post(None, raw=padded_activity(chat, MAX_ACTIVITY_BYTES + 1))
    assert status == 413 and str(MAX_ACTIVITY_BYTES) in body["error"]
    # Without a Content-Length (chunked), the limit holds while reading.
    chunks = padded_activity(chat, MAX_ACTIVITY_BYTES + 1)

    async def stream() -> AsyncIterator[bytes]:
        for i in range(0, len(chunks), 65536):
            yield chunks[i : i + 65536]

    try:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{server.url}/api/messages",
                data=stream(),
                headers={"Authorization": f"Bearer {server.peers.token()}"},
            ) as resp,
        ):
            assert resp.status == 413
    except aiohttp.ClientError:
        pass  # the server may answer and close while the client is still sending
    refused = [w for w in warnings_in(server.log.since(mark)) if w["event"] == "request refused"]
    assert len(refused) == 2


async def test_api_body_limit_is_enforced_at_its_edge(server: Server) -> None:
    ok, _ = await post(server, "/api/v1/me/consents", data=b"x" * MAX_BODY_BYTES)
    assert ok == 405  # within the limit: the route answers (it takes no POST)
    status, body = await post(server, "/api/v1/me/consents", data=b"x" * (MAX_BODY_BYTES + 1))
    assert status == 413 and str(MAX_BODY_BYTES) in body["error"]


async def test_deep_json_is_a_400_not_a_traceback(server: Server) -> None:
    """Finding 3: `[` * 100000 gave a 500 and an ERROR traceback."""
    mark = server.log.mark()
    chat = Chat(server, tenant=TENANT)
    for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 30_000 + b"1" + b"}" * 30_000):
        status, body = await chat.post(None, raw=raw)
        assert status == 400 and "deeper" in body["error"]
    # At the edge: the activity object and channelData are two levels, so 62 more are the
    # most a body may nest; one more is refused.
    from juno.web import MAX_JSON_DEPTH

    for extra, expected in ((MAX_JSON_DEPTH - 2, (200, 202)), (MAX_JSON_DEPTH - 1, (400,))):
        nested: Any = []
        for _ in range(extra - 1):
            nested = [nested]
        body = chat.activity(text="help", channelData={"tenant": {"id": TENANT}, "deep": nested})
        status, _ = await chat.post(body)
        assert status in expected, (extra, status)
    # Brackets inside strings are text, not nesting.
    status, _ = await chat.post(chat.activity(text="[" * 5000))
    assert status in (200, 202)
    text = server.log.since(mark)
    assert "Traceback" not in text and '"level": "error"' not in text


# --- 4, 7: malformed requests, slow clients -------------------------------------------------


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + b"A" * 9000
        + b"SECRETTAIL\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 5\r\nX-Probe: SECRETTAIL\r\n\r\n0\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Probe: SECRET\x00TAIL\r\n\r\n",
    ],
    ids=["header over 8 kB", "Transfer-Encoding with Content-Length", "NUL in a header"],
)
def test_malformed_requests_are_one_quiet_warning(server: Server, request_bytes: bytes) -> None:
    """Finding 4: these logged tracebacks quoting the request's bytes."""
    mark = server.log.mark()
    answer = raw_exchange(server.port, request_bytes)
    assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.0 400"), answer[:200]
    text = server.log.since(mark)
    assert "Traceback" not in text and "SECRET" not in text and "AAAAAAAA" not in text
    [warning] = warnings_in(text)
    assert warning["event"] == "malformed request refused" and warning["status"] == 400


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (b"Transfer-Encoding: chunked\r\n", b"zz\r\nSECRETTAIL\r\n0\r\n\r\n"),
        (b"Content-Encoding: gzip\r\nContent-Length: 14\r\n", b"SECRETTAILxxxx"),
    ],
    ids=["bad chunk size", "body that does not decompress"],
)
def test_malformed_bodies_are_a_400_not_a_500(server: Server, headers: bytes, body: bytes) -> None:
    mark = server.log.mark()
    answer = raw_exchange(
        server.port,
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + headers
        + b"Connection: close\r\n\r\n"
        + body,
    )
    assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.0 400"), answer[:300]
    text = server.log.since(mark)
    assert "Traceback" not in text and "SECRET" not in text
    assert len(warnings_in(text)) == 1


def test_a_long_header_within_the_limit_is_read(server: Server) -> None:
    """The edge of the header limit: just under aiohttp's 8190 bytes a line is parsed and
    reaches the token check (401), rather than the parser's 400."""
    token = b"A" * 8000
    answer = raw_exchange(
        server.port,
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    assert answer[:12] in (b"HTTP/1.1 401", b"HTTP/1.0 401"), answer[:200]


def test_slow_headers_are_cut_off(server: Server) -> None:
    """Finding 7: a slowloris connection used to stay open for an hour."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
        sock.sendall(b"POST /api/messages HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < TIMEOUT + 8:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
                if sock.recv(1024) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        assert closed, "the server kept a connection that never finished its headers"
        assert time.monotonic() - started < TIMEOUT + 6  # not the hour aiohttp would wait


def test_slow_body_gets_408_and_a_dropped_body_one_line(server: Server) -> None:
    mark = server.log.mark()
    head = (
        b"POST /api/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT + 8) as sock:
        sock.sendall(head)
        started = time.monotonic()
        answer = sock.recv(1024)  # the first bytes of the answer, while the body never comes
        waited = time.monotonic() - started
    assert answer[:12] in (b"HTTP/1.1 408", b"HTTP/1.0 408"), answer[:200]
    assert TIMEOUT - 0.2 < waited < TIMEOUT + 6
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as sock:
        sock.sendall(head)  # and hang up mid-body
    text = server.log.since(mark, settle=TIMEOUT + 0.5)
    assert "Traceback" not in text
    events = [w["event"] for w in warnings_in(text)]
    assert events == ["request refused", "client connection dropped"], events


# --- 5: the serviceurl claim ------------------------------------------------------------------


async def test_service_url_claim_is_required_and_exact(server: Server) -> None:
    chat = Chat(server, tenant=TENANT)
    peers = server.peers
    no_claim = peers.token(serviceurl=None)
    status, _ = await chat.post(chat.activity(text="help"), token=no_claim)
    assert status == 401
    # Same host and port, another path: a token for one connector endpoint is not another's.
    elsewhere = peers.token(serviceurl=peers.service_url + "other/")
    status, body = await chat.post(chat.activity(text="help"), token=elsewhere)
    assert status == 401 and body["error"] == "serviceUrl does not match the token"
    # Normalization: case of scheme and host, one trailing slash.
    same = peers.token(serviceurl=peers.service_url.upper().replace("/CONNECTOR/", "/connector"))
    status, _ = await chat.post(chat.activity(text="help"), token=same)
    assert status in (200, 202)


def jwt_matrix(server: Server) -> dict[str, str | None]:
    peers = server.peers
    now = int(time.time())
    unsigned = jwt.encode(
        {"iss": ISSUER, "aud": BOT_APP_ID, "exp": now + 60, "serviceurl": peers.service_url},
        "",
        algorithm="none",
        headers={"kid": peers.kid},
    )
    return {
        "missing": None,
        "garbage": "not.a.jwt",
        "alg none": unsigned,
        "hs256": jwt.encode(
            {"iss": ISSUER, "aud": BOT_APP_ID, "exp": now + 60, "serviceurl": peers.service_url},
            "x" * 32,
            algorithm="HS256",
            headers={"kid": peers.kid},
        ),
        "expired": peers.token(exp=now - 3600, nbf=now - 7200),
        "not yet valid": peers.token(nbf=now + 3600),
        "no exp": peers.token(exp=None),
        "wrong audience": peers.token(aud="00000000-0000-0000-0000-000000000000"),
        "wrong issuer": peers.token(iss="https://evil.example.com"),
        "wrong key": peers.token(key=new_key()),
        "unknown kid": peers.token(kid="rotated-away"),
        "missing serviceurl": peers.token(serviceurl=None),
    }


async def test_jwt_matrix(server: Server, db: Db) -> None:
    for case, token in jwt_matrix(server).items():
        chat = Chat(server, tenant=TENANT)
        status, body = await chat.post(chat.activity(text="help"), token=token)
        assert status == 401, (case, body)
        await chat.quiet(0.05)
        assert await TenantStore(db, TENANT).conversations.get(chat.user) is None, case


# --- 6: file consent owner before redeeming -------------------------------------------------


async def test_someone_elses_file_consent_does_not_use_it_up(server: Server, db: Db) -> None:
    victim = Chat(server, tenant=TENANT)
    offer = await offered_file(victim)
    context = offer["content"]["acceptContext"]
    thief = Chat(server, tenant=TENANT)
    await consent_fully(thief)
    name = f"{uuid.uuid4().hex}.zip"
    status, _ = await thief.post(accept_answer(thief, context, name))
    assert status == 200
    [refused] = (await server.peers.wait_replies(thief.conversation, thief.seen + 1))[-1:]
    assert "already used" not in refused["text"]
    assert name not in server.peers.uploads
    audit = await TenantStore(db, TENANT).audit_log.recent(limit=200)
    downloads = [e["outcome"] for e in audit if e["action"] == "export_download"]
    assert "refused: presented by someone else" in downloads and "served" not in downloads
    # The victim's export is still there for the victim.
    mine = f"{uuid.uuid4().hex}.zip"
    status, _ = await victim.post(accept_answer(victim, context, mine))
    assert status == 200
    await server.peers.wait_replies(victim.conversation, victim.seen + 1)
    assert mine in server.peers.uploads
    # And once used, it is gone for good.
    with pytest.raises(LinkRefused):
        await redeem_export_link(db, context["export"], key=SIGNING_KEY.encode())


# --- 8: the admin desk only in personal chat ---------------------------------------------


async def test_admin_desk_is_not_posted_to_a_group(server: Server) -> None:
    admin = Chat(server, tenant=TENANT)
    admin.user = ADMIN
    await consent_fully(admin)
    for kind in ("groupChat", "channel"):
        body = admin.activity(text="admin")
        body["conversation"]["conversationType"] = kind
        status, _ = await admin.post(body)
        assert status in (200, 202)
        [reply] = (await server.peers.wait_replies(admin.conversation, admin.seen + 1))[-1:]
        admin.seen += 1
        assert "personal chat" in reply["text"] and not reply.get("attachments"), kind
    [desk] = await admin.send(1, text="admin")  # in personal chat it opens as before
    assert desk.get("attachments")


# --- 9: /api/v1 tenant enumeration ----------------------------------------------------------


async def test_api_does_not_tell_unregistered_from_disabled(server: Server) -> None:
    peers: EntraPeers = server.peers  # type: ignore[assignment]
    user = str(uuid.uuid4())

    async def get(token: str) -> tuple[int, dict[str, Any]]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{server.url}/api/v1/me/consents", headers={"Authorization": f"Bearer {token}"}
            ) as resp,
        ):
            return resp.status, await resp.json()

    assert (await get(peers.user_token(TENANT, user)))[0] == 200
    stranger = await get(peers.user_token(STRANGER, user))
    disabled = await get(peers.user_token(DISABLED, user))
    assert stranger == disabled == (401, {"error": "tenant not served"})
    # The signature is checked first: a forged token learns nothing about the tenant.
    forged = {
        tid: await get(peers.user_token(tid, user, key=new_key()))
        for tid in (TENANT, STRANGER, DISABLED)
    }
    assert {v for v in map(json.dumps, forged.values())} == {
        json.dumps((401, {"error": "invalid token signature"}))
    }


async def test_api_jwt_matrix(server: Server) -> None:
    peers: EntraPeers = server.peers  # type: ignore[assignment]
    user, now = str(uuid.uuid4()), int(time.time())
    unsigned = jwt.encode(
        {"tid": TENANT, "oid": user, "aud": BOT_APP_ID, "exp": now + 60},
        "",
        algorithm="none",
        headers={"kid": peers.entra_kid},
    )
    cases = {
        "expired": peers.user_token(TENANT, user, exp=now - 3600, nbf=now - 7200),
        "wrong audience": peers.user_token(TENANT, user, aud="api://someone-else"),
        "wrong issuer": peers.user_token(TENANT, user, iss="https://evil.example.com/v2.0"),
        "another tenant's issuer": peers.user_token(
            TENANT, user, iss=f"{peers.authority_host}/{VICTIM_TENANT}/v2.0"
        ),
        "wrong key": peers.user_token(TENANT, user, key=new_key()),
        "alg none": unsigned,
        "app-only": peers.user_token(TENANT, user, scp=None, roles=["x"]),
        "bot connector token": peers.token(),
    }
    async with aiohttp.ClientSession() as session:
        for case, token in cases.items():
            async with session.get(
                f"{server.url}/api/v1/me/consents", headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                assert resp.status == 401, (case, await resp.text())


# --- 10: /metrics -----------------------------------------------------------------------------


async def test_metrics_need_the_token_and_count_unhandled_failures(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{server.url}/metrics") as resp:
            assert resp.status == 401
        async with session.get(
            f"{server.url}/metrics", headers={"Authorization": "Bearer wrong"}
        ) as resp:
            assert resp.status == 401
        async with session.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        ) as resp:
            assert resp.status == 200
            assert "juno_http_unhandled_errors_total" in await resp.text()


async def test_unhandled_failures_are_counted_and_quiet() -> None:
    """The metrics middleware in front of a route that raises: a JSON 500 that says nothing
    about the cause, counted in /metrics, which is loopback-only without a token."""
    from typing import cast

    from aiohttp import web
    from aiohttp.test_utils import TestClient, TestServer

    from juno.logs import get_logger
    from juno.metrics import Metrics
    from juno.web import STATE, ServiceState, build_app

    state = ServiceState(db=cast(Any, None), metrics=Metrics(), log=get_logger("test"))
    app = build_app(state)

    async def broken(_: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_get("/broken", broken)
    assert app[STATE] is state
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/broken")
        assert resp.status == 500 and await resp.json() == {"error": "internal error"}
        metrics = await (await client.get("/metrics")).text()
        assert 'juno_http_unhandled_errors_total{path="/broken"} 1' in metrics
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert proxied.status == 403


# --- 12: the scoping wrapper ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "args"),
    [
        ("update_one", ({}, {"$rename": {"display_name": "tenant_id"}})),
        ("update_one", ({}, {"$rename": {"tenant_id": "was_tenant"}})),
        ("update_many", ({}, {"$unset": {"tenant_id.sub": ""}})),
        ("update_one", ({}, [{"$set": {"tenant_id": "other"}}])),
        ("find", ({"$and": [{"$where": "sleep(1000)"}]},)),
        ("count", ({"$or": [{"a": 1}, {"$expr": {"$function": {"body": "x", "args": []}}}]},)),
        (
            "aggregate",
            ([{"$group": {"_id": 1, "x": {"$accumulator": {"init": "function(){}"}}}}],),
        ),
        ("aggregate", ([{"$merge": {"into": "elsewhere"}}],)),
    ],
)
async def test_scoping_wrapper_blocks_cross_tenant_operators(
    db: Db, operation: str, args: tuple[Any, ...]
) -> None:
    from storage.errors import TenantScopeViolation
    from storage.scoped import TenantCollection

    coll = TenantCollection(db["scope_probe"], TENANT)
    with pytest.raises(TenantScopeViolation):
        await getattr(coll, operation)(*args)


# --- 14: starting while Entra is unreachable -----------------------------------------------


def test_serve_starts_and_tells_the_truth_while_entra_is_unreachable(
    mongo_uri: str, tmp_path: Path
) -> None:
    closed = free_port()  # nothing listens there
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=f"sec_{uuid.uuid4().hex[:10]}",
        JUNO_PORT=str(port),
        JUNO_BOT_APP_ID=BOT_APP_ID,
        JUNO_BOT_APP_SECRET=BOT_SECRET,
        JUNO_BOT_OPENID_METADATA_URL=f"http://127.0.0.1:{closed}/openid",
        JUNO_AUTHORITY_HOST=f"https://127.0.0.1:{closed}",
        JUNO_RETENTION_JOB="0",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [JUNO, "serve"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err
        )
    url = f"http://127.0.0.1:{port}"

    async def probe() -> None:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()[-2000:]
                try:
                    async with session.get(f"{url}/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "healthz never answered"
                await asyncio.sleep(0.2)
            async with session.get(f"{url}/readyz") as resp:
                assert resp.status == 503
                missing = " ".join((await resp.json())["missing"])
            assert "bot signing keys" in missing and "bot outbound token" in missing
            token = jwt.encode(
                {"iss": ISSUER, "aud": BOT_APP_ID, "exp": int(time.time()) + 60},
                new_key(),
                algorithm="RS256",
                headers={"kid": "k"},
            )
            async with session.post(
                f"{url}/api/messages", json={}, headers={"Authorization": f"Bearer {token}"}
            ) as resp:
                assert resp.status == 503 and resp.headers.get("Retry-After")

    try:
        asyncio.run(probe())
        assert proc.poll() is None  # still serving
    finally:
        stop(proc)
    text = log.read_text()
    assert proc.returncode == 0 and "Traceback" not in text, text[-2000:]


def test_replies_fail_quietly_while_only_the_token_authority_is_down(
    mongo_uri: str, tmp_path: Path
) -> None:
    """Bot Framework keys reachable, Entra's token endpoint not: the bot keeps taking
    activities, each reply is tried and then given up with one warning (no traceback), and
    /readyz names the outbound token, not the signing keys."""
    peers = EntraPeers()
    peers.start()
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=f"sec_{uuid.uuid4().hex[:10]}",
        JUNO_PORT=str(port),
        JUNO_BOT_APP_ID=BOT_APP_ID,
        JUNO_BOT_APP_SECRET=BOT_SECRET,
        JUNO_BOT_OPENID_METADATA_URL=peers.metadata_url,
        JUNO_BOT_VALIDATE_SERVICE_URL="0",
        JUNO_AUTHORITY_HOST=f"https://127.0.0.1:{free_port()}",
        JUNO_RETENTION_JOB="0",
    )
    log = LogFile(tmp_path / "serve.log")
    with log.path.open("w") as err:
        proc = subprocess.Popen(
            [JUNO, "serve"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err
        )
    url = f"http://127.0.0.1:{port}"
    fake = BotServer(url, peers, "", proc, env, tmp_path)  # type: ignore[arg-type]

    async def attack() -> None:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.path.read_text()[-2000:]
                try:
                    async with session.get(f"{url}/readyz") as resp:
                        body = await resp.json()
                        found = str(body)
                        if "bot outbound token" in found and "bot signing keys" not in found:
                            break
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, "readyz never answered"
                await asyncio.sleep(0.2)
        assert resp.status == 503
        chat = Chat(fake, tenant=STRANGER)
        status, answer = await chat.post(chat.activity(text="help"))
        assert status == 503 and "try again later" in answer["error"]

    try:
        asyncio.run(attack())
        text = log.since(0, settle=0.5)
        assert proc.poll() is None
    finally:
        stop(proc)
        peers.stop()
    assert "Traceback" not in text, text[-3000:]
    events = [w["event"] for w in warnings_in(text)]
    assert "reply not delivered" in events, events
