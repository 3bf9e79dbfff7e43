"""The processor's duties, wired from settings: what this deployment looks like to a customer
(sub-processors, the facts of the security summary), the prior information owed to every
tenant's admins when the sub-processor list changes (GDPR Art. 28(2)), checked at every
`juno serve` start and by `juno subprocessors --notify`, and incident notices that reached no
admin yet, which `juno serve` keeps sending (as it does `juno dsr`'s queued outcomes)."""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from pymongo.asynchronous.database import AsyncDatabase

from bot.admin_alerts import tell_incident, tell_subprocessors
from bot.config import BotConfig
from bot.proactive import Notifier
from juno.legal import deployment_subprocessors
from juno.settings import Settings
from privacy.incidents import EventKind, Status, pending_incidents
from privacy.processor_notices import claim_notice, settle_notice
from privacy.security_summary import Deployment
from privacy.subprocessors import SubProcessor, fingerprint
from storage.repositories import TenantRegistry, TenantStore

_REPO = Path(__file__).resolve().parent.parent


def subprocessors_of(settings: Settings) -> tuple[SubProcessor, ...]:
    """The deployment's sub-processors, as the notices and records state them."""
    return deployment_subprocessors(settings)


def _database_tls(uri: str) -> bool:
    """Whether the driver will use TLS for this connection string (mongodb+srv implies it)."""
    parts = urlsplit(uri)
    options = {k.lower(): v for k, v in parse_qs(parts.query).items()}
    for name in ("tls", "ssl"):
        if name in options:
            return options[name][-1].lower() == "true"
    return parts.scheme == "mongodb+srv"


def audit_exceptions(path: Path = _REPO / "audit-exceptions.toml") -> int | None:
    """How many vulnerability exceptions `make audit` accepts; None where the file is not
    shipped (an installed wheel)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    entries = data.get("exception")
    return len(entries) if isinstance(entries, list) else 0


def deployment(settings: Settings) -> Deployment:
    uri = settings.mongodb_uri.get_secret_value() if settings.mongodb_uri else ""
    return Deployment(
        public_base_url=settings.public_base_url,
        embedded_database=settings.embedded,
        database_tls=bool(uri) and _database_tls(uri),
        bot_authenticated=not settings.bot_dev_mode,
        service_url_checked=settings.bot_validate_service_url and not settings.bot_dev_mode,
        pseudonym_key_configured=bool(
            settings.pseudonym_key and settings.pseudonym_key.get_secret_value()
        ),
        signing_key_configured=bool(
            settings.signing_key and settings.signing_key.get_secret_value()
        ),
        retention_job=settings.retention_job,
        retention_interval_hours=settings.retention_interval_hours,
        soft_delete_grace_days=settings.soft_delete_grace_days,
        export_link_hours=settings.export_link_ttl_hours,
        subprocessors=subprocessors_of(settings),
        channels=tuple(c.strip() for c in settings.bot_channels.split(",") if c.strip()),
        audit_exceptions=audit_exceptions(),
    )


@dataclass
class NoticeReport:
    fingerprint: str
    told: dict[str, int] = field(default_factory=dict)  # tenant -> admins told
    unchanged: list[str] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)


async def notify_subprocessor_change(
    db: AsyncDatabase[dict[str, Any]], notifier: Notifier, subprocessors: tuple[SubProcessor, ...]
) -> NoticeReport:
    """Tell every enabled tenant's admins whose last notice was of another list; once per
    change (a tenant whose admins could not be reached is tried again next time)."""
    digest = fingerprint(subprocessors)
    report = NoticeReport(digest)
    names = [s.name for s in subprocessors]
    for tenant in await TenantRegistry(db).list_all():
        if not tenant.enabled:
            continue
        store = TenantStore(db, tenant.tenant_id)
        claim = await claim_notice(store, digest, names)
        if claim is None:
            report.unchanged.append(tenant.tenant_id)
            continue
        before = None if claim.previous is None else claim.previous.get("subprocessors") or []
        told = await tell_subprocessors(notifier, tenant, subprocessors, before)
        await settle_notice(store, claim, told=told, admins=len(tenant.admin_ids))
        if told:
            report.told[tenant.tenant_id] = told
            await store.audit_log.record(
                actor="juno",
                action="subprocessors_notice",
                target=f"subprocessors:{digest[:12]}",
                outcome=f"told {told} of {len(tenant.admin_ids)} admins",
            )
        else:
            report.unreached.append(tenant.tenant_id)
    return report


async def deliver_pending_incidents(db: AsyncDatabase[dict[str, Any]], notifier: Notifier) -> int:
    """Tell the admins an incident notice has not reached yet (`juno incident` run where it
    could not send, or before any admin had chatted with JUNO). Returns how many tenants'
    admins were told now."""
    told = 0
    for tenant in await TenantRegistry(db).list_all():
        store = TenantStore(db, tenant.tenant_id)
        for incident, about in await pending_incidents(store):
            if incident.notified_at is None and incident.status is Status.OPEN:
                about = EventKind.OPENED  # the first notice this controller gets
            after = await tell_incident(
                notifier, store, tenant, incident, about, record_failure=False
            )
            told += after is not incident
    return told


PENDING_EVERY_SECONDS = 15.0


def attach_processor_notices(
    app: web.Application,
    db: AsyncDatabase[dict[str, Any]],
    settings: Settings,
    config: BotConfig | None,
    log: Any,
) -> None:
    """At start, in the background: tell admins of a changed sub-processor list."""
    if config is None:
        return
    from bot.outcomes import notifier_for

    subprocessors = subprocessors_of(settings)
    tasks: list[Any] = []

    async def check() -> None:
        notifier = notifier_for(config, db, log)
        try:
            report = await notify_subprocessor_change(db, notifier, subprocessors)
        except Exception as exc:  # a notice that failed is retried at the next start
            log.warning("sub-processor notice failed", error=type(exc).__name__)
        else:
            if report.told:
                log.info("sub-processor change notified", tenants=len(report.told))
        while True:  # incident notices that reached nobody yet
            try:
                await deliver_pending_incidents(db, notifier)
            except Exception as exc:  # the next pass tries again
                log.warning("incident notices not delivered", error=type(exc).__name__)
            await asyncio.sleep(PENDING_EVERY_SECONDS)

    async def start(_: web.Application) -> None:
        tasks.append(asyncio.get_running_loop().create_task(check()))

    async def stop(_: web.Application) -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
