"""What an erasure must leave, worked out from the data map rather than from the engine.

The crash suites compare whole-database snapshots taken before and after an erasure that was
killed and rerun. For each store the tenant's removal mode names a strategy (privacy.datamap);
`expected_after` says what each strategy promises to do to one of the person's records, written
here independently of privacy.strategies so a bug there cannot hide itself. A store whose
strategy has no oracle here fails loudly, so a new strategy gets one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from privacy.datamap import DATA_MAP, Action
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode
from privacy.rollup import day_of
from privacy.strategies import Pseudonymizer
from privacy.usage import bucket_update
from storage.collections import SUBJECT_FIELDS, Coll
from storage.keys import TUSER
from storage.repositories import TenantStore
from tests.support.privacy_seed import sample_doc, seeded_stores

Db = AsyncDatabase[dict[str, Any]]
Doc = dict[str, Any]
Key = tuple[str, Any]  # (collection, _id)
Owed = dict[str, tuple[str, int]]  # store -> (method, records)

# The erasure's own output: checked on their own, never seeded.
OUTPUT = {Coll.DESTRUCTION_LOG.value, Coll.DESTRUCTION_RUNS.value}
# The store that grows with use: seeded in bulk, so kills land in the middle of erasing it.
VOLUME = Coll.KPI_EVENTS


def holds(doc: Mapping[str, Any], subject_key: str, user: str) -> bool:
    """Whether `doc` belongs to `user` by the data map's subject key (lists of people too)."""
    if "." in subject_key:
        outer, inner = subject_key.split(".", 1)
        entries = doc.get(outer)
        return isinstance(entries, list) and any(
            e == user or (isinstance(e, Mapping) and e.get(inner) == user) for e in entries
        )
    return doc.get(subject_key) == user


def mentions(doc: Mapping[str, Any], user: str) -> bool:
    return user in repr(doc)


def tenant_of(doc: Mapping[str, Any]) -> Any:
    return doc.get("tenant_id", doc["_id"])  # the registry is keyed by the tenant id itself


async def snapshot(db: Db) -> dict[Key, Doc]:
    docs: dict[Key, Doc] = {}
    for name in await db.list_collection_names():
        for doc in await db[name].find({}).to_list(None):
            docs[(name, doc["_id"])] = doc
    return docs


async def seed_person(
    store: TenantStore, who: str, partner: str, at: datetime, *, skip: Collection[Coll] = ()
) -> None:
    """One record of `who` in every personal store but the registry (which `register` fills),
    the erasure's output and `skip`; lists of people pair `who` with `partner`."""
    for decl in seeded_stores():
        if decl.collection in (Coll.TENANTS, *skip) or decl.collection.value in OUTPUT:
            continue
        if decl.rollup is not None:  # count buckets have a shape of their own: add_volume
            continue
        await store.collections[decl.collection].insert(sample_doc(decl, who, partner, at))


async def add_volume(store: TenantStore, who: str, partner: str, count: int) -> None:
    """`count` records of `who` in the store that grows with use, as keyed bulk upserts (the
    embedded server's fast write path). Keys never contain the person's id."""
    coll = store.collections[VOLUME]
    decl = DATA_MAP[VOLUME]
    if decl.rollup is not None:  # one bucket per day, as the bot's recorder writes them
        today = day_of(datetime.now(UTC))
        for first in range(0, count, 500):
            ops = [
                bucket_update(coll, who, today - timedelta(days=i), {"search": 1 + i % 3}, today)
                for i in range(first, min(count, first + 500))
            ]
            await coll.bulk(ops)
        return
    tag = who.rsplit("-", 1)[-1]
    for first in range(0, count, 500):
        ops = [
            coll.upsert_op([f"bulk-{tag}-{i}"], sample_doc(decl, who, partner, datetime.now(UTC)))
            for i in range(first, min(count, first + 500))
        ]
        await coll.bulk(ops)


def plan(mode: RemovalMode) -> dict[str, Action]:
    return {coll.value: action for coll, action in RemovalPolicy(mode, {}).plan().items()}


def references(mode: RemovalMode) -> dict[str, tuple[str, str, str]]:
    """Step label (`store#field`) -> (store, field, strategy) for every declared reference:
    fields naming the person in other people's records, treated in every mode."""
    return {
        f"{coll.value}#{ref.field}": (coll.value, ref.field, ref.strategy(mode))
        for coll, decl in DATA_MAP.items()
        for ref in decl.references
    }


def label_of(entry: Mapping[str, Any]) -> str:
    """A destruction-log entry's step: its store, or `store#field` for a reference."""
    return str(entry["store"]) + (f"#{entry['reference']}" if entry.get("reference") else "")


def expected_after(
    action: Action, doc: Doc, user: str, token: str, *, subject_key: str, flag: str | None
) -> Doc | None:
    """One of the person's records after erasure, or None if it must be gone."""
    match action.strategy:
        case "keep":
            return doc
        case "delete":
            return None
        case "nullify":
            out = {k: v for k, v in doc.items() if k not in action.fields}
            if flag:
                out[flag] = True
            return out
        case "pull":
            inner = subject_key.split(".", 1)[1] if "." in subject_key else None
            out = dict(doc)
            for name in action.fields:
                out[name] = [
                    e
                    for e in doc.get(name) or []
                    if e != user and not (inner and isinstance(e, Mapping) and e.get(inner) == user)
                ]
            return out
        case "pseudonymize":
            out = dict(doc)
            for name in action.fields:
                if "." not in name:
                    out[name] = token
                    continue
                outer, inner = name.split(".", 1)
                out[outer] = [
                    {**e, inner: token}
                    if isinstance(e, Mapping) and e.get(inner) == user
                    else (token if e == user else e)
                    for e in doc.get(outer) or []
                ]
            return out
    raise AssertionError(f"no oracle for strategy {action.strategy!r}: add one here")


def with_person_key(coll: str, doc: Doc | None) -> Doc | None:
    """A record as storage keeps it: `tuser` names its tenant and whatever its subject field
    now holds, and is absent when that field no longer holds an id (storage.scoped)."""
    field = SUBJECT_FIELDS.get(Coll(coll)) if coll in {c.value for c in Coll} else None
    if doc is None or field is None:
        return doc
    out = {k: v for k, v in doc.items() if k != TUSER}
    if isinstance(out.get(field), str):
        out[TUSER] = f"{out['tenant_id']}:{out[field]}"
    return out


def is_total(key: Key, doc: Mapping[str, Any]) -> bool:
    """An anonymous daily total of a count store (names nobody, grows when buckets merge)."""
    rollup = DATA_MAP[Coll(key[0])].rollup if key[0] in {c.value for c in Coll} else None
    return rollup is not None and rollup.subject not in doc and rollup.distinct in doc


def check_totals(before: Mapping[Key, Doc], after: Mapping[Key, Doc], tenant: str) -> None:
    """An erasure never moves an anonymous total: merging one person's recent counts into a
    day's total would leave a total of that one person (the data map forbids `aggregate` as a
    removal action), so their buckets are deleted and every total is what it was."""
    totals_after = {k: d for k, d in after.items() if is_total(k, d) and tenant_of(d) == tenant}
    totals_before = {k: d for k, d in before.items() if is_total(k, d) and tenant_of(d) == tenant}
    assert totals_after == totals_before


def check_subject(
    before: Mapping[Key, Doc],
    after: Mapping[Key, Doc],
    tenant: str,
    user: str,
    mode: RemovalMode,
    pseudonym: Pseudonymizer,
) -> None:
    """Each of the person's records (by subject key) is what the mode's strategy leaves, and
    their raw id is gone from every store the mode does not keep."""
    actions = plan(mode)
    for key, doc in before.items():
        coll = key[0]
        if coll in OUTPUT or tenant_of(doc) != tenant:
            continue
        decl = DATA_MAP[Coll(coll)]
        if decl.subject_key is None or not holds(doc, decl.subject_key, user):
            continue
        action = actions.get(coll, Action("keep"))
        want = expected_after(
            action,
            doc,
            user,
            pseudonym(user),
            subject_key=decl.subject_key,
            flag=decl.anonymized_flag,
        )
        want = with_person_key(coll, want)
        assert after.get(key) == want, f"{mode}: {key} is {after.get(key)}, expected {want}"
    # Other people's records that named the person: the field is nullified or pseudonymized.
    for store, name, strategy in references(mode).values():
        for key, doc in before.items():
            if key[0] != store or tenant_of(doc) != tenant or doc.get(name) != user:
                continue
            if holds(doc, DATA_MAP[Coll(store)].subject_key or "", user):
                continue  # their own record: checked above
            out = {k: v for k, v in doc.items() if k != name}
            if strategy == "pseudonymize":
                out[name] = pseudonym(user)
            out = with_person_key(store, out) or out
            assert after.get(key) == out, f"{mode}: {key} is {after.get(key)}, expected {out}"
    for key, doc in after.items():
        coll = key[0]
        if coll in OUTPUT or tenant_of(doc) != tenant:
            continue
        if actions.get(coll, Action("keep")).strategy != "keep":
            assert not mentions(doc, user), f"{mode}: {key} still names {user}: {doc}"


def owed(before: Mapping[Key, Doc], tenant: str, user: str, mode: RemovalMode) -> Owed:
    """Store -> (method, records) the destruction log must show for erasing `user`: every
    record the mode changes, counted once."""
    counts: Owed = {}
    for coll, action in plan(mode).items():
        if action.strategy == "keep" or coll in OUTPUT:
            continue
        subject_key = DATA_MAP[Coll(coll)].subject_key or ""
        n = sum(
            1
            for (name, _), doc in before.items()
            if name == coll and tenant_of(doc) == tenant and holds(doc, subject_key, user)
        )
        if n:
            counts[coll] = (action.strategy, n)
    for label, (store, name, strategy) in references(mode).items():
        n = sum(
            1
            for (coll, _), doc in before.items()
            if coll == store and tenant_of(doc) == tenant and doc.get(name) == user
        )
        if n:
            counts[label] = (strategy, n)
    return counts


def log_of(docs: Mapping[Key, Doc], subject: str) -> list[Doc]:
    return [d for (c, _), d in docs.items() if c == "destruction_log" and d["subject"] == subject]


def log_not_ahead(
    docs: Mapping[Key, Doc], tenant: str, user: str, subject: str, want: Owed
) -> list[str]:
    """Right after a kill: every log entry carries the full count taken before destroying, and
    none says done while records it counts are still there. Returns the stores logged done."""
    done: list[str] = []
    for entry in log_of(docs, subject):
        label, store = label_of(entry), entry["store"]
        assert entry["records"] == want[label][1], f"{label}: logged {entry}, owed {want}"
        if entry["status"] != "done":
            continue
        done.append(label)
        field = entry.get("reference")
        subject_key = DATA_MAP[Coll(store)].subject_key or ""
        left = [
            k
            for k, d in docs.items()
            if k[0] == store
            and tenant_of(d) == tenant
            and (d.get(field) == user if field else holds(d, subject_key, user))
        ]
        assert not left, f"log says {store} done, yet {len(left)} records remain"
    return done


def check_log(after: Mapping[Key, Doc], subject: str, want: Owed) -> None:
    """The log accounts for exactly what was destroyed: per store, the entries (of the killed
    run and of the rerun, if they differ) add up to the records owed, and all are confirmed."""
    entries = log_of(after, subject)
    assert all(e["status"] == "done" for e in entries), entries
    totals: Owed = {}
    for e in entries:
        method, n = totals.get(label_of(e), (e["method"], 0))
        assert method == e["method"], e
        totals[label_of(e)] = (method, n + int(e["records"]))
    assert totals == want, f"log {totals} != destroyed {want}"


def open_runs(docs: Mapping[Key, Doc], tenant: str) -> list[Doc]:
    return [d for (c, _), d in docs.items() if c == "destruction_runs" and tenant_of(d) == tenant]


def check_no_raw_ids(
    after: Mapping[Key, Doc], people: Sequence[str], pseudonym: Pseudonymizer | None = None
) -> None:
    """The log names nobody: no raw id, and (given the pseudonymizer) none of the pseudonyms
    left in retained records either, so the log cannot be joined back to them."""
    for (coll, _), doc in after.items():
        if coll == "destruction_log":
            assert not any(mentions(doc, p) for p in people), doc
            if pseudonym is not None:
                assert not any(mentions(doc, pseudonym(p)) for p in people), doc
