"""The data map: every collection, the personal data it holds, why, for how long, who receives
it, and what export and each removal mode do to it.

This is the single declaration that export, erasure, retention and the record of processing are
derived from. Adding a collection or a field to a document without declaring it here fails the
test suite (tests/test_datamap.py), on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from privacy.removal_modes import RemovalMode
from privacy.strategies import STRATEGIES
from privacy.taxonomy import is_known, is_personal
from storage.collections import ALL_COLLECTIONS, Coll
from storage.keys import TKEY


@dataclass(frozen=True)
class Retention:
    days: int | None
    at_end: str
    rule: str


@dataclass(frozen=True)
class Action:
    strategy: str
    fields: tuple[str, ...] = ()

    def describe(self) -> str:
        return STRATEGIES[self.strategy].describe(self.fields)


@dataclass(frozen=True)
class Store:
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
_OUR_STAFF = "JUNO operators (processor), for support and security only"
_ADMINS = "the customer's tenant admins"
_COWORKERS = "colleagues in the same tenant, through directory lookups"


def _every_mode(action: Action) -> dict[RemovalMode, Action]:
    return dict.fromkeys(RemovalMode, action)


DELETE = Action("delete")
KEEP = Action("keep")

DATA_MAP: dict[Coll, Store] = {
    s.collection: s
    for s in (
        Store(
            collection=Coll.TENANTS,
            title="Tenant registry",
            fields={
                **SYSTEM_FIELDS,
                "name": "system.operations",
                "enabled": "system.operations",
                "removal_mode": "system.operations",
                "kpi_retention_days": "system.operations",
                "notice_version": "system.operations",
                "eula_version": "system.operations",
                "default_locale": "system.operations",
                "sync_interval_minutes": "system.operations",
                "graph": "system.operations",
                "admins": "user.unique_id",
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
            subject_key="admins",
            export_fields=("name", "admins"),
            removal=_every_mode(KEEP),
        ),
        Store(
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
                "search_keys": "user.name.search_key",
                "search_prefixes": "user.name.search_key",
                "overrides": "user.request",
                "synced_at": "system.time",
                "seen_in_round": "system.operations",
            },
            purpose="Employee directory: find colleagues, show the org chart",
            legal_basis="Legitimate interest of the employer in an internal directory "
            "(GDPR Art. 6(1)(f); KVKK Art. 5(2)(f))",
            retention=Retention(
                None, "delete", "while the person is in the customer's Entra ID directory"
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
        ),
        Store(
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
                "updated_at": "system.time",
            },
            purpose="Resume incremental directory syncs and keep two workers apart",
            legal_basis="Not personal data",
            retention=Retention(None, "delete", "for the contract term"),
            recipients=(_OUR_STAFF, _ADMINS),
            source="the sync engine",
        ),
        Store(
            collection=Coll.CONSENTS,
            title="Consent trail (privacy notice acknowledgements, EULA decisions)",
            fields={
                **SYSTEM_FIELDS,
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
            export_fields=("document", "version", "text_sha256", "action", "at", "locale"),
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
        Store(
            collection=Coll.KPI_EVENTS,
            title="Usage KPIs",
            fields={
                **SYSTEM_FIELDS,
                "user_id": "user.unique_id",
                "kind": "user.behavior",
                "at": "system.time",
                "anonymized": "system.operations",
            },
            purpose="Measure how the bot is used to improve it and report adoption to the "
            "customer (no message text, no search terms)",
            legal_basis="Legitimate interest (GDPR Art. 6(1)(f); KVKK Art. 5(2)(f))",
            retention=Retention(
                90, "nullify", "3 months (tenant setting), then anonymized by removing the user id"
            ),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the bot, from the user's use of it",
            subject_key="user_id",
            export_fields=("kind", "at"),
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action("nullify", ("user_id",)),
            },
        ),
        Store(
            collection=Coll.DSR_REQUESTS,
            title="Data-subject requests",
            fields={
                **SYSTEM_FIELDS,
                "user_id": "user.unique_id",
                "type": "user.request",
                "status": "user.request",
                "details": "user.request",
                "created_at": "system.time",
                "due_at": "system.time",
                "decided_at": "system.time",
                "decided_by": "user.unique_id",
                "reason": "user.request",
            },
            purpose="Handle access, rectification and erasure requests within the legal "
            "deadlines (30 days under KVKK Art. 13, one month under GDPR Art. 12(3))",
            legal_basis="Legal obligation (GDPR Art. 6(1)(c), 12; KVKK Art. 13)",
            retention=Retention(
                1095, "pseudonymize", "3 years after the request, for accountability"
            ),
            recipients=(_ADMINS, _OUR_STAFF),
            source="the user, in the bot; the tenant admin's decision",
            subject_key="user_id",
            export_fields=("type", "status", "details", "created_at", "due_at", "decided_at"),
            removal={
                RemovalMode.DELETE_ALL: Action("pseudonymize", ("user_id", "details")),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action(
                    "pseudonymize", ("user_id", "details")
                ),
            },
        ),
        Store(
            collection=Coll.CONVERSATIONS,
            title="Conversation references",
            fields={
                **SYSTEM_FIELDS,
                "user_id": "user.unique_id",
                "reference": "user.communication",
                "locale": "user.preference.locale",
                "updated_at": "system.time",
            },
            purpose="Send the user proactive messages they asked for (finished exports, "
            "request outcomes, new notice versions)",
            legal_basis="Contract / legitimate interest (GDPR Art. 6(1)(b),(f))",
            retention=Retention(None, "delete", "while the user has the bot installed"),
            recipients=(_OUR_STAFF,),
            source="Microsoft Teams, when the user talks to the bot",
            subject_key="user_id",
            export_fields=("locale", "updated_at"),
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: DELETE,
            },
        ),
        Store(
            collection=Coll.DESTRUCTION_LOG,
            title="Destruction log",
            fields={
                **SYSTEM_FIELDS,
                "subject": "user.unique_id.pseudonymous",
                "store": "system.operations",
                "records": "system.operations",
                "method": "system.operations",
                "reason": "system.operations",
                "run_id": "system.operations",
                "at": "system.time",
            },
            purpose="Prove every deletion and anonymization (KVKK destruction regulation)",
            legal_basis="Legal obligation (KVKK Regulation on Deletion, Destruction or "
            "Anonymization, Art. 7; GDPR Art. 5(2))",
            retention=Retention(1095, "delete", "at least 3 years"),
            recipients=(_ADMINS, _OUR_STAFF, "supervisory authorities on request"),
            source="the erasure and retention jobs",
            subject_key="subject",
            removal=_every_mode(KEEP),
        ),
        Store(
            collection=Coll.AUDIT_LOG,
            title="Audit log",
            fields={
                **SYSTEM_FIELDS,
                "actor": "user.unique_id",
                "action": "system.operations",
                "target": "system.operations",
                "outcome": "system.operations",
                "at": "system.time",
            },
            purpose="Security and accountability: who did what to whose data",
            legal_basis="Legal obligation / legitimate interest (GDPR Art. 32; KVKK Art. 12)",
            retention=Retention(1095, "delete", "3 years"),
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
        Store(
            collection=Coll.BOT_STATE,
            title="Bot dialog state",
            fields={
                **SYSTEM_FIELDS,
                "user_id": "user.unique_id",
                "state": "user.communication",
                "etag": "system.operations",
                "updated_at": "system.time",
                "expires_at": "system.time",
            },
            purpose="Remember where a conversation with the bot stands",
            legal_basis="Contract (GDPR Art. 6(1)(b))",
            retention=Retention(90, "delete", "90 days after the last change"),
            recipients=(_OUR_STAFF,),
            source="the bot",
            subject_key="user_id",
            export_fields=("state", "updated_at"),
            removal={
                RemovalMode.DELETE_ALL: DELETE,
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: DELETE,
            },
        ),
        Store(
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
            },
            purpose="Show users the exact notice and terms their organization published, and "
            "prove which text each consent record refers to",
            legal_basis="Legal obligation (GDPR Art. 13, 7(1); KVKK Art. 10)",
            retention=Retention(None, "keep", "for the contract term; old versions stay readable"),
            recipients=(_ADMINS, _OUR_STAFF, "every user of the tenant (the texts)"),
            source="the tenant admin who publishes a version",
            subject_key="published_by",
            removal={
                RemovalMode.DELETE_ALL: Action("pseudonymize", ("published_by",)),
                RemovalMode.DIRECTORY_ONLY: KEEP,
                RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE: Action(
                    "pseudonymize", ("published_by",)
                ),
            },
        ),
    )
}


class DataMapError(ValueError):
    pass


def validate(data_map: Mapping[Coll, Store] = DATA_MAP) -> None:
    """Raise on any inconsistency; run by the tests and at service start."""
    problems: list[str] = []
    for coll in ALL_COLLECTIONS:
        if coll not in data_map:
            problems.append(f"{coll}: collection is not declared in the data map")
    for coll, store in data_map.items():
        where = coll.value
        for name, category in store.fields.items():
            if not is_known(category):
                problems.append(f"{where}.{name}: unknown category {category!r}")
        for name in store.export_fields:
            if name not in store.fields:
                problems.append(f"{where}: export field {name!r} is not declared")
        if store.personal:
            if store.subject_key is None or store.subject_key not in store.fields:
                problems.append(f"{where}: personal store needs a declared subject key")
            missing = [m.value for m in RemovalMode if m not in store.removal]
            if missing:
                problems.append(f"{where}: no removal action for {', '.join(missing)}")
        for mode, action in store.removal.items():
            if action.strategy not in STRATEGIES:
                problems.append(f"{where}/{mode}: unknown strategy {action.strategy!r}")
            for name in action.fields:
                if name not in store.fields:
                    problems.append(f"{where}/{mode}: field {name!r} is not declared")
        if store.retention.at_end not in STRATEGIES:
            problems.append(f"{where}: unknown retention action {store.retention.at_end!r}")
    if problems:
        raise DataMapError("; ".join(problems))
