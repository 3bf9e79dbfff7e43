"""Mapping a Graph user to the summarized profile: pure functions, no I/O."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime

import msgspec
import pytest

from graph_sync.mapping import (
    is_hidden,
    is_intern,
    mail_of,
    manager_of,
    plan_page,
    profile_fields,
    profile_search_keys,
)
from graph_sync.models import GraphUser, ManagerRef, Removed, decode_page
from graph_sync.writes import SyncCollection
from privacy.datamap import DATA_MAP
from storage.collections import Coll
from storage.repositories import ProfilesRepo
from storage.search_keys import search_keys

NOW = datetime(2024, 6, 11, tzinfo=UTC)
T = "aaaaaaaa-1111-4222-8333-444444444444"


class _NoCollection:
    name = "profiles"


def repo() -> SyncCollection:
    # Building operations never touches the collection.
    return SyncCollection(_NoCollection(), T)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("employee_type", "title", "expected"),
    [
        ("Intern", None, True),
        ("intern", "Engineer", True),
        (None, "Yazılım Stajyeri", True),
        (None, "STAJYER", True),
        (None, "Summer Intern", True),
        (None, "İnternship Coordinator", True),
        (None, "Internal Auditor", False),
        ("Employee", "Software Engineer", False),
        (None, None, False),
    ],
)
def test_intern_flag(employee_type: str | None, title: str | None, expected: bool) -> None:
    assert is_intern(employee_type, title) is expected


def test_search_keys_match_storage_folding() -> None:
    values = ["İsmail Işık", "ŞULE ÇAĞLA", "Öztürk", None, "", "Finans", "E1234", "İsmail"]
    assert profile_search_keys(T, values) == search_keys(values)
    assert "ismail" in profile_search_keys(T, ["İSMAİL"]) == profile_search_keys(T, ["ısmaıl"])


def test_ascii_fast_path_folds_like_storage() -> None:
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + " -_.,@#IiE'\t"
    values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(3000)]
    values += ["E100023", "ISTANBUL", "  --  ", "A-1 b_2", "Ian O'Neil"]
    for value in values:
        assert profile_search_keys(T, [value]) == search_keys([value]), value


def test_operations_are_what_the_profiles_repository_builds() -> None:
    """The mapping builds profile upserts itself (cached keys); they must stay identical to
    `ProfilesRepo.upsert_op`'s, whatever that derives from the fields."""
    users = [
        GraphUser(id="u1", given_name="İsmail", surname="Işık", job_title="Stajyer",
                  department="İnsan Kaynakları", employee_id="E1"),
        GraphUser(id="u2", display_name="Oliver Smith", account_enabled=False),
    ]  # fmt: skip
    plan = plan_page(users, repo(), round_no=2, full_round=True, now=NOW)
    profiles = ProfilesRepo(repo())
    for op in plan.upserts:
        fields = {k: v for k, v in op.update["$set"].items() if k not in ("tenant_id", "tkey")}
        assert "search_prefixes" not in fields  # search ranks in process (storage.search_index)
        expected = profiles.upsert_op(fields["user_id"], fields)
        assert (op.key, op.update) == (expected.key, expected.update)
    gone = plan_page([GraphUser(id="u3", removed=Removed())], repo(), round_no=2,
                     full_round=False, now=NOW).soft_deleted[0]  # fmt: skip
    fields = {k: v for k, v in gone.update["$set"].items() if k not in ("tenant_id", "tkey")}
    expected = repo().upsert_op(["u3"], fields)
    assert (gone.key, gone.update) == (expected.key, expected.update)


def test_mail_falls_back_to_member_sign_in_name_only() -> None:
    assert mail_of(GraphUser(id="1", mail="a@x.example")) == "a@x.example"
    assert mail_of(GraphUser(id="1", user_principal_name="b@x.example")) == "b@x.example"
    guest = GraphUser(id="1", user_principal_name="c_y.example#EXT#@x.example")
    assert mail_of(guest) is None


def test_hidden_for_guests_and_disabled_accounts() -> None:
    assert is_hidden(GraphUser(id="1", user_type="Guest"))
    assert is_hidden(GraphUser(id="1", account_enabled=False))
    assert not is_hidden(GraphUser(id="1", account_enabled=True, user_type="Member"))
    assert not is_hidden(GraphUser(id="1"))


def test_manager_delta_entries() -> None:
    removed = Removed("deleted")
    assert manager_of([ManagerRef("m1")]) == "m1"
    assert manager_of([ManagerRef("m1", removed)]) is None
    assert manager_of([ManagerRef("m2"), ManagerRef("m1", removed)]) == "m2"
    assert manager_of([ManagerRef("m1", removed), ManagerRef("m2")]) == "m2"
    assert manager_of([]) is None


def test_profile_holds_only_declared_fields() -> None:
    declared = set(DATA_MAP[Coll.PROFILES].fields)
    page = decode_page(
        msgspec.json.encode(
            {
                "value": [
                    {
                        "id": "u1",
                        "givenName": "Ayşe",
                        "businessPhones": ["+90 555"],
                        "mobilePhone": "+90 555",
                        "manager@delta": [{"@odata.type": "#microsoft.graph.user", "id": "m"}],
                    }
                ],
                "@odata.deltaLink": "https://graph.example/v1.0/users/delta?$deltatoken=x",
            }
        )
    )
    plan = plan_page(page.value, repo(), round_no=1, full_round=True, now=NOW)
    [op] = plan.upserts
    stored = set(op.update["$set"])
    assert stored <= declared, stored - declared
    assert "mobilePhone" not in str(op.update)
    assert op.update["$set"]["manager_id"] == "m"
    assert op.filter == {"_id": f"{T}:u1", "tkey": f"{T}:u1"}


def test_plan_folds_repeats_and_sorts_removals() -> None:
    users = [
        GraphUser(id="a", display_name="Old", manager_delta=[ManagerRef("m")]),
        GraphUser(id="b", display_name="B"),
        GraphUser(id="a", display_name="New"),
        GraphUser(id="c", removed=Removed("changed")),
        GraphUser(id="d", removed=Removed("deleted")),
        GraphUser(id="e", display_name="E", account_enabled=False),
    ]
    incremental = plan_page(users, repo(), round_no=3, full_round=False, now=NOW)
    fields = {op.key.split(":")[1]: op.update["$set"] for op in incremental.upserts}
    assert list(fields) == ["b", "a", "e"]
    assert fields["a"]["display_name"] == "New" and fields["a"]["manager_id"] == "m"
    assert "manager_id" not in fields["b"]  # unchanged in an incremental round
    assert [op.key for op in incremental.soft_deleted] == [f"{T}:c"]
    assert incremental.deleted == ["d"]
    assert incremental.hidden == 2 and incremental.entries == 6
    full = plan_page(users, repo(), round_no=3, full_round=True, now=NOW)
    assert {op.key: op.update["$set"]["manager_id"] for op in full.upserts}[f"{T}:b"] is None
    assert all(op.update["$set"]["seen_in_round"] == 3 for op in full.upserts)
    assert all(op.update["$set"]["synced_at"] == NOW for op in full.upserts)
    assert "seen_in_round" not in profile_fields(users[1], T)
