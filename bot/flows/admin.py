"""What a tenant admin's card buttons do. Admin rights are re-read from the registry and
checked on every action before anything else runs; refusals and changes are audit-logged.
The desk answers only in personal chat (everyone in a group would see its requests).

Slow work (a sync, an announcement to every user, a file) runs in the background after the
admin is told it started, and ends in a proactive message to that admin. Deciding requests is
bot.flows.requests_desk; the processor's duties are bot.flows.processor.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pydantic import ValidationError
from pymongo.asynchronous.database import AsyncDatabase

from bot.cards import admin, blocks, legal
from bot.commands import ADMIN_COMMANDS, Command, Request
from bot.delivery import ExportDelivery
from bot.flows import Routes
from bot.flows.admin_home import SYNC_STATE_KEY, read_desk
from bot.flows.desk import DeskRoutes, audit
from bot.flows.processor import ProcessorDesk
from bot.flows.requests_desk import RequestsDesk
from bot.gate import is_personal
from bot.i18n import t
from bot.proactive import Notifier
from bot.tasks import BackgroundTasks
from bot.tenants import TenantCache
from bot.turn import Turn
from privacy.access import record_review
from privacy.consent import Kind, LegalDocument, publish
from privacy.datamap import TENANT_DAYS_MAX
from privacy.mode_effects import mode_name
from privacy.notice import check_change, republish_if_changed
from privacy.removal_modes import RemovalMode
from privacy.ropa import tenant_record_as_markdown
from privacy.security_summary import Deployment
from privacy.subprocessors import SubProcessor
from privacy.tenant_archive import archive_filename, write_tenant_archive
from storage.repositories import ControllerDetails, TenantRecord, TenantRegistry, TenantStore
from storage.search_keys import fold

SyncNow = Callable[[str], Awaitable["asyncio.Task[None] | None"]]
"""Starts one tenant's directory sync now; None when it cannot start. Injected by `juno serve`
(the bot does not import graph_sync)."""

# A prepared file is kept in one MongoDB document until delivered.
MAX_FILE_BYTES = 15 * 1024 * 1024


class TooLarge(Exception):
    pass


class AdminDesk:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        notifier: Notifier | None,
        delivery: ExportDelivery,
        tasks: BackgroundTasks,
        tenants: TenantCache,
        sync_now: SyncNow | None,
        pseudonym_key: bytes | None,
        authority_host: str = "https://login.microsoftonline.com",
        deployment: Deployment | None = None,
        # This deployment's sub-processors, for the notice and record texts (None: defaults).
        subprocessors: tuple[SubProcessor, ...] | None = None,
    ) -> None:
        self._registry = TenantRegistry(db)
        self._notifier = notifier
        self._delivery = delivery
        self._tasks = tasks
        self._tenants = tenants
        self._sync_now = sync_now
        self._authority_host = authority_host
        self._deployment = deployment
        self._subprocessors = subprocessors
        self._desk: DeskRoutes = {
            Command.ADMIN: self.home,
            Command.ADMIN_REVIEW: self.review,
            Command.ADMIN_SYNC: self.sync,
            Command.ADMIN_REMOVAL: self.removal_form,
            Command.ADMIN_REMOVAL_SET: self.set_removal,
            Command.ADMIN_PUBLISH: self.publish_form,
            Command.ADMIN_PUBLISH_SET: self.publish,
            Command.ADMIN_ROPA: self.ropa,
            Command.ADMIN_ROPA_FILE: self.ropa_file,
            Command.ADMIN_CONTROLLER: self.controller_form,
            Command.ADMIN_CONTROLLER_SET: self.set_controller,
            Command.ADMIN_ARCHIVE: self.archive,
            **RequestsDesk(notifier, pseudonym_key).routes(),
            **ProcessorDesk(deployment, delivery).routes(),
        }

    def routes(self) -> Routes:
        """Every desk command goes through `handle`, which checks where and who asks."""
        return dict.fromkeys(ADMIN_COMMANDS, self.handle)

    async def handle(self, turn: Turn, request: Request) -> None:
        if not is_personal(turn.context.activity):
            await turn.say(t(turn.locale, "admin_personal_only"))
            return
        tenant = await self._registry.get(turn.store.tenant_id)  # fresh: rights change
        if tenant is None or not tenant.is_admin(turn.user_id):
            await audit(turn, request.command.value, "refused: not an admin")
            await turn.say(t(turn.locale, "admin_only"))
            return
        handler = self._desk.get(request.command)
        if handler is None:  # a processor duty where no deployment is declared
            return
        try:
            await handler(turn, tenant, request)
        except ValueError as exc:  # privacy's own refusals (PrivacyError) and the desk's
            await turn.say(t(turn.locale, "admin_failed", reason=str(exc)))

    async def home(self, turn: Turn, tenant: TenantRecord, _: Request) -> None:
        facts = await read_desk(turn.store, tenant)
        await turn.card(
            admin.home_card(
                facts, turn.locale, authority_host=self._authority_host, deployment=self._deployment
            )
        )

    async def review(self, turn: Turn, _: TenantRecord, __: Request) -> None:
        # The reviewer's id, not their name: a reference the data map declares, so erasing
        # them leaves no name behind (the card looks the name up to show it).
        review = await record_review(turn.store, reviewer=turn.user_id)
        await turn.say(t(turn.locale, "admin_review_done", count=len(review.admins)))

    # Sync ---------------------------------------------------------------------------------

    async def sync(self, turn: Turn, _: TenantRecord, __: Request) -> None:
        task = await self._sync_now(turn.store.tenant_id) if self._sync_now else None
        if task is None:
            await turn.say(t(turn.locale, "admin_sync_unavailable"))
            await audit(turn, "sync_now", "not started")
            return
        await audit(turn, "sync_now", "started")
        await turn.say(t(turn.locale, "admin_sync_started"))
        self._tasks.start(self._report_sync(turn.store, turn.user_id, task))

    async def _report_sync(
        self, store: TenantStore, admin_id: str, task: asyncio.Task[None]
    ) -> None:
        await asyncio.wait([task])
        state = await store.sync_state.get(SYNC_STATE_KEY) or {}
        last = state.get("last_run") or {}

        async def compose(context: TurnContext, locale: str) -> None:
            text = admin.sync_summary(last, locale) if last else t(locale, "admin_sync_never")
            await context.send_activity(MessageFactory.text(t(locale, "admin_sync_done", run=text)))

        if self._notifier is not None:
            await self._notifier.send(store.tenant_id, admin_id, compose)

    # Removal mode -------------------------------------------------------------------------

    async def removal_form(self, turn: Turn, tenant: TenantRecord, _: Request) -> None:
        await turn.card(admin.removal_card(tenant, turn.locale))

    async def set_removal(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
        try:
            mode = RemovalMode(str(request.data.get("mode") or ""))
        except ValueError:
            await turn.card(admin.removal_card(tenant, turn.locale))
            return
        typed = str(request.data.get("confirm") or "")
        if fold(typed.strip()) != fold(tenant.name.strip()) or not typed.strip():
            await turn.say(t(turn.locale, "admin_removal_mismatch", name=tenant.name))
            await audit(turn, "removal_mode", "refused: confirmation did not match")
            return
        if mode.value == tenant.removal_mode:
            await turn.say(t(turn.locale, "admin_removal_same"))
            return
        await self._registry.update(tenant.tenant_id, {"removal_mode": mode.value})
        self._tenants.forget(tenant.tenant_id)
        await audit(turn, "removal_mode", f"changed {tenant.removal_mode} -> {mode.value}")
        await turn.say(
            t(
                turn.locale,
                "admin_removal_done",
                mode=mode_name(mode, turn.locale, capitalized=True),
            )
        )

    # Notice and terms ---------------------------------------------------------------------

    async def publish_form(self, turn: Turn, _: TenantRecord, __: Request) -> None:
        await turn.card(admin.publish_card(turn.locale))

    async def publish(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        try:
            kind = Kind(str(request.data.get("kind") or ""))
        except ValueError:
            await turn.card(admin.publish_card(turn.locale))
            return
        texts = {
            loc: str(request.data.get(f"text_{loc}") or "").strip()[:20_000] for loc in ("tr", "en")
        }
        texts = {loc: text for loc, text in texts.items() if text}
        if not texts:
            await turn.say(t(turn.locale, "admin_publish_empty"))
            return
        doc = await publish(turn.store, kind, texts, published_by=turn.user_id)
        await audit(turn, f"publish_{kind.value}", f"version {doc.version}")
        await turn.say(t(turn.locale, f"admin_published_{kind.value}", version=doc.version))
        missing = [loc for loc in ("tr", "en") if loc not in texts]
        if missing:
            # Published, and flagged until a version in both languages exists: the readers of
            # the missing language see this text with a line saying it is not in their language.
            language = t(turn.locale, f"language_{missing[0]}")
            await turn.say(t(turn.locale, "admin_published_one_language", language=language))
        self._tasks.start(self._announce(turn.store, doc, turn.user_id))

    async def _announce(self, store: TenantStore, doc: LegalDocument, admin_id: str) -> None:
        """Tell everyone who has a conversation with JUNO; the rest are asked on their next
        contact anyway (the consent gate compares versions)."""
        notifier = self._notifier
        if notifier is None:
            return
        people = await store.conversations.find({}, projection={"user_id": 1})
        card = legal.notice_card if doc.kind is Kind.NOTICE else legal.eula_card

        async def compose(context: TurnContext, locale: str) -> None:
            key = f"document_updated_{doc.kind.value}"
            await context.send_activity(MessageFactory.text(t(locale, key, version=doc.version)))
            await context.send_activity(
                MessageFactory.attachment(blocks.attachment(card(doc, locale)))
            )

        told = 0
        for person in people:
            user_id = person.get("user_id")
            if isinstance(user_id, str) and await notifier.send(store.tenant_id, user_id, compose):
                told += 1

        async def report(context: TurnContext, locale: str) -> None:
            text = t(locale, "admin_announced", told=told, total=len(people))
            await context.send_activity(MessageFactory.text(text))

        await notifier.send(store.tenant_id, admin_id, report)

    # The controller's details ------------------------------------------------------------

    async def controller_form(self, turn: Turn, tenant: TenantRecord, _: Request) -> None:
        await turn.card(admin.controller_card(tenant, turn.locale))

    async def set_controller(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
        """Save the form and publish the derived notice when its text changes: the form can
        lengthen the KPI window only because saving it always republishes (privacy.notice)."""
        data = request.data
        details = {
            k: str(data.get(k) or "").strip() or None
            for k in (
                "legal_name",
                "address",
                "email",
                "dpo_contact",
                "verbis_id",
                "representative",
            )
        }
        bases = {
            s.collection.value: str(data.get(f"basis_{s.collection.value}") or "")
            for s in admin.basis_choices()
        }
        # Clients send Input.Number as a number or as its text ("200", 200, 200.0).
        days = str(data.get("kpi_retention_days") or "").strip().removesuffix(".0")
        try:
            if not days.isdigit():
                cap = TENANT_DAYS_MAX["kpi_retention_days"]
                raise ValueError(t(turn.locale, "admin_controller_kpi_error", max=cap))
            changes: dict[str, Any] = {
                "controller": ControllerDetails.model_validate(details),
                "legal_bases": {k: v for k, v in bases.items() if v},
                "kpi_retention_days": int(days),
            }
            await check_change(turn.store, changes, republish=True)
        except ValidationError as exc:
            first = exc.errors()[0]
            reason = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            await turn.say(t(turn.locale, "admin_controller_invalid", reason=reason))
            return
        except ValueError as exc:
            await turn.say(t(turn.locale, "admin_controller_invalid", reason=str(exc)))
            return
        record = await self._registry.update(tenant.tenant_id, changes)
        self._tenants.forget(tenant.tenant_id)
        published = await republish_if_changed(
            turn.store, record, published_by=turn.user_id, subprocessors=self._subprocessors
        )
        outcome = f"version {published.version}" if published else "unchanged"
        await audit(turn, "controller_details", f"saved; notice {outcome}")
        if published is None:
            await turn.say(t(turn.locale, "admin_controller_unchanged"))
            return
        await turn.say(t(turn.locale, "admin_controller_saved", version=published.version))
        self._tasks.start(self._announce(turn.store, published, turn.user_id))

    # Files --------------------------------------------------------------------------------

    async def ropa(self, turn: Turn, tenant: TenantRecord, _: Request) -> None:
        await turn.card(admin.ropa_card(tenant, turn.locale))

    async def ropa_file(self, turn: Turn, tenant: TenantRecord, _: Request) -> None:
        locale = "tr" if turn.locale.lower().startswith("tr") else "en"
        store = turn.store

        async def build() -> tuple[bytes, str]:
            fresh = await store.own_record.get() or tenant
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            text = tenant_record_as_markdown(
                fresh, locale=locale, subprocessors=self._subprocessors
            )
            return text.encode("utf-8"), f"juno-ropa-{stamp}-{locale}.md"

        await audit(turn, "ropa_file", "prepared")
        await turn.say(t(turn.locale, "admin_file_started"))
        self._delivery.start(
            store.tenant_id, turn.user_id, build, "ropa_consent", "admin_file_failed"
        )

    async def archive(self, turn: Turn, _: TenantRecord, __: Request) -> None:
        store = turn.store

        async def build() -> tuple[bytes, str]:
            buffer = io.BytesIO()
            archive = await write_tenant_archive(store, buffer)
            data = buffer.getvalue()
            if len(data) > MAX_FILE_BYTES:
                raise TooLarge(f"{len(data)} bytes")
            return data, archive_filename(store.tenant_id, archive.created_at)

        await audit(turn, "tenant_archive", "prepared")
        await turn.say(t(turn.locale, "admin_file_started"))
        self._delivery.start(
            store.tenant_id, turn.user_id, build, "archive_consent", "admin_archive_failed"
        )
