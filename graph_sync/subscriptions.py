"""Microsoft Graph change-notification subscriptions on `/users`, one per tenant.

A subscription only tells us *that* the directory changed; the delta round it schedules is what
reads the change (graph_sync/notifications.py). So everything here may fail, lag or be lost
without losing data: polling stays the safety net.

What Graph requires (change-notifications-delivery-webhooks, webhooks-lifecycle, subscription
resource type):
- `resource` `/users`, `changeType` `updated,deleted` (users know no `created`: a new user
  arrives as `updated`), an HTTPS `notificationUrl` and `lifecycleNotificationUrl`, both of
  which Graph validates (the `validationToken` echo) *while* it answers our POST;
- an `expirationDateTime` at most 41,760 minutes ahead for directory resources; a subscription
  not renewed in time is deleted by Graph;
- a `clientState` (at most 128 characters) that Graph sends back with every notification. Ours
  is a random secret per subscription; we keep only its SHA-256 and compare in constant time;
- lifecycle events: `reauthorizationRequired` (reauthorize, or renew, which also reauthorizes;
  never both within 10 minutes), `subscriptionRemoved` (create a new one, then catch up with
  delta), `missed` (catch up with delta).

The subscription document (`graph_subscriptions`, key `users`) is per tenant and holds no
personal data. Maintenance on it is guarded by a short claim on that document (`busy_by`,
`busy_until`), so replicas never create two subscriptions for one tenant; it is independent of
the sync lease so a long full round does not hold renewals up.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec
from kiota_abstractions.method import Method
from pymongo.asynchronous.database import AsyncDatabase

from entra.clock import utcnow
from graph_sync.errors import GraphRequestError, GraphSyncError
from graph_sync.lease import Holder
from graph_sync.transport import GraphTransport
from storage.collections import Coll
from storage.repositories import KeyedStore, TenantRecord, TenantRegistry
from storage.scoped import TenantCollection

log = logging.getLogger("graph_sync.subscriptions")

RESOURCE = "/users"
CHANGE_TYPE = "updated,deleted"
SUBSCRIPTION_KEY = "users"
MAX_LIFETIME = timedelta(minutes=41_760)  # Graph's limit for directory resources
# What we ask for: the limit less a margin, so a clock a little ahead of Graph's is not refused.
LIFETIME = MAX_LIFETIME - timedelta(minutes=30)
RENEW_BEFORE = timedelta(days=3)
RETRY_AFTER = timedelta(minutes=5)
CLAIM_TTL = timedelta(seconds=60)
NOTIFICATIONS_PATH = "/api/graph/notifications"
LIFECYCLE_PATH = "/api/graph/lifecycle"

Clock = Callable[[], datetime]


def client_state_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def client_state_matches(received: str | None, stored_hash: object) -> bool:
    """Constant-time comparison of what a notification carries with the hash we keep."""
    if not received or not isinstance(stored_hash, str) or len(received) > 256:
        return False
    return hmac.compare_digest(client_state_hash(received), stored_hash)


def graph_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")


def parse_graph_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    cleaned = text.strip().replace("Z", "+00:00")
    head, _, rest = cleaned.partition(".")
    if rest:  # Graph writes 7 fractional digits, Python reads at most 6
        digits = "".join(c for c in rest if c.isdigit())
        tz = rest[len(digits) :]
        cleaned = f"{head}.{digits[:6]}{tz}"
    try:
        parsed = datetime.fromisoformat(cleaned)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def endpoint_urls(public_base_url: str | None) -> tuple[str, str] | None:
    """(notificationUrl, lifecycleNotificationUrl) on `juno serve`, or None when there is no
    address Graph can call: it must be public HTTPS (plain HTTP only for a loopback stand-in)."""
    from urllib.parse import urlsplit

    from graph_sync.auth import is_loopback_host

    if not public_base_url:
        return None
    parts = urlsplit(public_base_url)
    if parts.scheme != "https" and not (
        parts.scheme == "http" and is_loopback_host(parts.hostname)
    ):
        return None
    base = public_base_url.rstrip("/")
    return f"{base}{NOTIFICATIONS_PATH}", f"{base}{LIFECYCLE_PATH}"


class _Created(msgspec.Struct):
    id: str
    expirationDateTime: str | None = None
    resource: str | None = None
    notificationUrl: str | None = None


class _Listed(msgspec.Struct):
    value: list[_Created] = msgspec.field(default_factory=list)


class SubscriptionApi(Protocol):
    async def create(self, body: dict[str, Any]) -> dict[str, Any]: ...
    async def renew(self, subscription_id: str, expires: datetime) -> dict[str, Any]: ...
    async def reauthorize(self, subscription_id: str) -> None: ...
    async def delete(self, subscription_id: str) -> None: ...
    async def list(self) -> list[dict[str, Any]]: ...
    async def aclose(self) -> None: ...


class GraphSubscriptionApi:
    """`/subscriptions` of one tenant through the same transport as the delta pages."""

    def __init__(self, transport: GraphTransport, graph_base_url: str) -> None:
        self.transport = transport
        self.base = f"{graph_base_url.rstrip('/')}/subscriptions"

    @staticmethod
    def _decode(body: bytes) -> dict[str, Any]:
        created = msgspec.json.decode(body, type=_Created)
        return msgspec.structs.asdict(created)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._decode(await self.transport.send(Method.POST, self.base, _json(body)))

    async def renew(self, subscription_id: str, expires: datetime) -> dict[str, Any]:
        payload = _json({"expirationDateTime": graph_time(expires)})
        url = f"{self.base}/{_safe_id(subscription_id)}"
        return self._decode(await self.transport.send(Method.PATCH, url, payload))

    async def reauthorize(self, subscription_id: str) -> None:
        url = f"{self.base}/{_safe_id(subscription_id)}/reauthorize"
        await self.transport.send(Method.POST, url, b"")

    async def delete(self, subscription_id: str) -> None:
        await self.transport.send(Method.DELETE, f"{self.base}/{_safe_id(subscription_id)}")

    async def list(self) -> list[dict[str, Any]]:
        listed = msgspec.json.decode(await self.transport.get_bytes(self.base), type=_Listed)
        return [msgspec.structs.asdict(item) for item in listed.value]

    async def aclose(self) -> None:
        await self.transport.aclose()


def _json(value: dict[str, Any]) -> bytes:
    return msgspec.json.encode(value)


def _safe_id(subscription_id: str) -> str:
    bad = any(c in subscription_id for c in "/?#%")
    if not subscription_id or bad or len(subscription_id) > 200:
        raise GraphRequestError(f"not a subscription id: {subscription_id[:40]!r}")
    return subscription_id


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, GraphRequestError) and exc.status == 404


@dataclass(frozen=True)
class SubscriptionView:
    """What the admin desk, `juno tenant show` and `juno graph subscriptions list` print."""

    tenant_id: str
    subscription_id: str | None
    status: str
    expires_at: datetime | None
    last_notification_at: datetime | None
    notifications: int
    rejected: int
    last_lifecycle_event: str | None
    last_error: str | None

    @classmethod
    def of(cls, tenant_id: str, doc: dict[str, Any]) -> SubscriptionView:
        return cls(
            tenant_id=tenant_id,
            subscription_id=doc.get("subscription_id"),
            status=str(doc.get("status") or "none"),
            expires_at=doc.get("expires_at"),
            last_notification_at=doc.get("last_notification_at"),
            notifications=int(doc.get("notifications") or 0),
            rejected=int(doc.get("rejected") or 0),
            last_lifecycle_event=doc.get("last_lifecycle_event"),
            last_error=doc.get("last_error"),
        )

    def healthy(self, now: datetime) -> bool:
        return self.status == "active" and self.expires_at is not None and self.expires_at > now

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "subscription_id": self.subscription_id,
            "status": self.status,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "last_notification_at": (
                self.last_notification_at.isoformat() if self.last_notification_at else None
            ),
            "notifications": self.notifications,
            "rejected": self.rejected,
            "last_lifecycle_event": self.last_lifecycle_event,
            "last_error": self.last_error,
        }


class SubscriptionStore:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self.coll = KeyedStore(TenantCollection(db[Coll.GRAPH_SUBSCRIPTIONS], tenant_id))

    async def load(self) -> dict[str, Any] | None:
        return await self.coll.get(SUBSCRIPTION_KEY)

    async def view(self) -> SubscriptionView | None:
        doc = await self.load()
        return SubscriptionView.of(self.tenant_id, doc) if doc else None

    async def save(self, fields: dict[str, Any], now: datetime) -> None:
        await self.coll.put(SUBSCRIPTION_KEY, {**fields, "updated_at": now})

    async def claim(self, holder: Holder, now: datetime, ttl: timedelta = CLAIM_TTL) -> bool:
        await self.coll.put(
            SUBSCRIPTION_KEY, {}, set_on_insert={"status": "none", "updated_at": now}
        )
        free = {
            "$or": [{"busy_until": None}, {"busy_until": {"$lt": now}}, {"busy_by": str(holder)}],
        }
        update = {"$set": {"busy_by": str(holder), "busy_until": now + ttl}}
        return await self.coll.claim(SUBSCRIPTION_KEY, free, update) is not None

    async def release(self, holder: Holder) -> None:
        await self.coll.claim(
            SUBSCRIPTION_KEY,
            {"busy_by": str(holder)},
            {"$set": {"busy_by": None, "busy_until": None}},
        )

    async def note_notifications(self, count: int, now: datetime) -> None:
        await self.coll.update(
            SUBSCRIPTION_KEY,
            {"$set": {"last_notification_at": now}, "$inc": {"notifications": count}},
        )

    async def note_rejected(self, count: int, now: datetime) -> None:
        await self.coll.update(
            SUBSCRIPTION_KEY, {"$set": {"last_rejected_at": now}, "$inc": {"rejected": count}}
        )

    async def note_lifecycle(self, event: str, now: datetime, status: str | None) -> None:
        fields: dict[str, Any] = {"last_lifecycle_event": event, "last_lifecycle_at": now}
        if status is not None:
            fields["status"] = status
            fields["next_attempt_at"] = None  # act now, not after a failure's back-off
        await self.coll.update(SUBSCRIPTION_KEY, {"$set": fields})

    async def verify(self, client_state: str | None) -> bool:
        doc = await self.load()
        return doc is not None and client_state_matches(
            client_state, doc.get("client_state_sha256")
        )

    async def forget(self) -> int:
        return await self.coll.delete(SUBSCRIPTION_KEY)


MakeApi = Callable[[TenantRecord], SubscriptionApi]
OnCatchUp = Callable[[str], None]


def subscribable(record: TenantRecord) -> bool:
    return record.enabled and record.graph is not None and not record.demo


class SubscriptionKeeper:
    """Creates, renews, reauthorizes and recreates each tenant's subscription.

    `maintain_all()` runs from `juno serve` every `interval` and whenever a lifecycle event
    asks for action (`wake()`); `catch_up(tenant_id)` is called when changes may have been
    missed (a new subscription, `missed`, a reauthorization), to schedule a delta round.
    """

    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        make_api: MakeApi,
        *,
        notification_url: str,
        lifecycle_url: str,
        catch_up: OnCatchUp | None = None,
        holder: Holder | None = None,
        lifetime: timedelta = LIFETIME,
        renew_before: timedelta = RENEW_BEFORE,
        retry_after: timedelta = RETRY_AFTER,
        clock: Clock = utcnow,
    ) -> None:
        if lifetime > MAX_LIFETIME:
            raise ValueError("a /users subscription lives at most 41,760 minutes")
        self.db = db
        self.make_api = make_api
        self.notification_url = notification_url
        self.lifecycle_url = lifecycle_url
        self.catch_up = catch_up
        self.holder = holder or Holder.here("juno-subscriptions")
        self.lifetime = lifetime
        self.renew_before = renew_before
        self.retry_after = retry_after
        self.clock = clock

    async def maintain_all(self) -> dict[str, str]:
        done: dict[str, str] = {}
        for record in await TenantRegistry(self.db).list_all():
            if subscribable(record):
                done[record.tenant_id] = await self.maintain(record)
            elif record.graph is not None and not record.enabled:
                done[record.tenant_id] = await self.pause(record)
        return done

    async def pause(self, record: TenantRecord) -> str:
        """A disabled tenant gets no notifications: its subscription is deleted at Graph and
        marked `paused`, and recreated by the first pass after it is enabled again."""
        store = SubscriptionStore(self.db, record.tenant_id)
        now = self.clock()
        doc = await store.load()
        if (
            doc is None
            or doc.get("status") in ("paused", "deleted", "none")
            or not (doc.get("subscription_id"))
        ):
            return "ok"
        if not await store.claim(self.holder, now):
            return "busy"
        try:
            api = self.make_api(record)
            try:
                await api.delete(str(doc["subscription_id"]))
            except GraphRequestError as exc:
                if not is_not_found(exc):
                    raise
            finally:
                await api.aclose()
        except GraphSyncError as exc:
            return await self._failed(store, exc)
        finally:
            await store.release(self.holder)
        paused = {"status": "paused", "subscription_id": None, "client_state_sha256": None,
                  "expires_at": None, "next_attempt_at": None}  # fmt: skip
        await store.save(paused, now)
        return "paused"

    async def maintain(self, record: TenantRecord, *, renew: bool = False) -> str:
        """Bring one tenant's subscription in order; returns what was done, in a word or
        `failed: <one line>`. `renew=True` renews an active one whatever its expiry."""
        store = SubscriptionStore(self.db, record.tenant_id)
        now = self.clock()
        doc = await store.load() or {}
        pending = doc.get("next_attempt_at")
        if not renew and isinstance(pending, datetime) and pending > now:
            return "waiting"
        if not renew and not self._due(doc, now):
            return "off" if doc.get("status") == "deleted" else "ok"  # no write on a quiet pass
        if not await store.claim(self.holder, now):
            return "busy"
        try:
            doc = await store.load() or {}
            try:
                api = self.make_api(record)
            except GraphSyncError as exc:
                return await self._failed(store, exc)
            try:
                return await self._maintain(store, api, doc, now, renew)
            except GraphSyncError as exc:
                return await self._failed(store, exc)
            finally:
                await api.aclose()
        finally:
            await store.release(self.holder)

    def _due(self, doc: dict[str, Any], now: datetime) -> bool:
        status = doc.get("status")
        if status == "deleted":
            return False
        if status != "active" or not doc.get("subscription_id"):
            return True  # missing, removed, failed, half-created, reauthorization required
        expires = doc.get("expires_at")
        return not isinstance(expires, datetime) or expires - now <= self.renew_before

    async def _maintain(
        self,
        store: SubscriptionStore,
        api: SubscriptionApi,
        doc: dict[str, Any],
        now: datetime,
        renew: bool,
    ) -> str:
        status = doc.get("status")
        sub_id = doc.get("subscription_id")
        expires = doc.get("expires_at")
        if status == "deleted" and not renew:
            return "off"  # an operator deleted it; `juno graph subscriptions renew` restores
        if not sub_id or status in (None, "none", "removed", "creating", "failed", "deleted"):
            return await self._create(store, api, now)
        if renew or not isinstance(expires, datetime) or expires - now <= self.renew_before:
            try:
                answer = await api.renew(sub_id, now + self.lifetime)
            except GraphRequestError as exc:
                if is_not_found(exc):  # Graph deleted it (expired, or removed)
                    return await self._create(store, api, now)
                raise
            fields = {
                "status": "active",
                "expires_at": parse_graph_time(answer.get("expirationDateTime"))
                or now + self.lifetime,
                "renewed_at": now,
                "last_error": None,
                "next_attempt_at": None,
            }
            if status == "reauthorization_required":  # a renewal also reauthorizes
                fields["reauthorized_at"] = now
            await store.save(fields, now)
            if status == "reauthorization_required":
                self._catch_up(store.tenant_id)
            return "renewed"
        if status == "reauthorization_required":
            try:
                await api.reauthorize(sub_id)
            except GraphRequestError as exc:
                if is_not_found(exc):
                    return await self._create(store, api, now)
                raise
            fields = {
                "status": "active",
                "reauthorized_at": now,
                "last_error": None,
                "next_attempt_at": None,
            }
            await store.save(fields, now)
            self._catch_up(store.tenant_id)  # notifications may have paused meanwhile
            return "reauthorized"
        return "ok"

    async def _create(self, store: SubscriptionStore, api: SubscriptionApi, now: datetime) -> str:
        # A subscription of ours that we lost track of (a crash between Graph's 201 and our
        # write) would double every notification: remove such leftovers first.
        try:
            leftovers = [
                str(item["id"])
                for item in await api.list()
                if item.get("notificationUrl") == self.notification_url and item.get("id")
            ]
        except GraphRequestError as exc:  # best effort: creating matters more
            log.warning("tenant %s: cannot list subscriptions: %s", store.tenant_id, exc)
            leftovers = []
        for leftover in leftovers:
            try:
                await api.delete(leftover)
            except GraphRequestError as exc:
                if not is_not_found(exc):
                    raise
        secret = secrets.token_urlsafe(48)  # 64 characters; Graph allows 128
        # The hash is stored before Graph is asked: the first notification may arrive before
        # its answer does.
        await store.save(
            {
                "status": "creating",
                "subscription_id": None,
                "resource": RESOURCE,
                "client_state_sha256": client_state_hash(secret),
            },
            now,
        )
        answer = await api.create(
            {
                "changeType": CHANGE_TYPE,
                "notificationUrl": self.notification_url,
                "lifecycleNotificationUrl": self.lifecycle_url,
                "resource": RESOURCE,
                "expirationDateTime": graph_time(now + self.lifetime),
                "clientState": secret,
            }
        )
        await store.save(
            {
                "status": "active",
                "subscription_id": answer["id"],
                "expires_at": parse_graph_time(answer.get("expirationDateTime"))
                or now + self.lifetime,
                "created_at": now,
                "renewed_at": None,
                "last_error": None,
                "next_attempt_at": None,
            },
            now,
        )
        log.info("tenant %s: change notifications subscribed (%s)", store.tenant_id, answer["id"])
        self._catch_up(store.tenant_id)  # whatever changed while there was none
        return "created"

    async def _failed(self, store: SubscriptionStore, exc: GraphSyncError) -> str:
        now = self.clock()
        line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        doc = await store.load() or {}
        fields: dict[str, Any] = {"last_error": line, "next_attempt_at": now + self.retry_after}
        if doc.get("status") == "creating":
            fields["status"] = "failed"
        await store.save(fields, now)
        log.warning("tenant %s: subscription upkeep failed: %s", store.tenant_id, line)
        return f"failed: {line}"

    def _catch_up(self, tenant_id: str) -> None:
        if self.catch_up is not None:
            self.catch_up(tenant_id)

    async def delete(self, record: TenantRecord) -> bool:
        """Delete the tenant's subscription at Graph and stop keeping one (polling carries
        on) until `maintain(record, renew=True)`. True when there was one to delete."""
        store = SubscriptionStore(self.db, record.tenant_id)
        doc = await store.load()
        sub_id = (doc or {}).get("subscription_id")
        if sub_id:
            api = self.make_api(record)
            try:
                await api.delete(str(sub_id))
            except GraphRequestError as exc:
                if not is_not_found(exc):
                    raise
            finally:
                await api.aclose()
        now = self.clock()
        await store.save(
            {
                "status": "deleted",
                "subscription_id": None,
                "client_state_sha256": None,
                "expires_at": None,
                "next_attempt_at": None,
            },
            now,
        )
        return bool(sub_id)
