"""Signed export links: one user, one tenant, one download, within 24 hours; anything else is
refused with 404 or 410 and a reason."""

from __future__ import annotations

from datetime import timedelta

import pytest

from privacy.links import LINK_PREFIX, MAX_TTL, LinkRefused, create_export_link, redeem_export_link
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db

TENANT = "aaaaaaaa-0000-0000-0000-0000000000f1"
OTHER_TENANT = "bbbbbbbb-0000-0000-0000-0000000000f2"
ALICE = "11111111-0000-0000-0000-0000000000f1"
BOB = "22222222-0000-0000-0000-0000000000f2"
KEY = b"k" * 32
ZIP = b"PK\x03\x04 alice's export"


def token_of(path: str) -> str:
    assert path.startswith(LINK_PREFIX)
    return path[len(LINK_PREFIX) :]


async def refused(db: Db, token: str, status: int, **kw: object) -> str:
    with pytest.raises(LinkRefused) as info:
        await redeem_export_link(db, token, key=KEY, **kw)  # type: ignore[arg-type]
    assert info.value.status == status, info.value.reason
    return info.value.reason


async def test_a_link_serves_once_then_is_used_up(db: Db) -> None:
    store = TenantStore(db, TENANT)
    path = await create_export_link(store, ALICE, ZIP, key=KEY, filename="x.zip", now=NOW)
    token = token_of(path)
    assert ALICE not in path  # the user id never travels in the URL
    got = await redeem_export_link(db, token, key=KEY, now=NOW + timedelta(hours=1))
    assert (got.zip_bytes, got.filename, got.user_id, got.tenant_id) == (
        ZIP,
        "x.zip",
        ALICE,
        TENANT,
    )
    assert "already used" in await refused(db, token, 410, now=NOW + timedelta(hours=2))
    [doc] = await store.exports.find({})
    assert "zip" not in doc and doc["used_at"] is not None  # the file is gone
    audit = await store.collections[Coll.AUDIT_LOG].find({"actor": ALICE})
    outcomes = [e["outcome"] for e in audit]
    assert "served" in outcomes and "refused: already used" in outcomes
    assert await undeclared(db) == []


async def test_links_expire_within_24_hours(db: Db) -> None:
    store = TenantStore(db, TENANT)
    token = token_of(
        await create_export_link(store, ALICE, ZIP, key=KEY, now=NOW, ttl=timedelta(days=7))
    )
    [doc] = await store.exports.find({})
    assert doc["expires_at"] - doc["created_at"] <= MAX_TTL
    late = NOW + MAX_TTL + timedelta(seconds=1)
    assert "expired" in await refused(db, token, 410, now=late)
    [doc] = await store.exports.find({})
    assert "zip" not in doc  # an expired export is removed at once, not only by the sweep


async def test_tampered_links_are_refused(db: Db) -> None:
    store = TenantStore(db, TENANT)
    token = token_of(await create_export_link(store, ALICE, ZIP, key=KEY, now=NOW))
    tenant, export_id, exp, sig = token.split(".")
    later = str(int(exp) + 86_400)
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    for bad in (
        f"{tenant}.{export_id}.{later}.{sig}",  # extended expiry
        f"{tenant}.{export_id}.{exp}.{flipped}",  # forged signature
    ):
        assert await refused(db, bad, 404, now=NOW) == "invalid link"
    for unknown in (
        f"{OTHER_TENANT}.{export_id}.{exp}.{sig}",  # another tenant
        f"{tenant}.{'x' * 24}.{exp}.{sig}",  # another export
        "not-a-token",
        "",
    ):
        assert await refused(db, unknown, 404, now=NOW) == "unknown link"
    with pytest.raises(LinkRefused):
        await redeem_export_link(db, token, key=b"another key entirely" * 2, now=NOW)
    # After all that, the real link still works: refusals never consume it.
    assert (await redeem_export_link(db, token, key=KEY, now=NOW)).zip_bytes == ZIP


async def test_a_link_opens_only_its_own_users_export(db: Db) -> None:
    store = TenantStore(db, TENANT)
    alice = token_of(await create_export_link(store, ALICE, ZIP, key=KEY, now=NOW))
    bob = token_of(await create_export_link(store, BOB, b"PK bob", key=KEY, now=NOW))
    a_tenant, a_export, a_exp, a_sig = alice.split(".")
    _, b_export, b_exp, b_sig = bob.split(".")
    # Bob's signature on Alice's export (and the reverse) does not verify.
    assert await refused(db, f"{a_tenant}.{a_export}.{b_exp}.{b_sig}", 404, now=NOW)
    assert await refused(db, f"{a_tenant}.{b_export}.{a_exp}.{a_sig}", 404, now=NOW)
    assert (await redeem_export_link(db, bob, key=KEY, now=NOW)).user_id == BOB
    assert (await redeem_export_link(db, alice, key=KEY, now=NOW)).user_id == ALICE
    log = await store.collections[Coll.AUDIT_LOG].find({})
    assert all(token_part not in str(log) for token_part in (a_sig, b_sig))


async def test_oversized_exports_are_refused_before_storing(db: Db) -> None:
    store = TenantStore(db, TENANT)
    with pytest.raises(ValueError, match="too large"):
        await create_export_link(store, ALICE, b"0" * (16 * 1024 * 1024), key=KEY)
    assert await store.exports.count() == 0
