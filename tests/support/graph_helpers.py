"""Shared pieces of the Graph sync tests: a static bearer token, fast retry settings, a source
pointed at the fake Graph, and the convergence check (MongoDB equals the fake directory)."""

from __future__ import annotations

from typing import Any

from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from pymongo.asynchronous.database import AsyncDatabase

from graph_sync.source import GraphDeltaSource
from graph_sync.transport import GraphTransport, RetryPolicy
from storage.repositories import TenantRecord, TenantRegistry
from tests.support.fake_graph import FakeDirectory, FakeGraph

TENANT = "aaaaaaaa-1111-4222-8333-444444444444"
TOKEN = "test-token"
FAST = RetryPolicy(
    attempts=4,
    base_delay=0.01,
    max_delay=0.05,
    throttle_retries=3,
    throttle_base_delay=0.0,
    connect_timeout=5.0,
    read_timeout=10.0,
)


class StaticTokenProvider(AccessTokenProvider):
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls = 0

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        self.calls += 1
        return self.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def source_for(fake: FakeGraph, retry: RetryPolicy = FAST, token: str = TOKEN) -> GraphDeltaSource:
    return GraphDeltaSource(GraphTransport(StaticTokenProvider(token), retry=retry), fake.base)


async def register(
    db: AsyncDatabase[dict[str, Any]], tenant_id: str = TENANT, **fields: Any
) -> TenantRecord:
    record = TenantRecord(tenant_id=tenant_id, name="Contoso", **fields)
    return await TenantRegistry(db).add(record)


async def profiles(
    db: AsyncDatabase[dict[str, Any]], tenant_id: str = TENANT
) -> list[dict[str, Any]]:
    return await db["profiles"].find({"tenant_id": tenant_id}).to_list(None)


async def assert_converged(
    db: AsyncDatabase[dict[str, Any]], directory: FakeDirectory, tenant_id: str = TENANT
) -> None:
    """MongoDB holds exactly the directory: one profile per user, same values, no extras."""
    docs = await profiles(db, tenant_id)
    ids = [d["user_id"] for d in docs]
    assert len(ids) == len(set(ids)), "duplicate profiles"
    expected = directory.expected_profiles()
    missing, extra = set(expected) - set(ids), set(ids) - set(expected)
    assert not missing and not extra, f"missing {sorted(missing)[:5]}, extra {sorted(extra)[:5]}"
    by_id = {d["user_id"]: d for d in docs}
    for uid, fields in expected.items():
        got = {k: by_id[uid].get(k) for k in fields}
        assert got == fields, f"{uid}: {got} != {fields}"


class Erasures:
    """An `on_deleted` that records calls and deletes the profile (as every removal mode does),
    for tests that are about the engine rather than about privacy.erasure."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.db = db
        self.calls: list[tuple[str, str, str]] = []

    async def __call__(self, tenant_id: str, user_id: str, reason: str) -> int:
        self.calls.append((tenant_id, user_id, reason))
        result = await self.db["profiles"].delete_many({"tenant_id": tenant_id, "user_id": user_id})
        return result.deleted_count
