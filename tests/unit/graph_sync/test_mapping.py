"""What a full round writes, against what the data map declares for profiles."""

from __future__ import annotations

from datetime import UTC, datetime

from graph_sync.mapping import plan_page
from graph_sync.models import GraphUser, ManagerRef
from privacy.datamap import DATA_MAP, SYSTEM_FIELDS
from storage.collections import Coll
from storage.repositories import ProfilesCollection, ProfilesRepo
from storage.repositories.profiles import SYNC_FOREIGN

T = "aaaaaaaa-1111-4222-8333-444444444444"


class _NoCollection:
    name = "profiles"


def test_a_full_round_writes_every_declared_field_but_the_foreign_ones() -> None:
    """A full round's upserts replace whole profiles that hold no `SYNC_FOREIGN` field: so they
    must carry every other declared field, or a replacement would drop one the `$set` kept."""
    profiles = ProfilesRepo(ProfilesCollection(_NoCollection(), T))  # type: ignore[arg-type]
    users = [
        GraphUser(id="u1", display_name="Ann", manager_delta=[ManagerRef("m")]),
        GraphUser(id="u2", display_name="Bo"),  # no manager@delta: "no manager" in a full round
    ]
    plan = plan_page(users, profiles, round_no=1, full_round=True, now=datetime.now(UTC))
    declared = set(DATA_MAP[Coll.PROFILES].fields) - {"_id"}
    for op in plan.upserts:
        written = set(op.update["$set"])
        assert written | set(SYNC_FOREIGN) == declared, declared ^ (written | set(SYNC_FOREIGN))
        assert not written & set(SYNC_FOREIGN)
    assert set(SYSTEM_FIELDS) - {"_id"} <= set(plan.upserts[0].update["$set"])
