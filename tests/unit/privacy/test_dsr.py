"""The data-subject request queue: deadlines, ordering, transitions, and erasure on approval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from privacy.dsr import (
    DsrError,
    DsrRequest,
    DsrStatus,
    DsrType,
    add_one_month,
    approve,
    complete,
    due_date,
    get_request,
    list_requests,
    open_request,
    reject,
    request_erasure,
    request_rectification,
    requests_of,
)
from privacy.strategies import keyed_hash
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import NOW, Db, record_kpis, register

TENANT = "aaaaaaaa-0000-0000-0000-00000000c001"
ANN = "11111111-0000-0000-0000-00000000c001"
BOB = "22222222-0000-0000-0000-00000000c002"
ADMIN = "33333333-0000-0000-0000-00000000c003"
PSN = keyed_hash(b"dsr-key", TENANT)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("created", "due"),
    [
        ("2027-01-31T10:00", "2027-02-28T10:00"),  # one month ends sooner than 30 days
        ("2028-01-31T10:00", "2028-02-29T10:00"),  # leap year
        ("2027-02-01T10:00", "2027-03-01T10:00"),  # February: a month is 28 days
        ("2027-03-01T10:00", "2027-03-31T10:00"),  # 30 days ends before one month
        ("2027-04-10T10:00", "2027-05-10T10:00"),  # both agree
        ("2027-12-15T10:00", "2028-01-14T10:00"),  # across the year
    ],
)
def test_the_deadline_is_the_earlier_of_30_days_and_one_month(created: str, due: str) -> None:
    assert due_date(at(created)) == at(due)


def test_one_month_clamps_to_the_end_of_the_month() -> None:
    assert add_one_month(at("2027-08-31T00:00")) == at("2027-09-30T00:00")
    assert add_one_month(at("2027-12-31T23:59")) == at("2028-01-31T23:59")


async def test_overdue_requests_are_listed_first(db: Db) -> None:
    store = TenantStore(db, TENANT)
    fresh = await open_request(store, ANN, DsrType.ACCESS, now=NOW - timedelta(days=2))
    late = await open_request(store, BOB, DsrType.ERASURE, now=NOW - timedelta(days=40))
    later = await open_request(store, BOB, DsrType.ACCESS, now=NOW - timedelta(days=35))
    done = await open_request(store, ANN, DsrType.RECTIFICATION, details="x", now=NOW)
    await complete(store, done.id, decided_by="admin", now=NOW)
    listed = await list_requests(store, now=NOW)
    assert [r.id for r in listed] == [late.id, later.id, fresh.id, done.id]
    assert [r.overdue(NOW) for r in listed] == [True, True, False, False]
    assert late.days_left(NOW) < 0 < fresh.days_left(NOW)
    only_open = await list_requests(store, status=DsrStatus.OPEN, now=NOW)
    assert {r.id for r in only_open} == {late.id, later.id, fresh.id}


async def test_asking_again_returns_the_open_request(db: Db) -> None:
    store = TenantStore(db, TENANT)
    first = await request_erasure(store, ANN, now=NOW)
    again = await request_erasure(store, ANN, now=NOW + timedelta(days=1))
    assert again.id == first.id and again.due_at == due_date(NOW)
    assert [r.id for r in await requests_of(store, ANN)] == [first.id]
    with pytest.raises(DsrError, match="what should be corrected"):
        await request_rectification(store, ANN, "  ")


async def test_approving_an_erasure_erases_and_completes(db: Db) -> None:
    await register(db, TENANT, removal_mode="delete_all", admins=(ADMIN,))
    store = TenantStore(db, TENANT)
    await store.profiles.upsert_many([{"user_id": ANN, "display_name": "Ann"}])
    await record_kpis(db, TENANT, ANN, ["search"])
    await store.conversations.put(ANN, {"user_id": ANN, "reference": {"id": "c"}})
    request = await request_erasure(store, ANN, details="please forget me", now=NOW)
    told: list[DsrRequest] = []

    async def tell(req: DsrRequest) -> None:
        # The bot's chance to message the user: their conversation reference still exists.
        assert await store.conversations.get(ANN) is not None
        told.append(req)

    done = await approve(store, request.id, decided_by=ADMIN, pseudonym=PSN, before_erasure=tell)
    assert [r.user_id for r in told] == [ANN]
    assert done.status is DsrStatus.COMPLETED and done.user_id == ANN  # who to tell
    assert done.decided_by == ADMIN and done.closed_at is not None
    assert await store.profiles.get(ANN) is None
    assert await store.kpi_events.for_user(ANN) == []
    stored = await get_request(store, request.id)
    assert stored.user_id == PSN(ANN) and stored.details == PSN(ANN)
    with pytest.raises(DsrError, match="already completed"):
        await approve(store, request.id, decided_by=ADMIN, pseudonym=PSN)
    audit = await store.collections[Coll.AUDIT_LOG].find({"actor": ADMIN})
    assert [a["outcome"] for a in audit] == ["approved", "completed"]
    assert ANN not in repr(await store.collections[Coll.DESTRUCTION_LOG].find({}))
    assert await undeclared(db) == []


async def test_reject_and_complete_follow_the_lifecycle(db: Db) -> None:
    store = TenantStore(db, TENANT)
    access = await open_request(store, ANN, DsrType.ACCESS, now=NOW)
    with pytest.raises(DsrError, match="reason"):
        await reject(store, access.id, decided_by=ADMIN, reason=" ")
    rejected = await reject(store, access.id, decided_by=ADMIN, reason="not an employee")
    assert rejected.status is DsrStatus.REJECTED and rejected.closed_at is not None
    with pytest.raises(DsrError, match="only open requests"):
        await reject(store, access.id, decided_by=ADMIN, reason="again")
    with pytest.raises(DsrError, match="already rejected"):
        await complete(store, access.id, decided_by=ADMIN)

    fix = await request_rectification(store, BOB, "my title is wrong", now=NOW)
    approved = await approve(store, fix.id, decided_by=ADMIN, pseudonym=PSN)
    assert approved.status is DsrStatus.APPROVED
    done = await complete(store, fix.id, decided_by=ADMIN, note="fixed in Entra ID")
    assert (done.status, done.note) == (DsrStatus.COMPLETED, "fixed in Entra ID")

    erasure = await request_erasure(store, BOB)
    with pytest.raises(DsrError, match="completed by approving"):
        await complete(store, erasure.id, decided_by=ADMIN)
    with pytest.raises(DsrError, match="no request"):
        await get_request(store, "rnothere")
    assert await undeclared(db) == []
