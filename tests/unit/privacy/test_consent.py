"""Consent evidence is complete: what was shown (before any acknowledgement), the exact texts,
v1 included, in the tenant's database, archive and the user's own export, with the
conversation and activity ids of the user's own records."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from privacy.consent import (
    ConsentAction,
    Kind,
    builtin,
    current_documents,
    publish,
    record,
    sha256,
    standing,
)
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


class _Finds(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == "legal_documents":
            self.finds.append(dict(event.command.get("projection") or {}))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        return None


async def test_a_turn_reads_the_texts_of_a_version_once_and_never_a_wrong_one(
    mongo_uri: str, db_name: str
) -> None:
    """The standing check runs every turn: it reads which versions are current and their
    hashes, and the ~30 KB of texts only the first time this process meets them. A stored text
    whose hash does not match it is shown as stored but never kept, so it cannot stand in for
    the text that hash names."""
    listener = _Finds()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[listener], tz_aware=True
    )
    try:
        db = client[db_name]
        await register(db, TENANT)
        store = TenantStore(db, TENANT)
        texts = {"tr": f"Koşullar {db_name}", "en": f"Terms {db_name}"}  # new to this process
        await publish(store, Kind.EULA, texts, published_by=None)
        listener.finds.clear()
        first = await current_documents(store)
        assert first[Kind.EULA].texts == texts and first[Kind.EULA].version == 2
        assert len(listener.finds) == 2  # versions and hashes, then the new texts once
        listener.finds.clear()
        again = await current_documents(store)
        assert again[Kind.EULA].texts == texts
        assert listener.finds == [{"kind": 1, "version": 1, "hashes": 1}]
        forged = {"tr": "başka metin", "en": "another text"}
        await db["legal_documents"].insert_one(
            {
                "_id": f"{TENANT}:eula:3",
                "tkey": f"{TENANT}:eula:3",
                "tenant_id": TENANT,
                "kind": "eula",
                "version": 3,
                "texts": forged,
                "hashes": {loc: sha256(t) for loc, t in texts.items()},
            }
        )  # fmt: skip  (hashes that name the version 2 texts)
        for _ in range(2):
            listener.finds.clear()
            shown = await current_documents(store)
            assert shown[Kind.EULA].version == 3 and shown[Kind.EULA].texts == forged
            assert len(listener.finds) == 2  # read as stored, every time: never kept
        await db["legal_documents"].delete_one({"_id": f"{TENANT}:eula:3"})
        back = await current_documents(store)
        assert back[Kind.EULA].version == 2 and back[Kind.EULA].texts == texts
    finally:
        await client.close()
