"""A person also lives in other people's records: erasing them leaves no id, e-mail or name
there, in any removal mode.

The records are written by the product's own functions (requests decided by an admin, an
access review, a published notice, consents, conversations, usage counts, the org chart), so a
new place that starts naming someone else shows up here. After erasing a manager, an admin, a
reviewer or a requester, every collection is scanned: the person may only remain in their
*own* records of stores the mode keeps as they are (under `directory_only`), never in anyone
else's record and never in the destruction log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.access import record_review
from privacy.consent import ConsentAction, Kind, builtin, publish, record
from privacy.datamap import DATA_MAP
from privacy.dsr import DsrType, approve, complete, open_request
from privacy.erasure import erase_user
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode
from privacy.strategies import keyed_hash
from storage.collections import Coll
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.erasure_oracle import holds
from tests.support.privacy_seed import record_kpis, register

Db = AsyncDatabase[dict[str, Any]]
TENANT = "abababab-0000-4000-8000-000000000001"
PSN = keyed_hash(b"references-test-key", TENANT)
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

PEOPLE = {
    "manager": ("10000000-0000-4000-8000-00000000000a", "Mehmet Yöneticioğlu"),
    "admin": ("20000000-0000-4000-8000-00000000000b", "Selin Karayönetir"),
    "reviewer": ("30000000-0000-4000-8000-00000000000c", "Işıl Denetçioğlu"),
    "requester": ("40000000-0000-4000-8000-00000000000d", "Rıza Talepçioğlu"),
    "report": ("50000000-0000-4000-8000-00000000000e", "Ayla Raportör"),
}


def mail_of(name: str) -> str:
    return name.split()[0].lower().replace("ı", "i").replace("ş", "s") + "@contoso.example"


async def seed(db: Db) -> TenantStore:
    ids = {role: uid for role, (uid, _) in PEOPLE.items()}
    await register(db, TENANT, admins=(ids["admin"], ids["reviewer"]))
    store = TenantStore(db, TENANT)
    for role, (uid, name) in PEOPLE.items():
        given, surname = name.split()
        await store.profiles.upsert_many(
            [
                {
                    "user_id": uid,
                    "given_name": given,
                    "surname": surname,
                    "display_name": name,
                    "mail": mail_of(name),
                    "manager_id": ids["manager"] if role != "manager" else None,
                }
            ]
        )
        for doc, action in (
            (Kind.NOTICE, ConsentAction.ACKNOWLEDGED),
            (Kind.EULA, ConsentAction.ACCEPTED),
        ):
            await record(
                store, user_id=uid, document=builtin(doc), action=action, locale="tr",
                conversation_id=f"a:{uid}", activity_id=f"act-{uid[:8]}",
            )  # fmt: skip
        await store.conversations.put(
            uid,
            {
                "user_id": uid,
                "reference": {"user": {"id": f"29:{uid}", "aadObjectId": uid, "name": name}},
                "locale": "tr",
                "updated_at": NOW,
            },
        )
        await record_kpis(db, TENANT, uid, ["search", "profile"], NOW)
    # The admin decides the requester's requests and publishes the notice; the reviewer reviews.
    access = await open_request(store, ids["requester"], DsrType.ACCESS, now=NOW)
    await complete(store, access.id, decided_by=ids["admin"], note="sent by e-mail", now=NOW)
    fix = await open_request(
        store, ids["requester"], DsrType.RECTIFICATION, details="Unvan", now=NOW
    )
    await approve(store, fix.id, decided_by=ids["admin"], pseudonym=PSN, now=NOW)
    await publish(
        store, Kind.NOTICE, {"tr": "Aydınlatma s2", "en": "Notice v2"}, published_by=ids["admin"]
    )
    await record_review(store, reviewer=ids["reviewer"], now=NOW)
    return store


def own_and_kept(coll: str, doc: dict[str, Any], uid: str, mode: RemovalMode) -> bool:
    """Whether `doc` is the person's own record in a store the mode keeps unchanged."""
    decl = DATA_MAP[Coll(coll)]
    action = RemovalPolicy(mode, {}).plan().get(decl.collection)
    kept = action is None or action.strategy == "keep"
    return kept and decl.subject_key is not None and holds(doc, decl.subject_key, uid)


@pytest.mark.parametrize("mode", list(RemovalMode))
@pytest.mark.parametrize("role", ["manager", "admin", "reviewer", "requester"])
async def test_erasing_leaves_nothing_in_other_peoples_records(
    db: Db, role: str, mode: RemovalMode
) -> None:
    store = await seed(db)
    uid, name = PEOPLE[role]
    await erase_user(store, uid, mode, reason="test", pseudonym=PSN)
    traces = (uid, mail_of(name), *name.split())
    left = []
    for coll in await db.list_collection_names():
        for doc in await db[coll].find({}).to_list(None):
            if coll == Coll.DESTRUCTION_LOG.value or not own_and_kept(coll, doc, uid, mode):
                left += [f"{coll}: {t!r} in {doc}" for t in traces if t in repr(doc)]
    assert left == []
    report = await store.profiles.get(PEOPLE["report"][0])
    assert report is not None and report.get("manager_id") == (
        None if role == "manager" else PEOPLE["manager"][0]
    )
    assert await undeclared(db) == []


async def test_references_are_pseudonymized_consistently(db: Db) -> None:
    """The admin's decisions keep pointing at one (pseudonymous) decider, the same pseudonym
    as their own retained audit entries: accountability survives, the identity does not."""
    store = await seed(db)
    admin = PEOPLE["admin"][0]
    await erase_user(store, admin, RemovalMode.DELETE_ALL, reason="test", pseudonym=PSN)
    decided = {d.get("decided_by") for d in await store.dsr_requests.find({})}
    assert decided == {PSN(admin)}
    log = await store.destruction_log.recent(limit=50)
    by_ref = {(e["store"], e.get("reference")): e["records"] for e in log}
    assert by_ref[("dsr_requests", "decided_by")] == 2
    assert all(PSN(admin) not in repr(e) for e in log)
