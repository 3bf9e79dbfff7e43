"""Schemathesis fuzzes the /api/v1 API from the OpenAPI document the running service serves.

`juno serve` runs as a real subprocess, tokens are checked in full against the local Entra-style
authority from tests/unit/juno/test_api.py, and the schema is loaded over HTTP from the live
server, so what is fuzzed is what a client sees. Every generated case goes through
schemathesis's built-in checks (no 5xx, documented status codes, content types, headers and
bodies that match the document, unsupported methods refused, declared auth enforced), once with
a valid user token and once without one, where every operation that declares security must
answer 401."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient
from schemathesis import APIOperation, AuthContext, BaseSchema, GenerationMode
from schemathesis import Case as AnyCase
from schemathesis.auths import AuthStorage

from juno.api.openapi import OPENAPI
from storage import migrate
from tests.support.api_authority import ANN, APP_ID, SIGNING_KEY, Authority, seed
from tests.support.processes import JUNO, base_env, free_port, wait_ready

Case = AnyCase[APIOperation[Any, Any, Any, Any]]
EXAMPLES = 25  # per operation and test: enough to find shape errors, bounded for CI


async def _seed(uri: str, name: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    try:
        await migrate(client[name])
        await seed(client[name])
    finally:
        await client.close()


@pytest.fixture(scope="module")
def authority() -> Iterator[Authority]:
    server = Authority()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(
    mongo_uri: str, authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of a `juno serve` whose API knows the test tenants."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_seed(mongo_uri, name))
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri,
        JUNO_DB_NAME=name,
        JUNO_PORT=str(port),
        JUNO_AUTHORITY_HOST=authority.url,
        JUNO_API_AUDIENCE=APP_ID,
        JUNO_SIGNING_KEY=SIGNING_KEY,
    )
    cwd: Path = tmp_path_factory.mktemp("serve")
    # The log goes to a file: a pipe nobody reads fills up after a few hundred requests and
    # then blocks the server's event loop on its next log line.
    with (cwd / "serve.log").open("w+", encoding="utf-8") as log:
        proc = subprocess.Popen(
            [JUNO, "serve"], env=env, cwd=cwd, stdout=log, stderr=log, text=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_ready(base, proc)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.seek(0)
            output = log.read()
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def api_schema(served: str) -> BaseSchema:
    return schemathesis.openapi.from_url(f"{served}/api/v1/openapi.json", timeout=10)


# Operations as the source describes them; test_api checks the served document equals it, and
# each test looks its operation up in the schema loaded from the live server.
OPERATIONS = [(path, method.upper()) for path, ops in OPENAPI["paths"].items() for method in ops]
MODES = list(GenerationMode)


def cases(
    schema: BaseSchema, path: str, method: str, auth: AuthStorage[str] | None = None
) -> st.SearchStrategy[Case]:
    """Schema-conforming and schema-violating requests for one operation. With `auth`,
    schemathesis knows the credentials are real and never generates (or breaks) them."""
    operation = schema[path][method]
    return st.one_of(*(operation.as_strategy(generation_mode=m, auth_storage=auth) for m in MODES))


def user_token(authority: Authority) -> AuthStorage[str]:
    """Ann's Entra access token on every case, fresh each time."""
    storage: AuthStorage[str] = AuthStorage()

    class UserToken:
        def get(self, case: Case, ctx: AuthContext, /) -> str:
            return authority.token(oid=ANN)

        def set(self, case: Case, data: str, ctx: AuthContext, /) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    storage.auth(refresh_interval=None)(UserToken)
    return storage


def fuzz(strategy: st.SearchStrategy[Case], test: Callable[[Case], None]) -> None:
    """Run `test` on up to EXAMPLES generated cases. Schemathesis's pytest integration
    (`schemathesis.pytest.from_fixture`) cannot be used: it sets a pytest-internal attribute
    that pytest 9.2 no longer has, and the schema can only be loaded once the server runs."""
    settings(max_examples=EXAMPLES, deadline=None, database=None)(given(case=strategy)(test))()


def without_auth(case: Case) -> Case:
    case.headers.pop("Authorization", None)  # case-insensitive: any spelling of it
    return case


def secured(schema: BaseSchema, path: str, method: str) -> bool:
    declared = schema.raw_schema["paths"][path][method.lower()].get("security")
    return bool(schema.raw_schema.get("security") if declared is None else declared)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_api_with_a_valid_token(
    api_schema: BaseSchema, authority: Authority, path: str, method: str
) -> None:
    def check(case: Case) -> None:
        case.call_and_validate(timeout=30)

    fuzz(cases(api_schema, path, method, user_token(authority)), check)


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_api_without_a_token(api_schema: BaseSchema, path: str, method: str) -> None:
    must_refuse = secured(api_schema, path, method)

    def check(case: Case) -> None:
        response = without_auth(case).call_and_validate(timeout=30)
        if must_refuse:
            assert response.status_code == 401, (case.formatted_path, response.text)

    fuzz(cases(api_schema, path, method), check)
