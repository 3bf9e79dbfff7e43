"""The data map: every collection, the personal data it holds, why, for how long, who receives
it, and what export and each removal mode do to it.

This is the single declaration that export, erasure, retention and the record of processing are
derived from. Adding a collection or a field to a document without declaring it here fails the
test suite (tests/unit/privacy/test_datamap.py), on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from privacy.errors import PrivacyError
from privacy.removal_modes import RemovalMode
from privacy.rollup import Hook, Rollup
from privacy.strategies import ANONYMIZING, STRATEGIES, Target, subject_selector
from privacy.taxonomy import is_known, is_personal
from storage.collections import ALL_COLLECTIONS, Coll
from storage.keys import TKEY, TUSER
from storage.repositories import TenantRecord, TenantStore
from storage.scoped import TenantCollection


@dataclass(frozen=True)
class Retention:
    """How long a store's records live and what the sweep does at the end.

    `clock` names the field whose age counts against `days`; `expires` a field holding an
    absolute expiry; `fields` what an anonymizing `at_end` acts on; `tenant_days` a tenant
    record field that replaces `days`; `erase_after` a timestamp after which the subject is
    erased in full (after a grace period set by the operator).
    """

    days: int | None
    at_end: str
    rule: str
    clock: str | None = None
    expires: str | None = None
    fields: tuple[str, ...] = ()
    tenant_days: str | None = None
    erase_after: str | None = None

    @property
    def swept(self) -> bool:
        return (self.days is not None and self.clock is not None) or self.expires is not None


@dataclass(frozen=True)
class Action:
    strategy: str
    fields: tuple[str, ...] = ()

    def describe(self, locale: str = "en") -> str:
        return STRATEGIES[self.strategy].describe(self.fields, locale)


@dataclass(frozen=True)
class Reference:
    """A field that names *another* person (by their user id) in records that are not theirs:
    a report's manager, the admin who decided a request, the reviewer of an access review.
    Erasing that person treats the field as `removal` says for the mode in force; a reference
    is never kept raw, whatever the mode, because the record belongs to someone else."""

    field: str
    removal: Mapping[RemovalMode, str]

    def strategy(self, mode: RemovalMode) -> str:
        return self.removal[mode]


def _ref(name: str, strategy: str) -> Reference:
    return Reference(name, dict.fromkeys(RemovalMode, strategy))


class Purge(IntEnum):
    """When a tenant purge (contract end) empties a dataset, in this order."""

    WITH_DATA = 0
    # Emptied after the data, around the purge's own run document.
    AFTER_DATA = 1
    # Last, so an interrupted purge can still be found and finished by the tenant's name.
    LAST = 2


@dataclass(frozen=True)
class Dataset:
    """The data map's declaration of one collection: what it holds and what is done to it."""

    collection: Coll
    title: str
    fields: Mapping[str, str]
    purpose: str
    legal_basis: str
    retention: Retention
    recipients: tuple[str, ...]
    source: str
    subject_key: str | None = None
    export_fields: tuple[str, ...] = ()
    removal: Mapping[RemovalMode, Action] = field(default_factory=dict)
    # Why a personal store is left out of a user's export (it must say, or export it).
    export_exempt: str | None = None
    # What the store is about, for a tenant's per-category removal overrides; None: fixed.
    about: str | None = None
    # The fields an anonymizing override (nullify, pseudonymize) acts on.
    identifiers: tuple[str, ...] = ()
    # A boolean field set on records once they are anonymized.
    anonymized_flag: str | None = None
    # What an anonymizing override (nullify, pseudonymize) becomes where removing identifiers
    # in place is not enough because the record's key names the person; None: as asked.
    anonymizer: str | None = None
    # Per-subject count buckets and their anonymous totals, for the `aggregate` strategy.
    rollup: Rollup | None = None
    # Fields naming other people (see Reference); erasing one of them treats these too.
    references: tuple[Reference, ...] = ()
    # One entry per tenant in the shared tenant registry (reached through the tenant's own
    # record), not a collection of the tenant's own.
    registry: bool = False
    # Written by destruction runs themselves (the log, the run documents): the field naming the
    # run a record belongs to. A run never treats its own records, and erasing a person never
    # treats these at all (the log is the proof; run documents remove themselves).
    run_record: str | None = None
    # When a tenant purge empties it; None: it outlives the contract (the proof of destruction).
    purge: Purge | None = Purge.WITH_DATA

    def handle(self, store: TenantStore) -> TenantCollection:
        """The tenant-scoped handle on this dataset's documents."""
        if self.registry:
            return store.own_record.collection
        return store.collections[self.collection]

    def target(
        self,
        store: TenantStore,
        selector: Mapping[str, Any],
        *,
        pseudonym: Callable[[str], str],
        fields: tuple[str, ...] = (),
        subject_key: str | None = None,
        subject: str | None = None,
        run_id: str | None = None,
        hook: Hook | None = None,
    ) -> Target:
        """What a strategy acts on here: the documents `selector` picks (never those of run
        `run_id` itself), with the dataset's own subject key, flag and rollup."""
        if run_id is not None and self.run_record is not None:
            selector = {"$and": [dict(selector), {self.run_record: {"$ne": run_id}}]}
        return Target(
            coll=self.handle(store),
            selector=selector,
            subject_key=subject_key or self.subject_key or "_id",
            fields=fields,
            pseudonym=pseudonym,
            subject=subject,
            flag=self.anonymized_flag,
            rollup=self.rollup,
            hook=hook,
        )

    def subject_target(
        self,
        store: TenantStore,
        user_id: str,
        *,
        pseudonym: Callable[[str], str],
        fields: tuple[str, ...],
        hook: Hook | None = None,
    ) -> Target:
        """One person's own documents here."""
        if self.subject_key is None:
            raise DataMapError(f"{self.collection.value} has no subject key")
        return self.target(
            store,
            subject_selector(self.subject_key, user_id),
            pseudonym=pseudonym,
            fields=fields,
            subject=user_id,
            hook=hook,
        )

    def reference_target(
        self,
        store: TenantStore,
        reference: str,
        user_id: str,
        *,
        pseudonym: Callable[[str], str],
        hook: Hook | None = None,
    ) -> Target:
        """Other people's documents that name the person in the `reference` field: only that
        field is treated, and the records are not this person's to flag or merge."""
        return Target(
            coll=self.handle(store),
            selector={reference: user_id},
            subject_key=reference,
            fields=(reference,),
            pseudonym=pseudonym,
            subject=user_id,
            hook=hook,
        )

    @property
    def strategies(self) -> set[str]:
        """Every strategy the declaration can apply to this store."""
        used = {action.strategy for action in self.removal.values()}
        used.add(self.retention.at_end)
        if self.anonymizer:
            used.add(self.anonymizer)
        used |= {ref.strategy(m) for ref in self.references for m in ref.removal}
        return used

    @property
    def personal(self) -> bool:
        return any(is_personal(category) for category in self.fields.values())

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(sorted({c for c in self.fields.values() if is_personal(c)}))


SYSTEM_FIELDS: dict[str, str] = {
    "_id": "system.key",
    TKEY: "system.key",
    "tenant_id": "system.tenant",
}
# Stores read by person also carry the tenant-scoped person key (storage.collections).
PERSON_KEYED_FIELDS: dict[str, str] = {**SYSTEM_FIELDS, TUSER: "system.key"}
_OUR_STAFF = "JUNO operators (processor), for support and security only"
_ADMINS = "the customer's tenant admins"
_COWORKERS = "colleagues in the same tenant, through directory lookups"


def top(name: str) -> str:
    """The stored top-level field a (possibly dotted) name lives in."""
    return name.split(".", 1)[0]


def _every_mode(action: Action) -> dict[RemovalMode, Action]:
    return dict.fromkeys(RemovalMode, action)


DELETE = Action("delete")
KEEP = Action("keep")

DATA_MAP: dict[Coll, Dataset] = {
    s.collection: s
    for s in (
        Dataset(
            collection=Coll.TENANTS,
            title="Tenant registry",
            fields={
                **SYSTEM_FIELDS,
                "name": "system.operations",
                "enabled": "system.operations",
                "removal_mode": "system.operations",
                "kpi_retention_days": "system.operations",
                "kpi_min_users": "system.operations",
                "notice_version": "system.operations",
                "eula_version": "system.operations",
                "default_locale": "system.operations",
                "sync_interval_minutes": "system.operations",
                "graph": "system.operations",
                "admins": "user.role",
                "removal_overrides": "system.operations",
                # The controller's published business contact (privacy.facts), not a user's.
                "controller": "system.operations",
                "legal_bases": "system.operations",
                "demo": "system.operations",
                "created_at": "system.time",
                "updated_at": "system.time",
            },
            purpose="Run the service for each customer under its contract settings; know who "
            "the customer's tenant admins are",
            legal_basis="Contract with the customer (GDPR Art. 6(1)(b); KVKK Art. 5(2)(c))",
            retention=Retention(None, "delete", "for the contract term, purged at its end"),
            recipients=(_OUR_STAFF,),
            source="the customer, at onboarding",
            subject_key="admins.user_id",
            export_fields=("name", "admins"),
            # Someone erased holds no role any more, in any mode; the list keeps the others.
            removal=_every_mode(Action("pull", ("admins",))),
            registry=True,
            purge=Purge.LAST,
        ),
        Dataset(
            collection=Coll.PROFILES,
            title="Directory profiles (summarized Office 365 profile)",
            fields={
                **SYSTEM_FIELDS,
                "user_id": "user.unique_id",
                "given_name": "user.name",
                "surname": "user.name",
                "display_name": "user.name",
                "mail": "user.contact.email",
                "job_title": "user.job_title",
                "position": "user.job_title",
                "department": "user.workplace.department",
                "office_location": "user.workplace.location",
                "employee_id": "user.unique_id.employee_id",
                "is_intern": "user.employment.intern",
                "manager_id": "user.workplace.manager",
                "account_enabled": "user.employment.account",
                "user_type": "user.employment.account",
                "hidden": "user.employment.account",
                "soft_deleted_at": "system.time",
                "search_keys": "user.name.search_key",
                "overrides": "user.request",
                "synced_at": "system.time",
                "seen_in_round": "system.operations",
            },
            purpose="Employee directory: find colleagues, show the org chart",
            legal_basis="Legitimate interest of the employer in an internal directory "
            "(GDPR Art. 6(1)(f); KVKK Art. 5(2)(f))",
            retention=Retention(
                None,
                "delete",
                "while the person is in the customer's Entra ID directory; an account deleted "
                "there (soft-deleted) is erased after a grace period (30 days by default)",
                erase_after="soft_deleted_at",
            ),
            recipients=(_COWORKERS, _ADMINS, _OUR_STAFF),
            source="the customer's Microsoft Entra ID, through Microsoft Graph",
            subject_key="user_id",
            export_fields=(
                "user_id",
                "given_name",
                "surname",
                "display_name",
                "mail",
                "job_title",
                "position",
                "department",
                "office_location",
                "employee_id",
                "is_intern",
                "manager_id",
                "account_enabled",
                "overrides",
                "synced_at",
            ),
            removal=_every_mode(DELETE),
            # A report keeps their profile; the erased manager's id leaves it (org chart: no
            # manager shown, docs/privacy.md).
            references=(_ref("manager_id", "nullify"),),
        ),
        Dataset(
            collection=Coll.SYNC_STATE,
            title="Directory sync state",
            fields={
                **SYSTEM_FIELDS,
                "delta_link": "system.operations",
                "round": "system.operations",
                "lease_holder": "system.operations",
                "lease_until": "system.time",
                "last_run": "system.operations",
                "runs": "system.operations",
                "first_success_at": "system.time",
                "updated_at": "system.time",
                # The directory version profile writes bump (storage.search_index).
                "version": "system.operations",
                "epoch": "system.operations",
            },
            purpose="Resume incremental directory syncs and keep two workers apart",
            legal_basis="Not personal data",
            retention=Retention(None, "delete", "for the contract term"),
            recipients=(_OUR_STAFF, _ADMINS),
            source="the sync engine",
        ),
        Dataset(
            collection=Coll.GRAPH_SUBSCRIPTIONS,
            title="Directory change-notification subscription",
            fields={
                **SYSTEM_FIELDS,
                "subscription_id": "system.operations",
                "resource": "system.operations",
                "status": "system.operations",
                "client_state_sha256": "system.operations",
                "expires_at": "system.time",
                "created_at": "system.time",
                "renewed_at": "system.time",
                "reauthorized_at": "system.time",
                "last_notification_at": "system.time",
                "notifications": "system.operations",
                "rejected": "system.operations",
                "last_rejected_at": "system.time",
                "last_lifecycle_event": "system.operations",
                "last_lifecycle_at": "system.time",
                "last_error": "system.operations",
                "next_attempt_at": "system.time",
                "busy_by": "system.operations",
                "busy_until": "system.time",
                "updated_at": "system.time",
            },
            purpose="Learn of directory changes within seconds so a delta round can follow",
            legal_basis="Not personal data",
            retention=Retention(None, "delete", "for the contract term"),
            recipients=(_OUR_STAFF, _ADMINS),
            source="the sync engine (Microsoft Graph subscriptions)",
        ),
        Dataset(
            collection=Coll.CONSENTS,
            title="Consent trail (privacy notice acknowledgements, EULA decisions)",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "document": "user.consent",
                "version": "user.consent",
                "text_sha256": "user.consent",
                "action": "user.consent",
                "at": "system.time",
                "conversation_id": "user.communication",
                "activity_id": "user.communication",
                "locale": "user.preference.locale",
            },
            purpose="Prove that the privacy notice was shown and acknowledged and that the EULA "
            "was accepted or declined (accountability)",
            legal_basis="Legal obligation (GDPR Art. 6(1)(c), 7(1); KVKK Art. 10)",
            retention=Retention(
                None, "pseudonymize", "kept as long as the user's account; then pseudonymized"
            ),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the user, in the bot",
            subject_key="user_id",
            export_fields=(
                "document",
                "version",
                "text_sha256",
                "action",
                "at",
                "conversation_id",
                "activity_id",
                "locale",
            ),
            about="user.consent",
            identifiers=("user_id", "conversation_id", "activity_id"),
            removal={
                RemovalMode.DELETE_ALL: Action(
                    "pseudonymize", ("user_id", "conversation_id", "activity_id")
                ),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action(
                    "pseudonymize", ("user_id", "conversation_id", "activity_id")
                ),
            },
        ),
        Dataset(
            collection=Coll.KPI_EVENTS,
            title="Usage KPIs",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "day": "system.time",
                "counts": "user.behavior",
                "updated_at": "system.time",
                # On the anonymous daily totals only: no user_id, key `kpi-total:<day>`.
                "active_users": "system.statistics",
                "merged": "system.operations",
                # On a bucket only while it is being merged into the totals.
                "merge_token": "system.operations",
            },
            purpose="Measure how the bot is used to improve it and report adoption to the "
            "customer, as daily counts per person and kind of command (no message text, no "
            "search terms, no times of day)",
            legal_basis="Legitimate interest (GDPR Art. 6(1)(f); KVKK Art. 5(2)(f))",
            retention=Retention(
                90,
                "aggregate",
                "daily per-person counts for 3 months (tenant setting), counted from the start "
                "of each day; then anonymized by merging them into the tenant's daily totals, "
                "which name nobody and are kept for the contract term",
                clock="day",
                tenant_days="kpi_retention_days",
            ),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the bot, from the user's use of it",
            subject_key="user_id",
            export_fields=("day", "counts"),
            about="user.behavior",
            identifiers=("user_id",),
            # One person's recent counts can only be anonymized by deleting them: until the
            # sweep merges a whole day, they would be the only counts in that day's total, and
            # a total of one person names that person (k-anonymity, docs/privacy.md).
            anonymizer="delete",
            rollup=Rollup(
                bucket_prefix="kpi",
                totals_prefix="kpi-total",
                subject="user_id",
                period="day",
                counts="counts",
                distinct="active_users",
                marker="merge_token",
                journal="merged",
                updated="updated_at",
                min_subjects=5,
                tenant_min_subjects="kpi_min_users",
            ),
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: DELETE,  # see `anonymizer`
            },
        ),
        Dataset(
            collection=Coll.DSR_REQUESTS,
            title="Data-subject requests",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "type": "user.request",
                "status": "user.request",
                "details": "user.request",
                "created_at": "system.time",
                "due_at": "system.time",
                "decided_at": "system.time",
                "decided_by": "user.unique_id",
                "reason": "user.request",
                "note": "user.request",
                "channel": "system.operations",
                "closed_at": "system.time",
                "run_id": "system.operations",
            },
            purpose="Handle access, rectification and erasure requests within the legal "
            "deadlines (30 days under KVKK Art. 13, one month under GDPR Art. 12(3))",
            legal_basis="Legal obligation (GDPR Art. 6(1)(c), 12; KVKK Art. 13)",
            retention=Retention(
                1095,
                "pseudonymize",
                "3 years after the request is closed, for accountability; then pseudonymized",
                clock="closed_at",
                fields=("user_id", "details"),
            ),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the user, in the bot; the tenant admin's decision",
            subject_key="user_id",
            export_fields=(
                "type",
                "status",
                "details",
                "created_at",
                "due_at",
                "decided_at",
                "reason",
                "note",
                "closed_at",
            ),
            about="user.request",
            identifiers=("user_id", "details"),
            removal={
                RemovalMode.DELETE_ALL: Action("pseudonymize", ("user_id", "details")),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action(
                    "pseudonymize", ("user_id", "details")
                ),
            },
            # The admin who decided someone else's request.
            references=(_ref("decided_by", "pseudonymize"),),
        ),
        Dataset(
            collection=Coll.CONVERSATIONS,
            title="Conversation references",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "reference": "user.communication",
                "locale": "user.preference.locale",
                "first_at": "system.time",
                "updated_at": "system.time",
            },
            purpose="Send the user proactive messages they asked for (finished exports, "
            "request outcomes, new notice versions)",
            legal_basis="Contract / legitimate interest (GDPR Art. 6(1)(b),(f))",
            retention=Retention(None, "delete", "while the user has the bot installed"),
            recipients=(_OUR_STAFF,),
            source="Microsoft Teams, when the user talks to the bot",
            subject_key="user_id",
            export_fields=("locale", "first_at", "updated_at"),
            about="user.communication",
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: DELETE,
            },
        ),
        Dataset(
            collection=Coll.DESTRUCTION_LOG,
            title="Destruction log",
            fields={
                **SYSTEM_FIELDS,
                "subject": "user.unique_id.pseudonymous",
                "store": "system.operations",
                "reference": "system.operations",
                "records": "system.operations",
                "method": "system.operations",
                "reason": "system.operations",
                "run_id": "system.operations",
                "status": "system.operations",
                "at": "system.time",
            },
            purpose="Prove every deletion and anonymization (KVKK destruction regulation)",
            legal_basis="Legal obligation (KVKK Regulation on Deletion, Destruction or "
            "Anonymization, Art. 7; GDPR Art. 5(2))",
            retention=Retention(1095, "delete", "at least 3 years", clock="at"),
            recipients=(_ADMINS, _OUR_STAFF, "supervisory authorities on request"),
            source="the erasure and retention jobs",
            subject_key="subject",
            export_exempt="entries exist only once a person's data was erased and name them "
            "only by a keyed hash",
            removal=_every_mode(KEEP),
            run_record="run_id",
            # The proof that stays after the contract ends (3 years, KVKK destruction regulation).
            purge=None,
        ),
        Dataset(
            collection=Coll.AUDIT_LOG,
            title="Audit log",
            fields={
                **PERSON_KEYED_FIELDS,
                "actor": "user.unique_id",
                "action": "system.operations",
                "target": "system.operations",
                "outcome": "system.operations",
                "at": "system.time",
            },
            purpose="Security and accountability: who did what to whose data",
            legal_basis="Legal obligation / legitimate interest (GDPR Art. 32; KVKK Art. 12)",
            retention=Retention(1095, "delete", "3 years", clock="at"),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the service",
            subject_key="actor",
            export_fields=("action", "target", "outcome", "at"),
            removal={
                RemovalMode.DELETE_ALL: Action("pseudonymize", ("actor",)),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action("pseudonymize", ("actor",)),
            },
        ),
        Dataset(
            collection=Coll.BOT_STATE,
            title="Bot dialog state",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "state": "user.communication",
                "etag": "system.operations",
                "updated_at": "system.time",
                "expires_at": "system.time",
            },
            purpose="Remember where a conversation with the bot stands",
            legal_basis="Contract (GDPR Art. 6(1)(b))",
            retention=Retention(
                90,
                "delete",
                "90 days after the last change, or earlier at its expiry",
                clock="updated_at",
                expires="expires_at",
            ),
            recipients=(_OUR_STAFF,),
            source="the bot",
            subject_key="user_id",
            export_fields=("state", "updated_at"),
            about="user.communication",
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: DELETE,
            },
        ),
        Dataset(
            collection=Coll.LEGAL_DOCUMENTS,
            title="Published privacy notices and terms of use",
            fields={
                **SYSTEM_FIELDS,
                "kind": "system.operations",
                "version": "system.operations",
                "texts": "system.operations",
                "hashes": "system.operations",
                "published_at": "system.time",
                "published_by": "user.unique_id",
                "promises": "system.operations",
            },
            purpose="Show users the exact notice and terms their organization published, and "
            "prove which text each consent record refers to",
            legal_basis="Legal obligation (GDPR Art. 13, 7(1); KVKK Art. 10)",
            retention=Retention(None, "keep", "for the contract term; old versions stay readable"),
            recipients=(_ADMINS, _OUR_STAFF, "every user of the tenant (the texts)"),
            source="the tenant admin who publishes a version",
            subject_key="published_by",
            export_fields=("kind", "version", "published_at"),
            removal={
                RemovalMode.DELETE_ALL: Action("pseudonymize", ("published_by",)),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action(
                    "pseudonymize", ("published_by",)
                ),
            },
        ),
        Dataset(
            collection=Coll.EXPORTS,
            title="Prepared exports awaiting download",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "zip": "user.export",
                "filename": "system.operations",
                "size": "system.operations",
                "created_at": "system.time",
                "expires_at": "system.time",
                "used_at": "system.time",
            },
            purpose="Hand users the copy of their data they asked for, through a signed, "
            "single-use download link",
            legal_basis="Legal obligation (GDPR Art. 15, 20; KVKK Art. 11)",
            retention=Retention(
                None,
                "delete",
                "at most 24 hours; the file is removed at the first download",
                expires="expires_at",
            ),
            recipients=("the user themself",),
            source="the export builder, from the user's own records",
            subject_key="user_id",
            export_exempt="a prepared export is itself a copy of what the export contains",
            removal=_every_mode(DELETE),
        ),
        Dataset(
            collection=Coll.DESTRUCTION_RUNS,
            title="Erasure and retention runs in progress",
            fields={
                **PERSON_KEYED_FIELDS,
                "run_id": "system.operations",
                "kind": "system.operations",
                "user_id": "user.unique_id",
                "subject": "user.unique_id.pseudonymous",
                "mode": "system.operations",
                "reason": "system.operations",
                "steps": "system.operations",
                "done": "system.operations",
                "started_at": "system.time",
                "updated_at": "system.time",
            },
            purpose="Finish an erasure or retention run that was interrupted, exactly once",
            legal_basis="Legal obligation (GDPR Art. 17; KVKK Art. 7)",
            retention=Retention(
                None, "delete", "only while the run is in progress; deleted when it completes"
            ),
            recipients=(_OUR_STAFF,),
            source="the erasure and retention jobs",
            subject_key="user_id",
            export_exempt="a run document exists only while that person's erasure is running",
            # The engine deletes its own run document when the run completes.
            removal=_every_mode(KEEP),
            run_record="run_id",
            purge=Purge.AFTER_DATA,
        ),
        Dataset(
            collection=Coll.ACCESS_REVIEWS,
            title="Access reviews of tenant admin rights",
            fields={
                **SYSTEM_FIELDS,
                "at": "system.time",
                "reviewer": "user.unique_id",
                "admins": "user.role",
                "note": "system.operations",
            },
            purpose="Show that who holds admin rights is reviewed regularly (GDPR Art. 32; "
            "KVKK Art. 12 technical and organizational measures)",
            legal_basis="Legal obligation (GDPR Art. 32; KVKK Art. 12)",
            retention=Retention(1095, "delete", "3 years", clock="at"),
            recipients=(_ADMINS, _OUR_STAFF, "auditors on request"),
            source="the operator or tenant admin who records the review",
            subject_key="admins.user_id",
            export_fields=("at", "admins"),
            removal=_every_mode(Action("pseudonymize", ("admins.user_id",))),
            # Who reviewed (their user id in Teams; an operator's name from `juno`).
            references=(_ref("reviewer", "pseudonymize"),),
        ),
        Dataset(
            collection=Coll.SUPPRESSIONS,
            title="Erasure suppressions",
            fields={
                **SYSTEM_FIELDS,
                "token": "user.unique_id.pseudonymous",
                "at": "system.time",
            },
            purpose="Keep an erasure of someone still in the customer's directory from being "
            "undone by the next directory sync",
            legal_basis="Legal obligation (GDPR Art. 17, 19; KVKK Art. 7)",
            retention=Retention(
                None, "keep", "until the controller lifts the suppression or the contract ends"
            ),
            recipients=(_OUR_STAFF,),
            source="the erasure of a data-subject request",
            subject_key="token",
            export_exempt="an entry exists only once the person's data was erased and holds "
            "only a keyed hash of their directory id, under a key of its own",
            removal=_every_mode(KEEP),
        ),
        Dataset(
            collection=Coll.OUTBOX,
            title="Messages to requesters waiting for delivery",
            fields={
                **PERSON_KEYED_FIELDS,
                "user_id": "user.unique_id",
                "key": "system.operations",
                "values": "user.request",
                "created_at": "system.time",
                "expires_at": "system.time",
            },
            purpose="Tell a requester in Teams what became of their request when it was "
            "decided by a process that cannot reach Teams itself (`juno dsr`)",
            legal_basis="Legal obligation (GDPR Art. 12(3); KVKK Art. 13)",
            retention=Retention(
                None,
                "delete",
                "until delivered by the running service, at most 7 days",
                expires="expires_at",
            ),
            recipients=(_OUR_STAFF,),
            source="the operator's decision on the person's request",
            subject_key="user_id",
            export_exempt="a queued message repeats a decision the export shows under requests",
            removal=_every_mode(DELETE),
        ),
        Dataset(
            collection=Coll.INCIDENTS,
            title="Incident register (personal-data breaches)",
            fields={
                **SYSTEM_FIELDS,
                "incident_id": "system.operations",
                "status": "system.operations",
                "summary": "system.operations",
                "detected_at": "system.time",
                "consequences": "system.operations",
                "measures": "system.operations",
                "contact": "system.contact_point",
                # This tenant's share, counted: kinds of people and data categories, no one named.
                "subjects": "system.statistics",
                "subjects_approx": "system.statistics",
                "records": "system.statistics",
                "records_approx": "system.statistics",
                "opened_at": "system.time",
                "updated_at": "system.time",
                "notified_at": "system.time",
                "closed_at": "system.time",
                "timeline": "system.operations",
                # What the last notice that reached no admin was about, until one is told.
                "pending": "system.operations",
            },
            purpose="Notify the customer (controller) of a personal-data breach without undue "
            "delay with the facts it needs toward its supervisory authority, and document it",
            legal_basis="Legal obligation (GDPR Art. 28(3)(f), 33(2), 33(5); KVKK Art. 12(5))",
            retention=Retention(
                1825, "delete", "5 years after the incident is closed", clock="closed_at"
            ),
            recipients=(_ADMINS, _OUR_STAFF, "supervisory authorities on request"),
            source="the operator, from its investigation",
        ),
        Dataset(
            collection=Coll.PROCESSOR_NOTICES,
            title="Prior information sent to the customer (sub-processor list)",
            fields={
                **SYSTEM_FIELDS,
                "fingerprint": "system.operations",
                "subprocessors": "system.operations",
                "notified_at": "system.time",
                "told": "system.operations",
                "admins": "system.operations",
            },
            purpose="Inform the customer of every change to JUNO's sub-processors before it "
            "applies, and prove it was told (GDPR Art. 28(2))",
            legal_basis="Contract with the customer; GDPR Art. 28(2)",
            retention=Retention(None, "delete", "for the contract term"),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the service, when the declared sub-processors change",
        ),
    )
}


# What notices and records say beyond the declarations above (#16, KVKK Art. 10, GDPR Art.
# 13/14/30). Texts for every key live in privacy/locales (tests fail on a missing one).
LEGAL_BASES: dict[str, tuple[str, str]] = {  # key -> (KVKK, GDPR) provisions
    "legitimate_interest": ("KVKK Art. 5(2)(f)", "GDPR Art. 6(1)(f)"),
    "contract": ("KVKK Art. 5(2)(c)", "GDPR Art. 6(1)(b)"),
    "legal_obligation": ("KVKK Art. 5(2)(ç)", "GDPR Art. 6(1)(c)"),
}
SUBJECTS = ("employees", "interns", "guests", "bot_users", "tenant_admins")
SECURITY_MEASURES = (
    "tenant_isolation",
    "entra_sign_in",
    "tls",
    "least_privilege",
    "minimization",
    "pseudonymization",
    "retention_sweeps",
    "audit_log",
    "access_reviews",
    "secrets_by_reference",
)
# The longest a tenant may set a `tenant_days` retention to: per-person usage counts are not
# needed for longer to improve the bot (KVKK Art. 4(2)(d), GDPR Art. 5(1)(e)).
TENANT_DAYS_MAX: dict[str, int] = {"kpi_retention_days": 365}


@dataclass(frozen=True)
class Legal:
    """`bases`: legal bases the controller may choose from, the first the default (one: the
    law leaves no choice); `subjects`: whose data; `transfers`: sub-processor keys
    (privacy.subprocessors) the data reaches."""

    bases: tuple[str, ...]
    subjects: tuple[str, ...] = ("bot_users",)
    transfers: tuple[str, ...] = ("hosting", "database")


_MS = ("microsoft", "hosting", "database")
LEGAL: dict[Coll, Legal] = {
    Coll.TENANTS: Legal(("legitimate_interest", "contract"), ("tenant_admins",)),
    Coll.PROFILES: Legal(("legitimate_interest", "contract"), SUBJECTS[:3], _MS),
    Coll.CONSENTS: Legal(("legal_obligation",), transfers=_MS),
    Coll.KPI_EVENTS: Legal(("legitimate_interest",)),
    Coll.DSR_REQUESTS: Legal(("legal_obligation",), transfers=_MS),
    Coll.CONVERSATIONS: Legal(("contract", "legitimate_interest"), transfers=_MS),
    Coll.DESTRUCTION_LOG: Legal(("legal_obligation",), ("employees", "bot_users")),
    Coll.AUDIT_LOG: Legal(("legitimate_interest", "legal_obligation")),
    Coll.BOT_STATE: Legal(("contract", "legitimate_interest"), transfers=_MS),
    Coll.LEGAL_DOCUMENTS: Legal(("legal_obligation",), ("tenant_admins",)),
    Coll.EXPORTS: Legal(("legal_obligation",), transfers=_MS),
    Coll.DESTRUCTION_RUNS: Legal(("legal_obligation",), ("employees", "bot_users")),
    Coll.ACCESS_REVIEWS: Legal(("legal_obligation",), ("tenant_admins",)),
    Coll.SUPPRESSIONS: Legal(("legal_obligation",), ("employees", "bot_users")),
    Coll.OUTBOX: Legal(("legal_obligation",), transfers=_MS),
}


def legal_basis(dataset: Dataset, record: TenantRecord | None) -> str:
    """The basis in force for a store: the tenant's choice where the map offers one."""
    bases = LEGAL[dataset.collection].bases
    chosen = record.legal_bases.get(dataset.collection.value) if record else None
    return chosen if chosen in bases else bases[0]


def check_legal_bases(choices: Mapping[str, str]) -> None:
    """Raise ValueError naming the first choice the map does not offer."""
    for name, basis in choices.items():
        legal = next((v for c, v in LEGAL.items() if c.value == name), None)
        if legal is None:
            raise ValueError(f"{name}: not a store with personal data")
        offered = legal.bases
        if len(offered) < 2:
            raise ValueError(f"{name}: the legal basis is fixed by law, not a tenant choice")
        if basis not in offered:
            raise ValueError(f"{name}: legal basis must be one of {', '.join(offered)}")


def _legal_problems(data_map: Mapping[Coll, Dataset]) -> list[str]:
    problems = []
    for coll, dataset in data_map.items():
        legal = LEGAL.get(coll)
        if dataset.personal and legal is None:
            problems.append(f"{coll.value}: personal store has no legal declaration")
        if legal is None:
            continue
        unknown = [b for b in legal.bases if b not in LEGAL_BASES]
        unknown += [s for s in legal.subjects if s not in SUBJECTS]
        if unknown or not legal.bases:
            problems.append(f"{coll.value}: unknown or missing legal declaration {unknown}")
    return problems


def retention_days(dataset: Dataset, record: TenantRecord | None) -> int | None:
    """The store's retention in days, the tenant's own setting first where the map allows."""
    rule = dataset.retention
    if rule.tenant_days and record is not None:
        value = getattr(record, rule.tenant_days, None)
        if isinstance(value, int):
            # A setting stored before the cap existed is held to it, in the sweep and the texts.
            return min(value, TENANT_DAYS_MAX.get(rule.tenant_days, value))
    return rule.days


class DataMapError(PrivacyError):
    """The data map contradicts itself or the collections (a declaration to fix, not data)."""


def validate(data_map: Mapping[Coll, Dataset] = DATA_MAP) -> None:
    """Raise on any inconsistency; run by the tests and at service start."""
    problems: list[str] = []
    for coll in ALL_COLLECTIONS:
        if coll not in data_map:
            problems.append(f"{coll}: collection is not declared in the data map")
    for coll, dataset in data_map.items():
        problems += _dataset_problems(coll.value, dataset)
    problems += _legal_problems(data_map)
    if problems:
        raise DataMapError("; ".join(problems))


def _dataset_problems(where: str, dataset: Dataset) -> list[str]:
    problems: list[str] = []

    def declared(name: str | None, what: str) -> None:
        if name is not None and top(name) not in dataset.fields:
            problems.append(f"{where}: {what} {name!r} is not declared")

    for name, category in dataset.fields.items():
        if not is_known(category):
            problems.append(f"{where}.{name}: unknown category {category!r}")
    for name in dataset.export_fields:
        if name not in dataset.fields:
            problems.append(f"{where}: export field {name!r} is not declared")
    if dataset.personal:
        if dataset.subject_key is None or top(dataset.subject_key) not in dataset.fields:
            problems.append(f"{where}: personal store needs a declared subject key")
        missing = [m.value for m in RemovalMode if m not in dataset.removal]
        if missing:
            problems.append(f"{where}: no removal action for {', '.join(missing)}")
        if not dataset.export_fields and not dataset.export_exempt:
            problems.append(f"{where}: personal store has no export fields and no exemption")
    if dataset.export_fields and dataset.export_exempt:
        problems.append(f"{where}: export fields and an export exemption contradict each other")
    for mode, action in dataset.removal.items():
        if action.strategy not in STRATEGIES:
            problems.append(f"{where}/{mode}: unknown strategy {action.strategy!r}")
        for name in action.fields:
            if top(name) not in dataset.fields:
                problems.append(f"{where}/{mode}: field {name!r} is not declared")
    for ref in dataset.references:
        declared(ref.field, "reference")
        if ref.field in dataset.fields and not is_personal(dataset.fields[top(ref.field)]):
            problems.append(f"{where}: reference {ref.field!r} must be a personal field")
        if top(ref.field) == top(dataset.subject_key or ""):
            problems.append(f"{where}: reference {ref.field!r} is the subject key")
        for mode in RemovalMode:
            if ref.removal.get(mode) not in ANONYMIZING:
                problems.append(
                    f"{where}: reference {ref.field!r} needs {' or '.join(ANONYMIZING)} for {mode}"
                )
    if dataset.about is not None and not (is_known(dataset.about) and is_personal(dataset.about)):
        problems.append(f"{where}: 'about' must be a personal category, got {dataset.about!r}")
    for name in dataset.identifiers:
        declared(name, "identifier")
    declared(dataset.anonymized_flag, "anonymized flag")
    declared(dataset.run_record, "run record field")
    if dataset.anonymizer is not None and dataset.anonymizer not in STRATEGIES:
        problems.append(f"{where}: unknown anonymizer {dataset.anonymizer!r}")
    if "aggregate" in dataset.strategies and dataset.rollup is None:
        problems.append(f"{where}: aggregate needs a rollup declaration")
    # Some strategies merge whole periods (the retention sweep), never one person's records.
    per_person = {dataset.anonymizer} | {a.strategy for a in dataset.removal.values()}
    for name in sorted(n for n in per_person if n in STRATEGIES and not STRATEGIES[n].per_person):
        problems.append(f"{where}: {name} is a retention strategy, not a removal action")
    if dataset.rollup is not None:
        for name in dataset.rollup.fields:
            declared(name, "rollup field")
        if dataset.rollup.subject != dataset.subject_key:
            problems.append(f"{where}: the rollup's subject must be the subject key")
    retention = dataset.retention
    if retention.at_end not in STRATEGIES:
        problems.append(f"{where}: unknown retention action {retention.at_end!r}")
    for optional, what in (
        (retention.clock, "retention clock"),
        (retention.expires, "expiry field"),
        (retention.erase_after, "erase-after field"),
    ):
        declared(optional, what)
    for name in retention.fields:
        declared(name, "retention field")
    if retention.days is not None and retention.at_end != "keep" and not retention.swept:
        problems.append(f"{where}: a retention limit needs a clock or expiry field to enforce it")
    return problems
