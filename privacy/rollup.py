"""Per-subject count buckets and the anonymous totals they end in (usage KPIs).

Why buckets: a store that only needs "how often, per person, per day" should not keep a
timestamped record of every action (data minimization), and one document per person and day
instead of one per action makes export, erasure and retention touch a few hundred documents
where they touched tens of thousands.

Why merging is marked and journaled: anonymizing buckets means adding their counts to the
tenant's anonymous total for their day and deleting them (a bucket's key names the person, so
removing a field is not enough). Those are writes to two documents and we have no safe
multi-document transactions (DESIGN.md §4), so a crash can land between them. A merge
therefore:

1. marks the buckets it is about to merge with one fresh random token for the whole pass (a
   bucket is marked at most once, so it belongs to exactly one token);
2. adds the token's buckets to their day's total in one update per day that also pushes the
   token onto that total's journal and requires it absent: at most once per token and day;
3. deletes the marked buckets.

A rerun meets the marked buckets, takes the token's whole group and adds it where the journal
does not hold the token yet, so counts are never added twice. An erasure between a crashed
merge and its rerun deletes the person's buckets, marked or not, so what the rerun adds is
everyone else's. Tokens are random and name nobody; they stay in the journals (one per sweep
that met the day), because dropping one safely would need the very transaction we do not have.

Why only whole periods are merged (the retention sweep, once a day is past the window), never
one person's buckets: until the sweep, a day's total would hold only the counts of people merged
early, and a total of one person names that person. So an erasure deletes a person's buckets
(the data map declares it), and every total the sweep keeps covers at least k people
(`small_totals`).
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


def new_token() -> str:
    return uuid.uuid4().hex


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
    hook: Hook | None = None,
    now: datetime | None = None,
) -> int:
    """Merge the selected buckets (whole periods: see the module docstring) into the anonymous
    daily totals, exactly once, and delete them. Returns how many buckets were deleted."""
    hook = hook or _noop
    at = now or datetime.now(UTC)
    mine = holding(rollup, selector)
    marker, unmarked = rollup.marker, {rollup.marker: {"$exists": False}}

    # 1. Mark what is not marked yet: one token for the pass, one write for all of them.
    if await coll.update_many({**mine, **unmarked}, {"$set": {marker: new_token()}}):
        await hook(f"marked:{coll.name}")

    # 2. The groups: a token's group is re-read whole when it reaches past the selector (a
    # crashed pass resumed with an earlier cutoff).
    fields = {rollup.subject: 1, rollup.period: 1, rollup.counts: 1, marker: 1}
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in await coll.find({**mine, marker: {"$exists": True}}, projection=fields):
        groups.setdefault(doc[marker], []).append(doc)
    if not groups:
        return 0
    for token, docs in groups.items():
        if await coll.count({marker: token}) != len(docs):
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
    for token in groups:
        deleted += await coll.delete_many({marker: token})
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


def small_totals(rollup: Rollup, k: int) -> dict[str, Any]:
    """Totals covering fewer than `k` subjects. The sweep merges whole days only, and runs this
    right after, so a total it keeps covers at least k people; a total of a day inside the
    window can only come from an erasure before erasures deleted buckets (they merged them),
    and holds those few people. Such a total points at a handful of people, so it is suppressed
    (deleted) rather than kept: a coarser total (a month) cannot say how many *distinct*
    people it covers once the days are merged, so it would not be k-anonymous either."""
    return {
        rollup.subject: {"$exists": False},
        "$or": [{rollup.distinct: {"$lt": k}}, {rollup.distinct: {"$exists": False}}],
    }


async def mergeable(coll: TenantCollection, rollup: Rollup, selector: Mapping[str, Any]) -> int:
    """How many buckets `merge` would remove now."""
    return await coll.count(holding(rollup, selector))
