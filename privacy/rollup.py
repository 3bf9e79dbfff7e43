"""Per-subject count buckets and the anonymous totals they end in (usage KPIs).

Why buckets: a store that only needs "how often, per person, per day" should not keep a
timestamped record of every action (data minimization), and one document per person and day
instead of one per action makes export, erasure and retention touch a few hundred documents
where they touched tens of thousands.

Why merging is marked and journaled: anonymizing a bucket means adding its counts to the
tenant's anonymous total for that day and deleting the bucket (its key names the person, so
removing a field is not enough). Those are writes to two documents and we have no safe
multi-document transactions (DESIGN.md §4), so a crash can land between them. A merge
therefore:

1. marks the buckets it is about to merge with a fresh random token (a bucket is marked at most
   once, so it belongs to exactly one token): one token per bucket when merging one person's
   buckets (an erasure), one for the whole pass when merging everyone's past a cutoff (a
   sweep: one write for all of them);
2. adds each token's buckets to their day's total in one update per day that also pushes the
   token onto that total's journal and requires it absent: at most once per token and day;
3. deletes the marked buckets.

A rerun, or any later merge that meets a marked bucket (an erasure after a crashed sweep, a
sweep after a crashed erasure), takes the token's whole group and adds it where the journal
does not hold the token yet, so counts are never added twice. Tokens are random, and a
person's buckets get one each, so a journal links neither a person nor one person's days.
They stay in the journals (a handful per day: the sweep plus each erasure of someone active
that day), because dropping one safely would need the very transaction we do not have.

Left open, under true concurrency only: a merge that reads a sweep's group while the sweep is
still marking it adds only what was marked by then, and the journal then stops the sweep from
adding the rest; counts the bot writes in the second an erasure merges that person's bucket of
today are lost the same way. Both undercount a day's total; neither counts twice nor leaves a
merged bucket behind.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from storage.scoped import KeyedUpsert, TenantCollection

Hook = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Rollup:
    """How a store keeps per-subject count buckets and the anonymous totals beside them.

    Buckets are keyed `<bucket_prefix>:<subject>:<YYYY-MM-DD>` and hold the subject, the day,
    and `{kind: n}` counts; totals are keyed `<totals_prefix>:<YYYY-MM-DD>` (a prefix a bucket
    key can never have, whatever the subject id) and hold the day, the summed counts, how many
    buckets were merged (`distinct`: people active that day) and the merge journal.
    """

    bucket_prefix: str
    totals_prefix: str
    subject: str
    period: str
    counts: str
    distinct: str
    marker: str
    journal: str
    updated: str
    # k-anonymity: a total covering fewer subjects than this is not kept once its period is
    # final; `tenant_min_subjects` names a tenant record field that replaces it.
    min_subjects: int = 5
    tenant_min_subjects: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (
            self.subject,
            self.period,
            self.counts,
            self.distinct,
            self.marker,
            self.journal,
            self.updated,
        )

    def bucket_key(self, subject: str, day: datetime) -> list[str]:
        return [self.bucket_prefix, subject, f"{day:%Y-%m-%d}"]

    def totals_key(self, day: datetime) -> list[str]:
        return [self.totals_prefix, f"{day:%Y-%m-%d}"]


def day_of(at: datetime) -> datetime:
    """The UTC day `at` falls on, as midnight UTC (naive datetimes are taken as UTC)."""
    moment = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC)


def count_name(kind: str) -> str:
    """A kind as a counter name: no dots (a dot would nest) and no leading `$`."""
    name = kind.replace(".", "_").lstrip("$")
    return name or "_"


def bucket_op(
    coll: TenantCollection,
    rollup: Rollup,
    subject: str,
    day: datetime,
    counts: Mapping[str, int],
    now: datetime,
    *,
    once: tuple[str, str] | None = None,
) -> KeyedUpsert:
    """Add `counts` to the subject's bucket for `day` (creating it): one `$inc` upsert."""
    inc = {f"{rollup.counts}.{count_name(kind)}": n for kind, n in counts.items() if n}
    return coll.upsert_op(
        rollup.bucket_key(subject, day),
        {rollup.subject: subject, rollup.period: day, rollup.updated: now},
        inc=inc,
        once=once,
    )


def totals_op(
    coll: TenantCollection,
    rollup: Rollup,
    day: datetime,
    counts: Mapping[str, int],
    distinct: int,
    token: str,
    now: datetime,
) -> KeyedUpsert:
    """Add to the day's anonymous total, at most once for `token`."""
    inc = {f"{rollup.counts}.{count_name(kind)}": n for kind, n in counts.items() if n}
    inc[rollup.distinct] = distinct  # even 0: every total says how many people it counts
    return coll.upsert_op(
        rollup.totals_key(day),
        {rollup.period: day, rollup.updated: now},
        inc=inc,
        once=(rollup.journal, token),
    )


PERSON, WIDE = "p", "a"


def new_token(kind: str) -> str:
    return kind + uuid.uuid4().hex


def holding(rollup: Rollup, selector: Mapping[str, Any]) -> dict[str, Any]:
    """The selected documents that are buckets (name a subject), never the totals."""
    if rollup.subject in selector:
        return dict(selector)  # the selector names the subject already; do not widen it
    return {**selector, rollup.subject: {"$exists": True}}


def counts_of(doc: Mapping[str, Any], rollup: Rollup) -> Counter[str]:
    raw = doc.get(rollup.counts)
    if not isinstance(raw, Mapping):
        return Counter()
    return Counter({str(k): v for k, v in raw.items() if isinstance(v, int) and v > 0})


async def _noop(_: str) -> None:
    return None


async def merge(
    coll: TenantCollection,
    rollup: Rollup,
    selector: Mapping[str, Any],
    *,
    subject: str | None = None,
    hook: Hook | None = None,
    now: datetime | None = None,
) -> int:
    """Merge the selected buckets into the anonymous daily totals, exactly once, and delete
    them (see the module docstring). `subject`: the selector is one person's (an erasure).
    Returns how many buckets were deleted."""
    hook = hook or _noop
    at = now or datetime.now(UTC)
    mine = holding(rollup, selector)
    marker, unmarked = rollup.marker, {rollup.marker: {"$exists": False}}

    # 1. Mark what is not marked yet. One person's buckets get a token each, so no token in
    # a total's journal ties that person's days together; everyone's (a sweep) share one.
    if subject is not None:
        fresh = await coll.find({**mine, **unmarked}, projection={"_id": 1})
        requests = [
            ({"_id": d["_id"], **unmarked}, {"$set": {marker: new_token(PERSON)}}) for d in fresh
        ]
        changed = await coll.update_each(requests)
    else:
        changed = await coll.update_many({**mine, **unmarked}, {"$set": {marker: new_token(WIDE)}})
    if changed:
        await hook(f"marked:{coll.name}")

    # 2. The groups: a person token marks one bucket; a wide token's group is re-read whole
    # when it reaches past the selector (an erasure meeting what a crashed sweep marked).
    fields = {rollup.subject: 1, rollup.period: 1, rollup.counts: 1, marker: 1}
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in await coll.find({**mine, marker: {"$exists": True}}, projection=fields):
        groups.setdefault(doc[marker], []).append(doc)
    if not groups:
        return 0
    for token, docs in groups.items():
        if not token.startswith(PERSON) and await coll.count({marker: token}) != len(docs):
            groups[token] = await coll.find({marker: token}, projection=fields)

    # 3. Each token's buckets into their day's total, at most once per token and day.
    ops = [
        totals_op(coll, rollup, day, counts, n, token, at)
        for token, docs in sorted(groups.items())
        for day, (counts, n) in sorted(_by_day(docs, rollup).items())
    ]
    if ops:
        await coll.bulk(ops)
        await hook(f"merged:{coll.name}")

    # 4. Every group is in its totals now: the buckets can go.
    deleted = 0
    per_person: dict[str, list[str]] = {}
    for token, docs in groups.items():
        if token.startswith(PERSON):
            per_person.setdefault(str(docs[0].get(rollup.subject)), []).append(token)
        else:
            deleted += await coll.delete_many({marker: token})
    for person, tokens in per_person.items():
        # By person first: the subject index keeps this a lookup, not a scan.
        deleted += await coll.delete_many({rollup.subject: person, marker: {"$in": tokens}})
    return deleted


def _by_day(docs: list[dict[str, Any]], rollup: Rollup) -> dict[datetime, tuple[Counter[str], int]]:
    days: dict[datetime, tuple[Counter[str], int]] = {}
    for doc in docs:
        day = doc.get(rollup.period)
        if not isinstance(day, datetime):
            continue  # a bucket without a day has nothing a total could be kept for
        counts, n = days.get(day, (Counter[str](), 0))
        days[day] = (counts + counts_of(doc, rollup), n + 1)
    return days


def small_totals(rollup: Rollup, final_before: datetime, k: int) -> dict[str, Any]:
    """Totals of periods that are final (no bucket of theirs can be merged any more: the
    sweep merged everything before `final_before`) and cover fewer than `k` subjects. Such a
    total points at a handful of people, so it is suppressed (deleted) rather than kept: a
    coarser total (a month) cannot say how many *distinct* people it covers once the days are
    merged, so it would not be k-anonymous either."""
    return {
        rollup.subject: {"$exists": False},
        rollup.period: {"$lt": final_before},
        "$or": [{rollup.distinct: {"$lt": k}}, {rollup.distinct: {"$exists": False}}],
    }


async def mergeable(coll: TenantCollection, rollup: Rollup, selector: Mapping[str, Any]) -> int:
    """How many buckets `merge` would remove now."""
    return await coll.count(holding(rollup, selector))
