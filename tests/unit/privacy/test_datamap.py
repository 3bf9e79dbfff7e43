"""The data map is complete and consistent, and the record of processing is derived from it."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, Action, DataMapError, Dataset, Reference, validate
from privacy.removal_modes import RemovalMode
from privacy.ropa import record_as_dict, record_as_markdown
from storage.collections import ALL_COLLECTIONS, SUBJECT_FIELDS, Coll
from storage.repositories import GraphCredentials, TenantRecord, TenantRegistry
from tests.support.datamap_checks import undeclared

Db = AsyncDatabase[dict[str, Any]]


def test_the_shipped_data_map_is_valid() -> None:
    validate()


def test_every_collection_is_declared() -> None:
    assert set(ALL_COLLECTIONS) == set(DATA_MAP)


def test_validation_catches_an_undeclared_collection() -> None:
    partial: dict[Coll, Dataset] = {c: s for c, s in DATA_MAP.items() if c is not Coll.KPI_EVENTS}
    with pytest.raises(DataMapError, match="kpi_events: collection is not declared"):
        validate(partial)


def test_validation_catches_bad_declarations() -> None:
    profiles = DATA_MAP[Coll.PROFILES]
    broken = {
        **DATA_MAP,
        Coll.PROFILES: dataclasses.replace(
            profiles,
            fields={**profiles.fields, "hobby": "user.hobbies"},
            export_fields=(*profiles.export_fields, "shoe_size"),
            removal={RemovalMode.DELETE_ALL: Action("shred", ("nope",))},
        ),
    }
    with pytest.raises(DataMapError) as info:
        validate(broken)
    message = str(info.value)
    assert "unknown category 'user.hobbies'" in message
    assert "export field 'shoe_size'" in message
    assert "unknown strategy 'shred'" in message
    assert "field 'nope' is not declared" in message
    assert "no removal action for directory_only" in message


def test_aggregating_stores_declare_their_buckets_and_totals() -> None:
    kpi = DATA_MAP[Coll.KPI_EVENTS]
    with pytest.raises(DataMapError, match="aggregate needs a rollup declaration"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: dataclasses.replace(kpi, rollup=None)})
    fields = {k: v for k, v in kpi.fields.items() if k != "merged"}
    with pytest.raises(DataMapError, match="rollup field 'merged' is not declared"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: dataclasses.replace(kpi, fields=fields)})
    with pytest.raises(DataMapError, match="unknown anonymizer 'shred'"):
        validate({**DATA_MAP, Coll.KPI_EVENTS: dataclasses.replace(kpi, anonymizer="shred")})


def test_personal_stores_say_what_every_removal_mode_does() -> None:
    personal = [s for s in DATA_MAP.values() if s.personal]
    assert {s.collection for s in personal} >= {
        Coll.PROFILES,
        Coll.CONSENTS,
        Coll.KPI_EVENTS,
        Coll.DSR_REQUESTS,
        Coll.CONVERSATIONS,
        Coll.AUDIT_LOG,
        Coll.BOT_STATE,
    }
    assert not DATA_MAP[Coll.SYNC_STATE].personal
    kpi = DATA_MAP[Coll.KPI_EVENTS]
    assert kpi.retention.days == 90 and kpi.retention.at_end == "aggregate"
    assert kpi.retention.clock == "day" and kpi.export_fields == ("day", "counts")


async def test_tenant_records_store_only_declared_fields(db: Db) -> None:
    await TenantRegistry(db).add(
        TenantRecord(
            tenant_id="aaaaaaaa-0000-0000-0000-000000000001",
            name="Contoso",
            graph=GraphCredentials(client_id="c", client_secret_env="GRAPH_SECRET"),
            admins=["u1"],
        )
    )
    assert await undeclared(db) == []


async def test_the_check_notices_undeclared_data(db: Db) -> None:
    await db[Coll.PROFILES].insert_one({"tenant_id": "t", "favourite_colour": "blue"})
    await db["shadow_copy"].insert_one({"x": 1})
    assert await undeclared(db) == [
        "collection shadow_copy is not in the data map",
        "profiles.favourite_colour is stored but not declared",
    ]


def test_record_of_processing_covers_every_store() -> None:
    markdown = record_as_markdown()
    record = record_as_dict()
    assert [s["collection"] for s in record["stores"]] == [c.value for c in DATA_MAP]
    for store in DATA_MAP.values():
        assert f"(`{store.collection.value}`)" in markdown
        assert store.purpose in markdown
        assert store.legal_basis in markdown
    kpi = next(s for s in record["stores"] if s["collection"] == "kpi_events")
    assert kpi["retention"]["days"] == 90
    assert kpi["on_user_removal"]["delete_all"] == "delete the records"
    # One person's recent counts are deleted, not merged: until the retention sweep merges a
    # whole day, they would be the only counts in that day's total (k-anonymity).
    assert kpi["on_user_removal"]["directory_delete_rest_anonymize"] == "delete the records"
    assert kpi["on_user_removal"]["directory_only"] == "keep unchanged"
    assert "daily per-person counts" in kpi["retention"]["rule"]
    assert "(at the end: aggregate)" in markdown
    json.dumps(record)  # must be serializable as is


def test_record_for_one_mode_lists_only_that_mode() -> None:
    record = record_as_dict(mode=RemovalMode.DIRECTORY_ONLY)
    assert list(record["removal_modes"]) == ["directory_only"]
    for store in record["stores"]:
        assert set(store["on_user_removal"]) <= {"directory_only"}


async def test_the_check_notices_an_undeclared_reference(db: Db) -> None:
    """A field pointing at someone else must be declared (erasing them must reach it)."""
    boss, ann = "b0550000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
    await db[Coll.PROFILES].insert_many(
        [
            {"tenant_id": "t", "user_id": boss, "manager_id": None},
            {"tenant_id": "t", "user_id": ann, "manager_id": boss},
        ]
    )
    assert await undeclared(db) == []  # manager_id is a declared reference
    await db[Coll.CONSENTS].insert_one({"tenant_id": "t", "user_id": ann, "locale": boss})
    assert await undeclared(db) == [
        "consents.locale names another person but is not a declared reference"
    ]


def test_references_are_declared_with_an_anonymizing_action() -> None:
    profiles = DATA_MAP[Coll.PROFILES]
    assert [r.field for r in profiles.references] == ["manager_id"]
    assert {r.field for s in DATA_MAP.values() for r in s.references} >= {
        "manager_id",
        "decided_by",
        "reviewer",
    }
    broken = dataclasses.replace(
        profiles,
        references=(
            Reference("shoe_size", dict.fromkeys(RemovalMode, "nullify")),
            Reference("manager_id", dict.fromkeys(RemovalMode, "keep")),
        ),
    )
    with pytest.raises(DataMapError) as info:
        validate({**DATA_MAP, Coll.PROFILES: broken})
    assert "reference 'shoe_size' is not declared" in str(info.value)
    assert "reference 'manager_id' needs nullify or pseudonymize" in str(info.value)


def test_record_of_processing_says_what_removal_does_to_references() -> None:
    record = record_as_dict()
    profiles = next(s for s in record["stores"] if s["collection"] == "profiles")
    assert profiles["references"] == [
        {
            "field": "manager_id",
            "on_removal_of_that_person": dict.fromkeys(
                [m.value for m in RemovalMode],
                "remove the identifying fields, keep the rest: manager_id",
            ),
        }
    ]
    assert (
        "- **Names another person in `decided_by`:** when that person is removed, replace "
        "identifiers with a keyed hash: decided_by" in record_as_markdown()
    )


def test_the_person_key_mirrors_the_subject_the_data_map_names() -> None:
    """Storage keeps `tuser` from its own list of subject fields (it may not import the data
    map); if the two disagreed, an export or erasure would read one field while the index
    followed another."""
    for coll, field in SUBJECT_FIELDS.items():
        assert DATA_MAP[coll].subject_key == field, coll


def test_only_the_stores_storage_keys_by_person_declare_the_person_key() -> None:
    for coll, dataset in DATA_MAP.items():
        assert ("tuser" in dataset.fields) == (coll in SUBJECT_FIELDS), coll
