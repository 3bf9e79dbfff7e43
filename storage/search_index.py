"""People search off the database's critical path: a per-tenant, in-process index of folded words.

Why: the embedded server pays per candidate document and per multikey entry, so a prefix search
at 100,000 profiles and 100 concurrent clients took seconds (DESIGN.md §4), and it answers even
`_id $in` by scanning the collection. Here each process keeps, per tenant, the folded words of
every visible profile (`search_keys`, the same folding as `storage.search_keys`) and its card
fields as raw BSON, and answers the ranking and the page itself: no database round trip while
the index is current, one (`_id $in`, shared by concurrent searches of the tenant) while it is
being reloaded.

Freshness across replicas (DESIGN.md §8): every profile write bumps a per-tenant directory
version (`sync_state` document `<tenant>:directory`). A process checks that version at most once
per `CHECK_INTERVAL` seconds per tenant (one point read) and reloads the tenant when it moved, so
any replica sees a change within a couple of seconds; a write made by this process is seen by its
next search. A reload that outlasts `WAIT_BUDGET` finishes in the background; meanwhile the
previous index ranks but the page comes from the database with the visibility filter, so a
person erased or hidden by a change this process knows of is never shown from memory. A page
that comes back short schedules a reload. A full reload every `MAX_AGE` seconds is the backstop
for a write that did not bump the version. Every write through `TenantStore.profiles` or its
profiles collection bumps (storage.repositories.profiles.ProfilesCollection), erasure included.

Ranking is exactly `storage.repositories.profiles.rank` (exact > prefix > contains, ties by folded
display name then id), computed with set operations over word postings instead of per document;
tests/unit/storage/test_search_index.py holds both equal on random directories.
"""

from __future__ import annotations

import asyncio
import bisect
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import bson
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument
from pymongo.asynchronous.collection import AsyncCollection

from storage.keys import TKEY
from storage.search_keys import (
    MAX_PREFIX,
    MIN_PREFIX,
    fold,
    query_tokens,
    search_keys,
    stored_keys,
)

Document = dict[str, Any]
CHECK_INTERVAL = 1.0
WAIT_BUDGET = 0.5
MAX_AGE = 300.0
_LOAD_BATCH = 2_000
_RESULT_CACHE = 2_048  # queries per tenant
_RESULT_CACHE_ITEMS = 2_000_000  # ordinals held by those results (8 bytes each): ~16 MB
_VERSION_KEY = "directory"
_VERSION_COLLECTION = "sync_state"
_RAW: CodecOptions[RawBSONDocument] = CodecOptions(document_class=RawBSONDocument)


def version_id(tenant_id: str) -> str:
    return f"{tenant_id}:{_VERSION_KEY}"


async def bump_version(profiles: AsyncCollection[Document], tenant_id: str) -> None:
    """Record that `tenant_id`'s profiles changed (after the write): every replica reloads.

    Also marks this process's own index stale, so its next search sees the write at once."""
    key = version_id(tenant_id)
    await profiles.database[_VERSION_COLLECTION].update_one(
        {"_id": key, TKEY: key},
        {
            "$inc": {"version": 1},
            "$setOnInsert": {"tenant_id": tenant_id, "epoch": uuid.uuid4().hex},
        },
        upsert=True,
    )
    index = _registries.get(id(profiles.database.client), {}).get(
        (profiles.database.name, tenant_id)
    )
    if index is not None:
        index.mark_stale()


def _has_digit(word: str) -> bool:
    return any(ch.isdigit() for ch in word)


# (user id, folded display name, search keys, card as raw BSON, manager id)
_Row = tuple[str, str, Sequence[str], bytes, str | None]


def _override_words(overrides: object) -> list[str]:
    """An approved correction's words: searchable from the override itself, which every sync
    keeps, rather than from stored keys the next sync rewrites from Graph's values."""
    if not isinstance(overrides, Mapping):
        return []
    values = [o.get("value") for o in overrides.values() if isinstance(o, Mapping)]
    return search_keys([v for v in values if isinstance(v, str)])


@dataclass(slots=True)
class _Snapshot:
    """One immutable load of a tenant: ordinals follow (folded display name, user id)."""

    ids: list[str]
    cards: list[bytes]  # the card fields as raw BSON, per ordinal
    words_of: list[str]  # " w1 w2 ... " per ordinal, for per-candidate checks
    postings: dict[str, frozenset[int]]  # every word -> ordinals
    vocab: list[str]  # sorted words without digits (prefix candidates)
    all_words: list[str]  # sorted every word (prefix checks of any token)
    values: dict[str, frozenset[int]]  # multi-word folded values -> ordinals (exact phrase)
    ordinal: dict[str, int]
    reports: dict[str, list[int]]  # manager id -> ordinals of visible direct reports
    cache: OrderedDict[tuple[str, ...], tuple[list[int], int, int]] = field(
        default_factory=OrderedDict
    )
    cached_items: int = 0

    @classmethod
    def build(cls, rows: Iterable[_Row]) -> _Snapshot:
        ordered = sorted(rows, key=lambda r: (r[1], r[0]))
        ids: list[str] = []
        cards: list[bytes] = []
        words_of: list[str] = []
        postings: dict[str, set[int]] = {}
        values: dict[str, set[int]] = {}
        reports: dict[str, list[int]] = {}
        for n, (user_id, _name, keys, card, manager_id) in enumerate(ordered):
            ids.append(user_id)
            cards.append(card)
            if manager_id:
                reports.setdefault(manager_id, []).append(n)
            words: set[str] = set()
            for key in keys:
                if " " in key:
                    values.setdefault(key, set()).add(n)
                    words.update(key.split(" "))
                elif key:
                    words.add(key)
            for word in words:
                postings.setdefault(word, set()).add(n)
            words_of.append(" " + " ".join(sorted(words)) + " ")
        frozen = {w: frozenset(s) for w, s in postings.items()}
        return cls(
            ids=ids,
            cards=cards,
            words_of=words_of,
            postings=frozen,
            vocab=sorted(w for w in frozen if not _has_digit(w)),
            all_words=sorted(frozen),
            values={v: frozenset(s) for v, s in values.items()},
            ordinal={u: n for n, u in enumerate(ids)},
            reports=reports,
        )

    def clear_cache(self) -> None:
        self.cache.clear()
        self.cached_items = 0

    def _prefixed(self, words: list[str], prefix: str) -> list[str]:
        lo = bisect.bisect_left(words, prefix)
        hi = bisect.bisect_left(words, prefix + "\x7f")
        return words[lo:hi]

    def _union(self, words: Iterable[str], within: frozenset[int] | set[int] | None) -> set[int]:
        out: set[int] = set()
        for word in words:
            posting = self.postings[word]
            out |= posting if within is None else posting & within
        return out

    def ranked(self, tokens: tuple[str, ...], anchor: str) -> tuple[list[int], int, int]:
        """(ordinals best first, how many exact, how many prefix); cached per query."""
        hit = self.cache.get(tokens)
        if hit is not None:
            self.cache.move_to_end(tokens)
            return hit
        if _has_digit(anchor):
            candidates: set[int] | frozenset[int] = self.postings.get(anchor, frozenset())
        else:
            candidates = self._union(self._prefixed(self.vocab, anchor), None)
        phrase = " ".join(tokens)
        exact = candidates & self.values.get(phrase, frozenset())
        if len(tokens) == 1:
            exact |= candidates & self.postings.get(tokens[0], frozenset())
        prefix: set[int] | frozenset[int] = candidates
        for token in tokens:
            if not prefix:
                break
            if token == anchor and not _has_digit(anchor):
                continue  # every candidate has a word starting with the anchor
            prefix = self._union(self._prefixed(self.all_words, token), set(prefix))
        prefix = set(prefix) - exact
        rest = set(candidates) - exact - prefix
        contains = [
            n
            for n in rest
            if all(token in self.words_of[n] for token in tokens)
            # a token never holds a space, so "in the words" is "in some key"
        ]
        result = (sorted(exact) + sorted(prefix) + sorted(contains), len(exact), len(prefix))
        self.cache[tokens] = result
        self.cached_items += len(result[0])
        while self.cache and (
            len(self.cache) > _RESULT_CACHE or self.cached_items > _RESULT_CACHE_ITEMS
        ):
            _, (dropped, _, _) = self.cache.popitem(last=False)
            self.cached_items -= len(dropped)
        return result


_EMPTY = _Snapshot.build(())


class _PageFetcher:
    """Concurrent searches of one tenant share one `find` for their pages: at most one round
    trip per search, a fraction of one under load. Each search waits on its own future, so one
    cancelled search never cancels another's page."""

    def __init__(self) -> None:
        self._waiting: list[tuple[list[str], asyncio.Future[list[Document | None]]]] = []
        self._task: asyncio.Task[None] | None = None

    async def fetch(
        self, coll: AsyncCollection[Document], tenant_id: str, keys: list[str], projection: Document
    ) -> list[Document | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Document | None]] = loop.create_future()
        self._waiting.append((keys, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(coll, tenant_id, projection))
        return await future

    async def _drain(
        self, coll: AsyncCollection[Document], tenant_id: str, projection: Document
    ) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            wanted = sorted({key for keys, _ in batch for key in keys})
            try:
                docs = await coll.find(
                    {"_id": {"$in": wanted}, "tenant_id": tenant_id, "hidden": {"$ne": True}},
                    projection,
                    batch_size=len(wanted),
                ).to_list(None)
            except Exception as exc:  # every waiter gets the database's error, none hangs
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            found = {doc["_id"]: doc for doc in docs}
            for keys, future in batch:
                if not future.done():
                    future.set_result([found.get(key) for key in keys])


@dataclass(frozen=True, slots=True)
class IndexPage:
    items: list[Document]
    total: int
    offset: int


class TenantIndex:
    """The search index of one tenant in one process."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.snapshot = _EMPTY
        self.version: tuple[str, int] | None = None
        self.loaded_at = 0.0
        self.checked_at = 0.0
        self.load_seconds = 0.0
        self._stale = True
        self.current = False
        self._refresh: asyncio.Task[None] | None = None
        self._pages = _PageFetcher()

    def mark_stale(self) -> None:
        self._stale = True

    async def _read_version(self, coll: AsyncCollection[Document]) -> tuple[str, int]:
        doc = await coll.database[_VERSION_COLLECTION].find_one(
            {"_id": version_id(self.tenant_id)}, {"version": 1, "epoch": 1}
        )
        if doc is None:
            return ("", 0)
        return (str(doc.get("epoch", "")), int(doc.get("version", 0)))

    async def _load(self, coll: AsyncCollection[Document], projection: Document) -> None:
        started = time.perf_counter()
        self._stale = False
        self.current = False
        version = await self._read_version(coll)
        rows: list[_Row] = []
        cursor = coll.with_options(codec_options=_RAW).find(
            {"tenant_id": self.tenant_id, "hidden": {"$ne": True}},
            {
                **projection,
                "search_keys": 1,
                "overrides": 1,
                "display_name": 1,
                "user_id": 1,
                "manager_id": 1,
            },
            batch_size=_LOAD_BATCH,
        )
        async for raw in cursor:
            user_id = raw.get("user_id")
            if isinstance(user_id, str):
                name = raw.get("display_name")
                card = raw.raw
                manager = raw.get("manager_id")
                if isinstance(card, bytes):
                    folded = fold(name if isinstance(name, str) else "")
                    words = stored_keys(raw.get("search_keys"))
                    corrected = _override_words(raw.get("overrides"))
                    if corrected:
                        words = sorted({*words, *corrected})
                    boss = manager if isinstance(manager, str) else None
                    rows.append((user_id, folded, words, card, boss))
        self.snapshot = _Snapshot.build(rows)
        self.version = version
        # Written to while loading: this load may have missed it, so it ranks but is not current.
        self.current = not self._stale
        self.loaded_at = self.checked_at = time.monotonic()
        self.load_seconds = time.perf_counter() - started

    async def _check(self, coll: AsyncCollection[Document], projection: Document) -> None:
        now = time.monotonic()
        if not self._stale and now - self.loaded_at < MAX_AGE:
            self.checked_at = now
            if await self._read_version(coll) == self.version:
                return
        self.current = False
        await self._load(coll, projection)

    async def ensure_fresh(self, coll: AsyncCollection[Document], projection: Document) -> bool:
        """Whether the snapshot is current (its pages may come from memory)."""
        now = time.monotonic()
        if self.current and not self._stale and now - self.checked_at < CHECK_INTERVAL:
            return True
        if self._refresh is None or self._refresh.done():
            self.checked_at = now  # others keep answering from the current index meanwhile
            self._refresh = asyncio.get_running_loop().create_task(self._check(coll, projection))
        task = self._refresh
        try:
            if self.version is None:
                await asyncio.shield(task)  # nothing to answer from yet
            else:
                await asyncio.wait_for(asyncio.shield(task), WAIT_BUDGET)
        except TimeoutError:
            return False
        return self.current and not self._stale

    async def search(
        self,
        coll: AsyncCollection[Document],
        term: str,
        *,
        offset: int,
        limit: int,
        projection: Document,
    ) -> IndexPage | None:
        """None when the term is too short to search; otherwise the page, fetched in one query."""
        tokens = tuple(query_tokens(term))
        usable = [t for t in tokens if len(t) >= MIN_PREFIX or _has_digit(t)]
        if not usable:
            return None
        anchor = max(usable, key=len)
        if not _has_digit(anchor):
            anchor = anchor[:MAX_PREFIX]
        current = await self.ensure_fresh(coll, projection)
        snapshot = self.snapshot
        ordered, _exact, _prefix = snapshot.ranked(tokens, anchor)
        start = max(0, offset)
        page = ordered[start : start + limit]
        if not page:
            return IndexPage([], len(ordered), start)
        if current:
            options = coll.codec_options
            items = [bson.decode(snapshot.cards[n], codec_options=options) for n in page]
            return IndexPage(items, len(ordered), start)
        wanted = [snapshot.ids[n] for n in page]
        docs = await self._pages.fetch(
            coll, self.tenant_id, [f"{self.tenant_id}:{u}" for u in wanted], projection
        )
        items = [d for d in docs if d is not None]
        missing = len(docs) - len(items)
        if missing:
            self.mark_stale()  # erased or hidden since the last load: reload on the next search
        return IndexPage(items, len(ordered) - missing, start)

    async def card(
        self, coll: AsyncCollection[Document], user_id: str, projection: Document
    ) -> Document | bool | None:
        """A visible person's card from memory; False when the index is not current (ask the
        database), None when nobody visible has that id."""
        if not await self.ensure_fresh(coll, projection):
            return False
        snapshot = self.snapshot
        n = snapshot.ordinal.get(user_id)
        if n is None:
            return None
        card: Document = bson.decode(snapshot.cards[n], codec_options=coll.codec_options)
        return card

    async def reports(
        self, coll: AsyncCollection[Document], manager_id: str, projection: Document, limit: int
    ) -> list[Document] | None:
        """A manager's visible direct reports from memory; None when not current."""
        if not await self.ensure_fresh(coll, projection):
            return None
        snapshot = self.snapshot
        options = coll.codec_options
        found = snapshot.reports.get(manager_id, [])[:limit]
        return [bson.decode(snapshot.cards[n], codec_options=options) for n in found]

    def stats(self) -> Mapping[str, float]:
        snap = self.snapshot
        return {
            "profiles": len(snap.ids),
            "words": len(snap.postings),
            "load_seconds": self.load_seconds,
        }


# Per client object (two clients are two replicas, even to one server; clients compare equal by
# address, so the key is the object's identity, dropped with the client), per (db, tenant).
_registries: dict[int, dict[tuple[str, str], TenantIndex]] = {}


def index_for(coll: AsyncCollection[Document], tenant_id: str) -> TenantIndex:
    client = coll.database.client
    registry = _registries.get(id(client))
    if registry is None:
        registry = _registries[id(client)] = {}
        weakref.finalize(client, _registries.pop, id(client), None)
    key = (coll.database.name, tenant_id)
    index = registry.get(key)
    if index is None:
        index = registry[key] = TenantIndex(tenant_id)
    return index
