"""People search: Turkish-aware folding, ranking, stable paging, tenant isolation, hidden
accounts, and hostile input answered safely (never an operator, never a regex)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import monitoring
from pymongo.asynchronous.database import AsyncDatabase

from storage.collections import Coll
from storage.repositories import TenantStore
from storage.search_keys import fold, search_keys

A = "aaaaaaaa-0000-4000-8000-000000000001"
B = "bbbbbbbb-0000-4000-8000-000000000002"
Db = AsyncDatabase[dict[str, Any]]

FOLDING = [
    ("İSMAİL", "ismail"),
    ("Ismail", "ismail"),
    ("ısmaıl", "ismail"),
    ("IŞIK", "isik"),
    ("ışık", "isik"),
    ("Işık", "isik"),
    ("ÇAĞLAR", "caglar"),
    ("çağlar", "caglar"),
    ("ĞÖÜŞ", "gous"),
    ("Gökçe", "gokce"),
    ("GÖKÇE", "gokce"),
    ("Şükrü", "sukru"),
    ("ŞÜKRÜ", "sukru"),
    ("Ümit", "umit"),
    ("Öztürk", "ozturk"),
    ("Ayşe Yılmaz", "ayse yilmaz"),
    ("AYŞE  YILMAZ", "ayse yilmaz"),
    ("Doğan-Ünal", "dogan unal"),
    ("İnsan Kaynakları", "insan kaynaklari"),
    ("José Müller", "jose muller"),
    ("ÎNCE", "ince"),
    ("Ağrı", "agri"),
]


@pytest.mark.parametrize(("raw", "folded"), FOLDING)
def test_turkish_folding(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def person(user_id: str, given: str, surname: str, **extra: Any) -> dict[str, Any]:
    display = f"{given} {surname}"
    keys = search_keys([given, surname, display, extra.get("job_title"), extra.get("department")])
    return {
        "user_id": user_id,
        "given_name": given,
        "surname": surname,
        "display_name": display,
        "search_keys": keys,
        **extra,
    }


@pytest.fixture
async def people(db: Db) -> TenantStore:
    a = TenantStore(db, A)
    await a.profiles.upsert_many(
        [
            person("u1", "Ayşe", "Yılmaz", department="Finans"),
            person("u2", "Ayşegül", "Demir", department="İnsan Kaynakları"),
            person("u3", "Işık", "Kaya", job_title="Yazılım Mühendisi"),
            person("u4", "İsmail", "Işıklı", department="Finans"),
            person("u5", "Mehmet", "Ayşeoğlu"),
            person("u6", "Gizli", "Kişi", hidden=True),
            person("u7", "Misafir", "Ayşe", hidden=True, user_type="Guest"),
            *[
                person(f"f{i:02d}", f"Finansçı{i:02d}", "Test", department="Finans")
                for i in range(20)
            ],
        ]
    )
    await TenantStore(db, B).profiles.upsert_many([person("b1", "Ayşe", "Başka")])
    return a


async def names(store: TenantStore, term: str, **kw: Any) -> list[str]:
    page = await store.profiles.search(term, **kw)
    return [p["display_name"] for p in page.items]


@pytest.mark.parametrize("term", ["IŞIK", "ışık", "isik", "Isik", "IŞI"])
async def test_every_spelling_finds_the_same_person(people: TenantStore, term: str) -> None:
    found = await names(people, term)
    assert "Işık Kaya" in found


async def test_ranking_is_exact_then_prefix_then_contains(people: TenantStore) -> None:
    # "ayse": exact word for Ayşe Yılmaz, prefix of Ayşegül and Ayşeoğlu.
    assert await names(people, "ayse") == ["Ayşe Yılmaz", "Ayşegül Demir", "Mehmet Ayşeoğlu"]
    # two words: both must match, the exact phrase first.
    assert await names(people, "ayse yil") == ["Ayşe Yılmaz"]
    # "isik" is exact for Işık Kaya, a prefix of Işıklı.
    assert await names(people, "isik") == ["Işık Kaya", "İsmail Işıklı"]
    # second token only contained (oglu inside aysegul? no; inside ayseoglu yes).
    assert await names(people, "mehmet oglu") == ["Mehmet Ayşeoğlu"]


async def test_search_by_department_and_title(people: TenantStore) -> None:
    finance = await people.profiles.search("finans", limit=100)
    assert {p["user_id"] for p in finance.items} >= {"u1", "u4"}
    assert (await names(people, "yazılım"))[:1] == ["Işık Kaya"]


async def test_paging_is_stable_and_complete(people: TenantStore) -> None:
    seen: list[str] = []
    offset = 0
    while True:
        page = await people.profiles.search("finans", offset=offset, limit=8)
        seen += [p["user_id"] for p in page.items]
        if not page.has_more:
            break
        offset += len(page.items)
    assert len(seen) == len(set(seen)) == 22
    assert page.total == 22
    again = await people.profiles.search("finans", offset=8, limit=8)
    assert [p["user_id"] for p in again.items] == seen[8:16]


async def test_hidden_guests_and_other_tenants_never_show(people: TenantStore, db: Db) -> None:
    assert await names(people, "gizli") == []
    assert await names(people, "misafir") == []
    assert "Ayşe Başka" not in await names(people, "ayse")
    assert await names(TenantStore(db, B), "ayse") == ["Ayşe Başka"]
    assert await names(TenantStore(db, "cccccccc-0000-4000-8000-000000000003"), "ayse") == []


@pytest.mark.parametrize(
    "term",
    ['{"$gt": ""}', ".*", "(a+)+$", "^a", "a" * 10_000, "\x00\x1f\x7f", "$where", "[a-z]*",
     "\\", "' OR 1=1 --", "🙂🙂", "", "   "],
)  # fmt: skip
async def test_hostile_input_is_answered_safely(people: TenantStore, term: str) -> None:
    page = await people.profiles.search(term)
    assert page.total <= 22
    for item in page.items:
        assert item["user_id"] in {"u1", "u2", "u3", "u4", "u5"} or item["user_id"].startswith("f")


async def test_a_regex_looking_term_matches_literally(people: TenantStore) -> None:
    assert await names(people, ".*") == []
    assert (await people.profiles.search("a")).too_short
    assert (await people.profiles.search("ay")).too_short


async def test_employee_ids_match_whole(people: TenantStore, db: Db) -> None:
    store = TenantStore(db, A)
    emre = person("e1", "Emre", "Sicil", employee_id="E123456")
    emre["search_keys"] = search_keys(["Emre", "Sicil", "E123456"])
    await store.profiles.upsert_many([emre])
    doc = await store.profiles.get("e1")
    # Profiles no longer store search prefixes (the index lives in the searching process).
    assert doc is not None and "search_prefixes" not in doc
    assert await names(store, "e12") == []
    assert await names(store, "E123456") == ["Emre Sicil"]
    assert await names(store, "e1234") == []


# --- the in-process index (storage.search_index): same ranking, fresh across replicas ----------

WORDS = ["ayse", "aysegul", "ayten", "yilmaz", "yildiz", "isik", "isikli", "kaya", "demir",
         "finans", "mehmet", "aysel", "oglu", "mehmetoglu", "e123", "e1234", "yil"]  # fmt: skip


def brute_force(docs: list[dict[str, Any]], term: str) -> list[str]:
    """The pre-index ranking, per document over the whole tenant (no candidate cap)."""
    from storage.repositories.profiles import rank
    from storage.search_keys import MAX_PREFIX, MIN_PREFIX, query_tokens

    tokens = query_tokens(term)
    usable = [t for t in tokens if len(t) >= MIN_PREFIX or any(c.isdigit() for c in t)]
    anchor = max(usable, key=len)
    digits = any(c.isdigit() for c in anchor)
    anchor = anchor if digits else anchor[:MAX_PREFIX]
    ranked = []
    for doc in docs:
        words = {w for k in doc["search_keys"] for w in k.split(" ")}
        if digits:
            candidate = anchor in words
        else:
            candidate = any(w.startswith(anchor) and not any(c.isdigit() for c in w) for w in words)
        found = rank(tokens, doc["search_keys"]) if candidate and not doc.get("hidden") else None
        if found is not None:
            ranked.append((found, fold(doc["display_name"]), doc["user_id"]))
    return [r[2] for r in sorted(ranked)]


async def test_index_ranks_exactly_like_the_per_document_ranking(db: Db) -> None:
    import random

    rng = random.Random(20)
    store = TenantStore(db, A)
    docs = []
    for i in range(300):
        given, surname = rng.choice(WORDS), rng.choice(WORDS)
        docs.append(
            {
                "user_id": f"r{i:03d}",
                "display_name": f"{given} {surname}",
                "search_keys": search_keys([given, surname, f"{given} {surname}"]),
                "hidden": rng.random() < 0.1,
            }
        )
    await store.profiles.upsert_many(docs)
    terms = [*WORDS, "ays", "ayse yil", "yil ayse", "mehmet oglu", "ay yil", "isik kaya",
             "aysegul demir", "e123", "kay ay", "oglu", "finans ayse yilmaz"]  # fmt: skip
    for term in terms:
        page = await store.profiles.search(term, limit=1_000)
        expected = brute_force(docs, term)
        assert [p["user_id"] for p in page.items] == expected, term
        assert page.total == len(expected), term


class FindCounter(monitoring.CommandListener):
    def __init__(self) -> None:
        self.finds: list[str] = []

    def started(self, event: Any) -> None:
        if event.command_name in ("find", "getMore"):
            self.finds.append(str(event.command.get("find", "getMore")))

    def succeeded(self, event: Any) -> None:
        return None

    def failed(self, event: Any) -> None:
        return None


async def test_warm_searches_skip_the_database_and_other_replicas_see_changes(
    mongo_uri: str, db: Db
) -> None:
    """Replica B (its own client, so its own index) answers warm searches from memory (no
    query at all but the version check, at most once per interval) and sees what replica A
    writes, erasure included, within the version-check interval."""
    import asyncio

    from pymongo import AsyncMongoClient

    from storage import search_index
    from storage.collections import Coll

    writer = TenantStore(db, A)
    await writer.profiles.upsert_many([person("p1", "Ayşe", "Yılmaz")])
    counter = FindCounter()
    other: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[counter], tz_aware=True
    )
    try:
        reader = TenantStore(other[db.name], A)
        assert await names(reader, "ayse") == ["Ayşe Yılmaz"]
        counter.finds.clear()
        for _ in range(5):
            page = await reader.profiles.search("yilmaz")
            assert [p["display_name"] for p in page.items] == ["Ayşe Yılmaz"]
            assert page.items[0]["user_id"] == "p1" and "_id" in page.items[0]
        assert "profiles" not in counter.finds
        await writer.profiles.upsert_many([person("p2", "Ayşegül", "Yıldız")])
        await asyncio.sleep(search_index.CHECK_INTERVAL + 0.1)
        assert await names(reader, "ayse") == ["Ayşe Yılmaz", "Ayşegül Yıldız"]
        # Erasure deletes through the store's profiles collection (privacy.strategies).
        assert await writer.collections[Coll.PROFILES].delete_many({"user_id": "p1"}) == 1
        await asyncio.sleep(search_index.CHECK_INTERVAL + 0.1)
        page = await reader.profiles.search("ayse")
        assert [p["user_id"] for p in page.items] == ["p2"]
        assert page.total == 1
    finally:
        await other.close()


async def test_while_reloading_pages_come_from_the_database(
    mongo_uri: str, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale index ranks, but its pages are read back with the visibility filter: a profile
    removed behind its back is not shown, and concurrent searches share their page queries."""
    import asyncio

    from pymongo import AsyncMongoClient

    from storage import search_index

    await TenantStore(db, A).profiles.upsert_many(
        [person(f"c{i:02d}", f"Ayşe{i:02d}", "Kaya") for i in range(30)]
    )
    counter = FindCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[counter]
    )
    try:
        store = TenantStore(client[db.name], A)
        expected = []
        for i in range(20):
            page = await store.profiles.search("kaya", offset=i, limit=3)
            expected.append([p["user_id"] for p in page.items])
        assert expected[0] and expected[0] != expected[1]
        # Removed without a version bump, then the index is stale and its reload cannot finish
        # inside the (here zero) wait budget: pages come from the database.
        await db["profiles"].delete_one({"_id": f"{A}:c00"})
        monkeypatch.setattr(search_index, "WAIT_BUDGET", 0.0)
        search_index.index_for(client[db.name]["profiles"], A).mark_stale()
        counter.finds.clear()
        pages = await asyncio.gather(
            *(store.profiles.search("kaya", offset=i, limit=3) for i in range(20))
        )
        assert (
            [[p["user_id"] for p in page.items] for page in pages]
            == [
                expected[0][1:],  # c00 is gone: the database no longer returns it
                *expected[1:],
            ]
        )
        assert 1 <= counter.finds.count("profiles") < 20
    finally:
        await client.close()


def test_the_result_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from storage import search_index

    monkeypatch.setattr(search_index, "_RESULT_CACHE_ITEMS", 50)
    rows = [(f"u{i:03d}", f"ayse{i:03d}", [f"ayse{i:03d}", "ayse"], b"", None) for i in range(40)]
    snapshot = search_index._Snapshot.build(rows)
    first = snapshot.ranked(("ayse",), "ayse")
    assert first[0] == list(range(40)) and first[1] == 40
    for i in range(40):
        snapshot.ranked((f"ayse{i:03d}",), f"ayse{i:03d}")
        assert snapshot.cached_items <= 50
    assert ("ayse",) not in snapshot.cache  # the oldest, largest result went first
    assert snapshot.ranked(("ayse",), "ayse") == first


async def test_org_chart_reads_come_from_the_index_and_follow_writes(
    mongo_uri: str, db: Db
) -> None:
    """Person cards' reports and managers: the same visible cards as the database would give,
    without a query while the index is current, and a hidden person drops out."""
    from pymongo import AsyncMongoClient

    writer = TenantStore(db, A)
    await writer.profiles.upsert_many(
        [
            person("boss", "Ayşe", "Yılmaz"),
            person("r1", "Mehmet", "Kaya", manager_id="boss"),
            person("r2", "Işık", "Demir", manager_id="boss"),
            person("r3", "Gizli", "Kişi", manager_id="boss", hidden=True),
        ]
    )
    counter = FindCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_uri, event_listeners=[counter], tz_aware=True
    )
    try:
        reader = TenantStore(client[db.name], A)
        await reader.profiles.search("ayse")  # loads the index
        counter.finds.clear()
        reports = await reader.profiles.reports_of("boss")
        assert sorted(r["user_id"] for r in reports) == ["r1", "r2"]
        boss = await reader.profiles.card_of("boss")
        assert boss is not None and boss["display_name"] == "Ayşe Yılmaz"
        assert await reader.profiles.card_of("r3") is None
        assert "profiles" not in counter.finds
        from_db = await writer.collections[Coll.PROFILES].find(
            {"manager_id": "boss", "hidden": {"$ne": True}}
        )
        assert sorted(r["user_id"] for r in from_db) == ["r1", "r2"]
        # A write in this process is seen at once (the index is marked stale and reloads).
        await reader.profiles.upsert_many([{**person("r2", "Işık", "Demir"), "hidden": True}])
        assert [r["user_id"] for r in await reader.profiles.reports_of("boss")] == ["r1"]
    finally:
        await client.close()
