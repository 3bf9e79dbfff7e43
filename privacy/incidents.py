"""The incident register: personal-data breaches, told to every affected controller.

JUNO is the processor. GDPR Art. 33(2) (and Art. 28(3)(f)) has it notify the controller "without
undue delay" after becoming aware of a breach; the controller then has 72 hours toward its
supervisory authority (Art. 33(1); the KVKK Board's decision 2019/10 asks for the same 72
hours). The controller can only meet that with the facts Art. 33(3) names: what happened, the
categories and approximate numbers of data subjects and of records, the likely consequences,
the measures taken or proposed, and a contact point. This module keeps exactly those facts.

One incident can touch several customers, but tenants never see each other's data: each affected
tenant holds its own document for the incident (`<tenant>:<incident id>`) with the shared facts
and only its own share (who and how many of *its* people and records). No person is named: the
subjects are counted by kind, the records by data category, and the contact is a contact point
of the operator (its DPO office or a role mailbox). The timeline (detected, opened, notified,
updated, closed) is what the admin desk shows, with the 72-hour clock the controller is on from
the moment its admins were told.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from privacy.datamap import DATA_MAP, SUBJECTS
from privacy.errors import PrivacyError
from storage.collections import Coll
from storage.repositories import TenantStore

# The controller's time toward the authority, counted from our notification (Art. 33(1)).
AUTHORITY_DEADLINE = timedelta(hours=72)
# Kinds of data subject and data categories: the data map's own, so the notices' and records'
# texts name them (privacy/locales) and an incident cannot name data JUNO does not hold.
SUBJECT_KINDS = SUBJECTS
DATA_CATEGORIES = tuple(sorted({c for dataset in DATA_MAP.values() for c in dataset.categories}))
MAX_TEXT = 2_000
MAX_CONTACT = 300
MAX_APPROX = 1_000_000_000
# A detection time a little ahead of our clock is skew, not the future.
CLOCK_SKEW = timedelta(minutes=5)


class IncidentError(PrivacyError):
    """Input that cannot become an incident record, or a transition that cannot happen; one line."""


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class EventKind(StrEnum):
    DETECTED = "detected"
    OPENED = "opened"
    NOTIFIED = "notified"
    NOT_REACHED = "not_reached"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True)
class Affected:
    """One tenant's share of an incident: kinds and approximate number of people, data
    categories and approximate number of records."""

    subjects: tuple[str, ...]
    subjects_approx: int
    records: tuple[str, ...]
    records_approx: int


@dataclass(frozen=True)
class Facts:
    """What every affected controller is told alike."""

    summary: str
    detected_at: datetime
    consequences: str
    measures: str
    contact: str


@dataclass(frozen=True)
class Event:
    kind: EventKind
    at: datetime
    note: str | None = None
    told: int | None = None
    admins: int | None = None

    def as_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"event": self.kind.value, "at": self.at}
        for name in ("note", "told", "admins"):
            value = getattr(self, name)
            if value is not None:
                doc[name] = value
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Event:
        return cls(
            kind=EventKind(doc["event"]),
            at=doc["at"],
            note=doc.get("note"),
            told=doc.get("told"),
            admins=doc.get("admins"),
        )


@dataclass(frozen=True)
class Incident:
    id: str
    tenant_id: str
    status: Status
    facts: Facts
    affected: Affected
    opened_at: datetime
    updated_at: datetime
    timeline: tuple[Event, ...]
    notified_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def deadline(self) -> datetime | None:
        """When the controller's 72 hours toward the authority end (None: not told yet)."""
        return self.notified_at + AUTHORITY_DEADLINE if self.notified_at else None

    def hours_left(self, now: datetime) -> float | None:
        deadline = self.deadline
        return (deadline - now).total_seconds() / 3600 if deadline else None

    def told_at(
        self, at: datetime, told: int, admins: int, about: EventKind, channel: str = "teams"
    ) -> Incident:
        """This incident as it reads once its admins are told at `at` (for the message that
        tells them, which is composed before the notification is recorded)."""
        note = f"{about.value} ({channel})"
        event = Event(EventKind.NOTIFIED, at, note=note, told=told, admins=admins)
        return replace(self, notified_at=self.notified_at or at, timeline=(*self.timeline, event))

    @classmethod
    def from_doc(cls, tenant_id: str, doc: Mapping[str, Any]) -> Incident:
        return cls(
            id=str(doc["incident_id"]),
            tenant_id=tenant_id,
            status=Status(doc["status"]),
            facts=Facts(
                summary=doc["summary"],
                detected_at=doc["detected_at"],
                consequences=doc["consequences"],
                measures=doc["measures"],
                contact=doc["contact"],
            ),
            affected=Affected(
                subjects=tuple(doc.get("subjects") or ()),
                subjects_approx=int(doc.get("subjects_approx") or 0),
                records=tuple(doc.get("records") or ()),
                records_approx=int(doc.get("records_approx") or 0),
            ),
            opened_at=doc["opened_at"],
            updated_at=doc.get("updated_at") or doc["opened_at"],
            timeline=tuple(Event.from_doc(e) for e in doc.get("timeline") or ()),
            notified_at=doc.get("notified_at"),
            closed_at=doc.get("closed_at"),
        )

    def as_dict(self, now: datetime | None = None) -> dict[str, Any]:
        at = now or datetime.now(UTC)

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        left = self.hours_left(at)
        return {
            "id": self.id,
            "tenant_id": self.tenant_id,
            "status": self.status.value,
            "summary": self.facts.summary,
            "detected_at": iso(self.facts.detected_at),
            "consequences": self.facts.consequences,
            "measures": self.facts.measures,
            "contact": self.facts.contact,
            "subjects": list(self.affected.subjects),
            "subjects_approx": self.affected.subjects_approx,
            "records": list(self.affected.records),
            "records_approx": self.affected.records_approx,
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "notified_at": iso(self.notified_at),
            "authority_deadline": iso(self.deadline),
            "hours_left": round(left, 1) if left is not None else None,
            "closed_at": iso(self.closed_at),
            "timeline": [
                {**e.as_doc(), "event": e.kind.value, "at": e.at.isoformat()} for e in self.timeline
            ],
        }


# Validation ----------------------------------------------------------------------------------


def _clean(value: str, what: str, limit: int) -> str:
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if not text:
        raise IncidentError(f"{what} must not be empty")
    if len(text) > limit:
        raise IncidentError(f"{what} is longer than {limit} characters")
    return text


def _approx(value: int, what: str) -> int:
    if not 0 <= value <= MAX_APPROX:
        raise IncidentError(f"{what} must be a number from 0 to {MAX_APPROX}")
    return value


def affected(
    subjects: Sequence[str], subjects_approx: int, records: Sequence[str], records_approx: int
) -> Affected:
    """A validated share: the data map's kinds of people and its personal data categories."""
    kinds = tuple(dict.fromkeys(s.strip().lower() for s in subjects if s.strip()))
    if not kinds:
        raise IncidentError(f"name the kinds of people affected ({', '.join(SUBJECT_KINDS)})")
    for kind in kinds:
        if kind not in SUBJECT_KINDS:
            raise IncidentError(
                f"unknown kind of people {kind!r}; choose from {', '.join(SUBJECT_KINDS)}"
            )
    categories = tuple(dict.fromkeys(r.strip() for r in records if r.strip()))
    if not categories:
        raise IncidentError("name the data categories affected (e.g. user.contact.email)")
    for category in categories:
        if category not in DATA_CATEGORIES:
            raise IncidentError(
                f"unknown data category {category!r}; use a personal category of the data map "
                "(`juno ropa` lists them), e.g. user.name or user.contact.email"
            )
    return Affected(
        kinds,
        _approx(subjects_approx, "the number of people"),
        categories,
        _approx(records_approx, "the number of records"),
    )


def facts(
    *,
    summary: str,
    detected_at: datetime,
    consequences: str,
    measures: str,
    contact: str,
    now: datetime | None = None,
) -> Facts:
    at = now or datetime.now(UTC)
    if detected_at.tzinfo is None:
        raise IncidentError("the detection time needs a time zone (e.g. 2026-12-01T08:30Z)")
    if detected_at > at + CLOCK_SKEW:
        raise IncidentError("the detection time is in the future")
    return Facts(
        summary=_clean(summary, "what happened", MAX_TEXT),
        detected_at=detected_at.astimezone(UTC),
        consequences=_clean(consequences, "the likely consequences", MAX_TEXT),
        measures=_clean(measures, "the measures taken", MAX_TEXT),
        contact=_clean(contact, "the contact point", MAX_CONTACT),
    )


def new_incident_id(now: datetime | None = None) -> str:
    at = now or datetime.now(UTC)
    return f"INC-{at.strftime('%Y%m%d')}-{secrets.token_hex(3)}"


# The register -------------------------------------------------------------------------------


async def _audit(
    store: TenantStore, actor: str, incident_id: str, action: str, outcome: str
) -> None:
    await store.audit_log.record(
        actor=actor,
        action=f"incident_{action}",
        target=f"incident:{incident_id}",
        outcome=outcome,
    )


def _share(share: Affected) -> dict[str, Any]:
    return {
        "subjects": list(share.subjects),
        "subjects_approx": share.subjects_approx,
        "records": list(share.records),
        "records_approx": share.records_approx,
    }


def _facts(found: Facts) -> dict[str, Any]:
    return {
        "summary": found.summary,
        "detected_at": found.detected_at,
        "consequences": found.consequences,
        "measures": found.measures,
        "contact": found.contact,
    }


async def open_incident(
    store: TenantStore,
    incident_id: str,
    found: Facts,
    share: Affected,
    *,
    actor: str,
    now: datetime | None = None,
) -> Incident:
    """Record the tenant's share of an incident (a tenant found affected later joins the same
    incident id). Opening it again for the same tenant is refused: that is an update."""
    at = now or datetime.now(UTC)
    fields = {
        "incident_id": incident_id,
        "status": Status.OPEN.value,
        **_facts(found),
        **_share(share),
        "opened_at": at,
        "updated_at": at,
        "notified_at": None,
        "closed_at": None,
        "timeline": [
            Event(EventKind.DETECTED, found.detected_at).as_doc(),
            Event(EventKind.OPENED, at).as_doc(),
        ],
    }
    if not await store.incidents.put_once(incident_id, fields):
        raise IncidentError(f"incident {incident_id} is already open for tenant {store.tenant_id}")
    await _audit(store, actor, incident_id, "open", "opened")
    return Incident.from_doc(store.tenant_id, fields)


async def pending_incidents(store: TenantStore) -> list[tuple[Incident, EventKind]]:
    """Incidents whose last notice reached no admin, with what that notice was about."""
    found = []
    for doc in await store.incidents.find({}):
        pending = doc.get("pending")
        if isinstance(pending, str) and pending in EventKind.__members__.values():
            found.append((Incident.from_doc(store.tenant_id, doc), EventKind(pending)))
    return found


async def get_incident(store: TenantStore, incident_id: str) -> Incident | None:
    doc = await store.incidents.get(incident_id)
    return Incident.from_doc(store.tenant_id, doc) if doc else None


async def require_incident(store: TenantStore, incident_id: str) -> Incident:
    found = await get_incident(store, incident_id)
    if found is None:
        raise IncidentError(f"no incident {incident_id!r} in tenant {store.tenant_id}")
    return found


async def incidents_of(store: TenantStore) -> list[Incident]:
    """Open incidents first, then the rest; newest first within each."""
    docs = await store.incidents.find({})
    found = [Incident.from_doc(store.tenant_id, d) for d in docs]
    found.sort(key=lambda i: i.opened_at, reverse=True)
    return sorted(found, key=lambda i: i.status is not Status.OPEN)


async def _write(store: TenantStore, incident_id: str, update: Mapping[str, Any]) -> Incident:
    coll = store.collections[Coll.INCIDENTS]
    await coll.update_one({"_id": coll.key(incident_id)}, update)
    return await require_incident(store, incident_id)


async def update_incident(
    store: TenantStore,
    incident_id: str,
    *,
    changes: Mapping[str, Any],
    share: Affected | None = None,
    note: str | None = None,
    actor: str,
    now: datetime | None = None,
) -> Incident:
    """Change facts (any of Facts' fields) and/or this tenant's share; a closed incident can
    still be corrected, and the controller is told either way."""
    current = await require_incident(store, incident_id)
    at = now or datetime.now(UTC)
    allowed = set(_facts(current.facts))
    unknown = set(changes) - allowed
    if unknown:
        raise IncidentError(f"cannot change {', '.join(sorted(unknown))} of an incident")
    fields = dict(changes)
    if share is not None:
        fields |= _share(share)
    changed = sorted(
        name for name, value in fields.items() if _current_value(current, name) != value
    )
    if not changed:
        raise IncidentError(f"nothing to change in incident {incident_id}")
    text = _clean(note, "the note", MAX_TEXT) if note else None
    event = Event(EventKind.UPDATED, at, note=text or ", ".join(changed))
    updated = await _write(
        store,
        incident_id,
        {"$set": {**fields, "updated_at": at}, "$push": {"timeline": event.as_doc()}},
    )
    await _audit(store, actor, incident_id, "update", f"changed {', '.join(changed)}")
    return updated


def _current_value(incident: Incident, name: str) -> Any:
    if hasattr(incident.facts, name):
        return getattr(incident.facts, name)
    value = getattr(incident.affected, name)
    return list(value) if isinstance(value, tuple) else value


async def close_incident(
    store: TenantStore,
    incident_id: str,
    *,
    note: str,
    actor: str,
    now: datetime | None = None,
) -> Incident:
    current = await require_incident(store, incident_id)
    if current.status is Status.CLOSED:
        raise IncidentError(f"incident {incident_id} is already closed")
    text = _clean(note, "the closing note", MAX_TEXT)
    at = now or datetime.now(UTC)
    event = Event(EventKind.CLOSED, at, note=text)
    closed = await _write(
        store,
        incident_id,
        {
            "$set": {"status": Status.CLOSED.value, "closed_at": at, "updated_at": at},
            "$push": {"timeline": event.as_doc()},
        },
    )
    await _audit(store, actor, incident_id, "close", "closed")
    return closed


async def record_notification(
    store: TenantStore,
    incident_id: str,
    *,
    about: EventKind,
    told: int,
    admins: int,
    channel: str = "teams",
    now: datetime | None = None,
) -> Incident:
    """Record that the tenant's admins were told (or could not be). The first time at least one
    was told is the notification time; the controller's 72 hours count from it."""
    at = now or datetime.now(UTC)
    current = await require_incident(store, incident_id)
    kind = EventKind.NOTIFIED if told else EventKind.NOT_REACHED
    event = Event(kind, at, note=f"{about.value} ({channel})", told=told, admins=admins)
    update: dict[str, Any] = {"$push": {"timeline": event.as_doc()}}
    if told:
        update["$unset"] = {"pending": ""}
        if current.notified_at is None:
            update["$set"] = {"notified_at": at}
    else:  # `juno serve` keeps trying (juno.processor) until an admin is told
        update["$set"] = {"pending": about.value}
    updated = await _write(store, incident_id, update)
    await _audit(
        store,
        "juno",
        incident_id,
        "notify",
        f"{about.value}: told {told} of {admins} admins via {channel}",
    )
    return updated
