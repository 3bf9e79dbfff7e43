"""Consent evidence is complete: what was shown (before any acknowledgement), the exact texts,
v1 included, in the tenant's database, archive and the user's own export, with the
conversation and activity ids of the user's own records."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.consent import ConsentAction, Kind, builtin, publish, record, sha256, standing
from privacy.export import build_export
from privacy.tenant_archive import write_tenant_archive
from storage.repositories import TenantStore
from tests.support.datamap_checks import undeclared
from tests.support.privacy_seed import register

Db = AsyncDatabase[dict[str, Any]]
TENANT = "efefefef-0000-4000-8000-000000000001"
ANN = "eeeeeeee-0000-4000-8000-00000000a001"


async def test_the_export_holds_the_texts_and_the_ids_of_the_users_records(db: Db) -> None:
    await register(db, TENANT)
    store = TenantStore(db, TENANT)
    notice = builtin(Kind.NOTICE)
    for action, activity in ((ConsentAction.SHOWN, "act-1"), (ConsentAction.ACKNOWLEDGED, "act-2")):
        await record(
            store, user_id=ANN, document=notice, action=action, locale="tr",
            conversation_id="a:conv-1", activity_id=activity,
        )  # fmt: skip
    v2 = await publish(store, Kind.EULA, {"tr": "Koşullar s2", "en": "Terms v2"}, published_by=None)
    await record(
        store, user_id=ANN, document=v2, action=ConsentAction.ACCEPTED, locale="en",
        conversation_id="a:conv-1", activity_id="act-3",
    )  # fmt: skip
    current = await standing(store, ANN)
    assert current.notice_acknowledged and current.eula_state is ConsentAction.ACCEPTED
    assert [e["action"] for e in current.decisions] == ["accepted", "acknowledged"]

    result = await build_export(store, ANN, locale="tr")
    with zipfile.ZipFile(io.BytesIO(result.zip_bytes)) as zf:
        data = json.loads(zf.read("data.json"))
        consents = json.loads(zf.read("stores/consents.json"))["records"]
        texts = {name: zf.read(name).decode("utf-8") for name in zf.namelist()}
    assert sorted((c["action"], c["conversation_id"], c["activity_id"]) for c in consents) == [
        ("accepted", "a:conv-1", "act-3"),
        ("acknowledged", "a:conv-1", "act-2"),
        ("shown", "a:conv-1", "act-1"),
    ]
    documents = {(d["document"], d["version"]): d for d in data["documents"]}
    assert set(documents) == {("notice", 1), ("eula", 2)}
    assert texts["documents/notice-v1.tr.md"] == notice.texts["tr"]
    assert texts["documents/eula-v2.en.md"] == "Terms v2"
    shown = next(c for c in consents if c["action"] == "shown")
    assert shown["text_sha256"] == documents[("notice", 1)]["sha256"]["tr"]
    assert shown["text_sha256"] == sha256(notice.texts["tr"])
    # v1 is in the database now, since its first use, exactly as shipped.
    stored = await store.legal_documents.get("notice:1")
    assert stored is not None and stored["texts"] == notice.texts
    assert await undeclared(db) == []


async def test_the_tenant_archive_holds_every_text_v1_included(db: Db) -> None:
    await register(db, TENANT)
    store = TenantStore(db, TENANT)
    buffer = io.BytesIO()
    await write_tenant_archive(store, buffer)
    with zipfile.ZipFile(buffer) as zf:
        lines = zf.read("stores/legal_documents.jsonl").decode("utf-8").splitlines()
    archived = {(d["kind"], d["version"]): d["texts"] for d in map(json.loads, lines)}
    assert archived == {(k.value, 1): builtin(k).texts for k in Kind}
