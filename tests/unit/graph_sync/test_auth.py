"""App-only tokens through real msal against a local HTTPS authority (trustme CA), used by the
real transport against the fake Graph, which accepts only tokens that authority issued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.auth import AppCredentials, MsalTokenProvider
from graph_sync.clients import GraphClients
from graph_sync.errors import TokenError
from graph_sync.lease import Holder
from graph_sync.runner import sync_tenant
from graph_sync.state import StateStore
from storage.repositories import GraphCredentials, TenantRecord
from tests.support.fake_graph import FakeGraph, populate
from tests.support.graph_authority import App, FakeAuthority
from tests.support.graph_helpers import FAST, TENANT, Erasures, assert_converged, register

Db = AsyncDatabase[dict[str, Any]]
CLIENT = "0d5f4d0a-3b3c-4a53-9d39-6f7d7a6f6c11"
SECRET = "s3cr3t-Value~With.Chars"


@pytest.fixture
async def authority(tmp_path: Path) -> AsyncIterator[FakeAuthority]:
    server = FakeAuthority(tenants={TENANT}, apps={CLIENT: App(CLIENT, secret=SECRET)})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def fake(authority: FakeAuthority) -> AsyncIterator[FakeGraph]:
    server = FakeGraph(page_size=10, token=None, accept_tokens=set())
    server.tokens = authority.issued  # only what the authority issued opens the door
    server.check_auth = True
    await server.start()
    yield server
    await server.stop()


def clients(authority: FakeAuthority, fake: FakeGraph, tmp: Path, **env: str) -> GraphClients:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    session.verify = str(authority.write_ca(tmp / "ca.pem"))
    return GraphClients(
        authority_host=authority.base,
        graph_base_url=fake.base,
        retry=FAST,
        environ={"CONTOSO_GRAPH_SECRET": SECRET, **env},
        msal_http_client=session,
    )


async def sync(db: Db, make: GraphClients, record: TenantRecord) -> Any:
    source = make(record)
    try:
        return await sync_tenant(
            db, record.tenant_id, source, Erasures(db), holder=Holder.here("t")
        )
    finally:
        await source.aclose()


async def test_secret_credential_token_is_cached_per_tenant(
    db: Db, authority: FakeAuthority, fake: FakeGraph, tmp_path: Path
) -> None:
    record = await register(
        db, graph=GraphCredentials(client_id=CLIENT, client_secret_env="CONTOSO_GRAPH_SECRET")
    )
    populate(fake.directory, 25)
    make = clients(authority, fake, tmp_path)
    first = await sync(db, make, record)
    second = await sync(db, make, record)
    assert (first.pages, second.mode) == (3, "incremental")
    assert authority.token_requests == 1  # one token for both runs and every page
    await assert_converged(db, fake.directory)


async def test_certificate_credential(
    db: Db, authority: FakeAuthority, fake: FakeGraph, tmp_path: Path
) -> None:
    pem = authority.client_pem()
    authority.apps[CLIENT].certificate_pem = pem
    path = tmp_path / "app.pem"
    path.write_bytes(pem)
    record = await register(
        db, graph=GraphCredentials(client_id=CLIENT, certificate_path=str(path))
    )
    populate(fake.directory, 5)
    stats = await sync(db, clients(authority, fake, tmp_path), record)
    assert stats.created == 5


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("wrong-secret", "invalid_client (AADSTS7000215: Invalid client secret provided."),
        ("missing-env", "environment variable MISSING_SECRET (the Graph client secret) is not set"),
        ("no-consent", "unauthorized_client (AADSTS700016"),
        ("unknown-tenant", "rejected the tenant or the credential"),
        ("bad-certificate", "has no private key"),
    ],
)
async def test_token_failures_are_one_line_per_tenant(
    db: Db,
    authority: FakeAuthority,
    fake: FakeGraph,
    tmp_path: Path,
    case: str,
    expected: str,
) -> None:
    graph = GraphCredentials(client_id=CLIENT, client_secret_env="CONTOSO_GRAPH_SECRET")
    env: dict[str, str] = {}
    if case == "wrong-secret":
        env["CONTOSO_GRAPH_SECRET"] = "not-the-secret"
    elif case == "missing-env":
        graph = GraphCredentials(client_id=CLIENT, client_secret_env="MISSING_SECRET")
    elif case == "no-consent":
        authority.apps[CLIENT].consented = False
    elif case == "unknown-tenant":
        authority.tenants.clear()
    else:
        cert_only = tmp_path / "cert.pem"
        cert_only.write_bytes(authority.client_pem().split(b"PRIVATE KEY-----\n")[-1])
        graph = GraphCredentials(client_id=CLIENT, certificate_path=str(cert_only))
    record = await register(db, graph=graph)
    populate(fake.directory, 3)
    with pytest.raises(TokenError) as caught:
        await sync(db, clients(authority, fake, tmp_path, **env), record)
    message = str(caught.value)
    assert message.startswith(f"tenant {TENANT}: ") and expected in message
    assert "\n" not in message and "Trace ID" not in message
    assert SECRET not in message and "not-the-secret" not in message
    last = (await StateStore(db, TENANT).load()).last_run
    assert last is not None and last["status"] == "failed" and last["error"] == message
    assert fake.requests == []  # nothing reached Graph without a token


async def test_tokens_go_only_to_the_graph_host_over_https() -> None:
    provider = MsalTokenProvider(
        AppCredentials(TENANT, CLIENT, client_secret_env="X"),
        authority_host="https://login.microsoftonline.com",
        graph_base_url="https://graph.microsoft.com/v1.0",
        environ={},
    )
    assert provider.scope == "https://graph.microsoft.com/.default"
    # No credential lookup happens for these: they are refused before any token is sought.
    assert await provider.get_authorization_token("https://attacker.example/v1.0/users") == ""
    assert await provider.get_authorization_token("http://graph.microsoft.com/v1.0/users") == ""
    us = MsalTokenProvider(
        AppCredentials(TENANT, CLIENT, client_secret_env="X"),
        authority_host="https://login.microsoftonline.us",
        graph_base_url="https://graph.microsoft.us/v1.0",
        environ={},
    )
    assert us.scope == "https://graph.microsoft.us/.default"
    assert us.authority == f"https://login.microsoftonline.us/{TENANT}"
