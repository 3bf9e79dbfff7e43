"""The tenant registry: one record per customer tenant, keyed by its Entra tenant id.

This is the one operator-level collection: it lists tenants, so it is not tenant-scoped. Graph
credentials are stored by reference (the *name* of an environment variable, or a certificate
path), never the secret itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from storage.collections import Coll
from storage.errors import StorageError
from storage.scoped import TenantCollection


class TenantExists(StorageError):
    pass


class TenantNotFound(StorageError):
    pass


class GraphCredentials(BaseModel):
    client_id: str
    client_secret_env: str | None = None
    certificate_path: str | None = None


class AdminGrant(BaseModel):
    """One tenant admin and since when they hold the role (None: granted before JUNO kept
    dates, i.e. read from the older plain-id form)."""

    user_id: str
    since: datetime | None = None


_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class ControllerDetails(BaseModel):
    """Who the data controller is, as its notices and records must name it (KVKK Art. 10(1)(a),
    GDPR Art. 13(1)(a)-(b), 30(1)(a)). The customer enters it; JUNO only renders it."""

    model_config = ConfigDict(str_strip_whitespace=True)

    legal_name: str = Field(min_length=2, max_length=300)
    address: str = Field(min_length=5, max_length=500)
    email: str = Field(max_length=254, pattern=_EMAIL)
    # The contact person (KVKK "irtibat kişisi") or DPO, as the controller wants it published.
    dpo_contact: str | None = Field(None, min_length=2, max_length=300)
    # Data Controllers' Registry (VERBİS) number, where the controller is registered.
    verbis_id: str | None = Field(None, min_length=1, max_length=64)
    # A representative (KVKK Art. 10(1)(a), GDPR Art. 27), for controllers established abroad.
    representative: str | None = Field(None, min_length=2, max_length=300)


class TenantRecord(BaseModel):
    tenant_id: str
    name: str
    enabled: bool = True
    removal_mode: str = "directory_delete_rest_anonymize"
    kpi_retention_days: int = Field(90, ge=1, le=3650)
    # k-anonymity of the anonymous daily usage totals: fewer people than this on a day and the
    # day's total is not kept (privacy.rollup.small_totals).
    kpi_min_users: int = Field(5, ge=1, le=1000)
    notice_version: int = 0
    eula_version: int = 0
    default_locale: str = "tr"
    sync_interval_minutes: int = Field(30, ge=1, le=1440)
    graph: GraphCredentials | None = None
    admins: list[AdminGrant] = Field(default_factory=list)
    # Category branch -> strategy, applied over the removal mode's preset (privacy.removal_modes).
    removal_overrides: dict[str, str] = Field(default_factory=dict)
    # The controller's identity (None until the customer enters it) and its legal-basis choice
    # per store where the law leaves one (store -> basis key; checked against the data map).
    controller: ControllerDetails | None = None
    legal_bases: dict[str, str] = Field(default_factory=dict)
    demo: bool = False
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @field_validator("admins", mode="before")
    @classmethod
    def _migrate_plain_ids(cls, value: Any) -> Any:
        """Records written before admins had dates hold plain ids; read them as grants."""
        if isinstance(value, list):
            return [{"user_id": v} if isinstance(v, str) else v for v in value]
        return value

    def is_admin(self, user_id: str) -> bool:
        return any(grant.user_id == user_id for grant in self.admins)

    @property
    def admin_ids(self) -> list[str]:
        return [grant.user_id for grant in self.admins]

    def with_admins(
        self, add: Iterable[str] = (), remove: Iterable[str] = (), *, now: datetime | None = None
    ) -> list[AdminGrant]:
        """The admin list after granting `add` (dated now) and revoking `remove`; existing
        grants keep their date."""
        gone = set(remove)
        grants = [g for g in self.admins if g.user_id not in gone]
        held = {g.user_id for g in grants}
        at = now or datetime.now(UTC)
        for user_id in add:
            if user_id not in held and user_id not in gone:
                grants.append(AdminGrant(user_id=user_id, since=at))
                held.add(user_id)
        return grants

    def to_document(self) -> dict[str, Any]:
        return {"_id": self.tenant_id, **self.model_dump()}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> TenantRecord:
        return cls.model_validate({k: v for k, v in doc.items() if k != "_id"})


class TenantRegistry:
    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self._coll = db[Coll.TENANTS]

    async def add(self, record: TenantRecord) -> TenantRecord:
        try:
            await self._coll.insert_one(record.to_document())
        except DuplicateKeyError as exc:
            raise TenantExists(f"tenant {record.tenant_id} is already registered") from exc
        return record

    async def get(self, tenant_id: str) -> TenantRecord | None:
        doc = await self._coll.find_one({"_id": tenant_id})
        return TenantRecord.from_document(doc) if doc else None

    async def require(self, tenant_id: str) -> TenantRecord:
        record = await self.get(tenant_id)
        if record is None:
            raise TenantNotFound(f"tenant {tenant_id} is not registered")
        return record

    async def list_all(self) -> list[TenantRecord]:
        docs = await self._coll.find({}).sort("name", 1).to_list(None)
        return [TenantRecord.from_document(doc) for doc in docs]

    async def update(self, tenant_id: str, changes: dict[str, Any]) -> TenantRecord:
        current = await self.require(tenant_id)
        merged = TenantRecord.model_validate(
            {**current.model_dump(), **changes, "updated_at": datetime.now(UTC)}
        )
        fields = {k: v for k, v in merged.model_dump().items() if k != "tenant_id"}
        await self._coll.update_one({"_id": tenant_id}, {"$set": fields})
        return merged

    async def remove(self, tenant_id: str) -> bool:
        result = await self._coll.delete_one({"_id": tenant_id})
        return result.deleted_count == 1


class OwnTenantRecord:
    """A tenant's own registry entry, reachable from its `TenantStore` without exposing the
    registry (which lists every tenant). Privacy code reads the removal mode and admins here,
    and erasure takes a departed admin off the list through `collection`."""

    def __init__(self, coll: TenantCollection) -> None:
        self.collection = coll

    async def get(self) -> TenantRecord | None:
        doc = await self.collection.find_one({"_id": self.collection.tenant_id})
        return TenantRecord.from_document(doc) if doc else None
