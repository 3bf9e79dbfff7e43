"""What a tenant admin's card buttons do. Admin rights are re-read from the registry
and checked on every action before anything else runs; refusals and changes are audit-logged.

Slow work (a sync, an announcement to every user, an archive) runs in the background after the
admin is told it started, and ends in a proactive message to that admin.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from microsoft_agents.hosting.core import MessageFactory, TurnContext
from pydantic import ValidationError

from bot import admin, cards, processor_desk
from bot.commands import Command, Request
from bot.i18n import t
from bot.outcomes import outcome_message, tell_requester
from bot.proactive import Notifier
from bot.turn import Turn
from privacy.access import record_review
from privacy.consent import Kind, LegalDocument, publish
from privacy.datamap import TENANT_DAYS_MAX
from privacy.dsr import DsrRequest, DsrStatus, DsrType, get_request
from privacy.dsr_decisions import approve, complete, reject
from privacy.incidents import EventKind, get_incident, record_notification
from privacy.notice import check_change, republish_if_changed
from privacy.removal_modes import RemovalMode
from privacy.ropa import tenant_record_as_markdown
from privacy.security_summary import Deployment
from privacy.security_summary import render as security_summary
from privacy.strategies import keyed_hash
from privacy.subprocessors import SubProcessor
from privacy.suppression import lift
from privacy.tenant_archive import archive_filename, write_tenant_archive
from storage.repositories import ControllerDetails, TenantRecord, TenantRegistry, TenantStore
from storage.search_keys import fold

SyncNow = Callable[[str], Awaitable["asyncio.Task[None] | None"]]
"""Starts one tenant's directory sync now; None when it cannot start. Injected by `juno serve`
(the bot does not import graph_sync)."""

Build = Callable[[], Awaitable[tuple[bytes, str]]]
Deliver = Callable[[str, str, Build, str, str], Coroutine[Any, Any, None]]
"""(tenant, user, build the file, description key, failure key): offer a file in personal
chat (a signed link elsewhere)."""

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CONTROLLER_FIELDS = tuple(ControllerDetails.model_fields)

# A prepared file is kept in one MongoDB document until delivered.
MAX_FILE_BYTES = 15 * 1024 * 1024


class TooLarge(Exception):
    pass


@dataclass
class AdminDesk:
    db: Any
    notifier: Notifier | None
    deliver: Deliver
    background: Callable[[Coroutine[Any, Any, None]], None]
    sync_now: SyncNow | None
    pseudonym_key: bytes | None
    forget_tenant: Callable[[str], None]
    authority_host: str = "https://login.microsoftonline.com"
    deployment: Deployment | None = None
    # This deployment's sub-processors, for the notice and record texts (None: the defaults).
    subprocessors: tuple[SubProcessor, ...] | None = None

    async def handle(self, turn: Turn, request: Request) -> None:
        tenant = await TenantRegistry(self.db).get(turn.store.tenant_id)  # fresh: rights change
        if tenant is None or not tenant.is_admin(turn.user_id):
            await self._audit(turn, request.command.value, "refused: not an admin")
            await turn.say(t(turn.locale, "admin_only"))
            return
        try:
            await self._handle(turn, tenant, request)
        except ValueError as exc:  # privacy's own refusals (PrivacyError) and the desk's
            await turn.say(t(turn.locale, "admin_failed", reason=str(exc)))

    async def _handle(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
        match request.command:
            case Command.ADMIN:
                home = await admin.home_card(
                    turn.store,
                    tenant,
                    turn.locale,
                    authority_host=self.authority_host,
                    deployment=self.deployment,
                )
                await turn.card(home)
            case Command.ADMIN_REVIEW:
                # The reviewer's id, not their name: a reference the data map declares, so
                # erasing them leaves no name behind (the card looks the name up to show it).
                review = await record_review(turn.store, reviewer=turn.user_id)
                await turn.say(t(turn.locale, "admin_review_done", count=len(review.admins)))
            case Command.DSR_APPROVE:
                decided = await self._approve(turn, tenant, request)
                if decided is not None:
                    await self._decided(turn, decided)
            case Command.DSR_COMPLETE:
                done = await complete(
                    turn.store, str(request.data.get("id", "")), decided_by=turn.user_id
                )
                await self._tell_outcome(turn.store.tenant_id, done)
                await self._decided(turn, done)
            case Command.ADMIN_LIFT_SUPPRESSION:
                await self._lift(turn, str(request.data.get("object_id") or ""))
            case Command.DSR_REJECT:
                reason = str(request.data.get("reason") or "").strip()
                if not reason:
                    await turn.say(t(turn.locale, "admin_reason_needed"))
                    return
                decided = await reject(
                    turn.store,
                    str(request.data.get("id", "")),
                    decided_by=turn.user_id,
                    reason=reason,
                )
                await self._tell_outcome(turn.store.tenant_id, decided)
                await self._decided(turn, decided)
            case Command.ADMIN_SYNC:
                await self._sync(turn)
            case Command.ADMIN_REMOVAL:
                await turn.card(admin.removal_card(tenant, turn.locale))
            case Command.ADMIN_REMOVAL_SET:
                await self._set_removal(turn, tenant, request)
            case Command.ADMIN_PUBLISH:
                await turn.card(admin.publish_card(turn.locale))
            case Command.ADMIN_PUBLISH_SET:
                await self._publish(turn, request)
            case Command.ADMIN_ROPA:
                await turn.card(admin.ropa_card(tenant, turn.locale))
            case Command.ADMIN_ROPA_FILE:
                await self._ropa_file(turn, tenant)
            case Command.ADMIN_CONTROLLER:
                await turn.card(admin.controller_card(tenant, turn.locale))
            case Command.ADMIN_CONTROLLER_SET:
                await self._set_controller(turn, tenant, request)
            case Command.ADMIN_ARCHIVE:
                await self._archive(turn)
            case Command.ADMIN_INCIDENT:
                await self._incident(turn, str(request.data.get("id") or ""))
            case Command.ADMIN_SUBPROCESSORS if self.deployment is not None:
                subs = self.deployment.subprocessors
                await turn.card(processor_desk.subprocessors_card(subs, turn.locale))
            case Command.ADMIN_SECURITY_FILE if self.deployment is not None:
                await self._security_file(turn, self.deployment, str(request.data.get("locale")))

    async def _decided(self, turn: Turn, decided: DsrRequest) -> None:
        status = t(turn.locale, f"dsr_status_{decided.status.value}")
        await turn.say(t(turn.locale, "admin_decided", id=decided.id, status=status))

    async def _audit(self, turn: Turn, action: str, outcome: str) -> None:
        await turn.store.audit_log.record(
            actor=turn.user_id,
            action=f"admin:{action}",
            target=turn.store.tenant_id,
            outcome=outcome,
        )

    # Requests -----------------------------------------------------------------------------

    async def _approve(
        self, turn: Turn, tenant: TenantRecord, request: Request
    ) -> DsrRequest | None:
        """Approve; an open erasure first asks for typed confirmation (a card), and runs only
        when what was typed matches, folded (None: nothing was decided on this turn)."""
        tenant_id = turn.store.tenant_id
        request_id = str(request.data.get("id", ""))
        found = await get_request(turn.store, request_id)
        if found.type is DsrType.ERASURE and found.status is DsrStatus.OPEN:
            profile = await turn.store.profiles.get(found.user_id)
            name = str(profile["display_name"]) if profile and profile.get("display_name") else None
            typed = request.data.get("confirm")
            if typed is None:
                await turn.card(admin.erasure_card(found, name, tenant, turn.locale))
                return None
            expected = admin.erasure_word(found, name)
            # The name shown on the card; the request id and, as on the removal-mode form, the
            # organization's name are deliberate typing too.
            accepted = {fold(w.strip()) for w in (expected, found.id, tenant.name) if w.strip()}
            if fold(str(typed).strip()) not in accepted:
                await turn.say(t(turn.locale, "admin_erasure_mismatch", expected=expected))
                await self._audit(turn, "dsr_erasure", "refused: confirmation did not match")
                return None
        key = self.pseudonym_key
        pseudonym = keyed_hash(key, tenant_id) if key else None
        kpis = turn.kpis

        async def before_erasure(req: DsrRequest) -> None:
            # Counts still buffered for the person would be written after their erasure.
            kpis.forget(tenant_id, req.user_id)
            if self.notifier is not None:
                await tell_requester(
                    self.notifier, tenant_id, req, "dsr_erasure_starting", {"id": req.id}
                )

        decided = await approve(
            turn.store,
            request_id,
            decided_by=turn.user_id,
            pseudonym=pseudonym,
            before_erasure=before_erasure,
        )
        if decided.type is not DsrType.ERASURE:
            await self._tell_outcome(tenant_id, decided)
        return decided

    async def _lift(self, turn: Turn, object_id: str) -> None:
        """The controller lets someone erased on request back into the directory sync.
        Audited without the id: the audit log must not name a person who was erased."""
        candidate = object_id.strip().lower()
        if not _GUID.fullmatch(candidate):
            await turn.say(t(turn.locale, "admin_suppression_invalid"))
            return
        if not self.pseudonym_key:
            raise ValueError("no pseudonym key is configured")
        lifted = await lift(
            turn.store, candidate, keyed_hash(self.pseudonym_key, turn.store.tenant_id)
        )
        await self._audit(turn, "lift_suppression", "lifted" if lifted else "none found")
        await turn.say(
            t(turn.locale, "admin_suppression_lifted" if lifted else "admin_suppression_missing")
        )

    async def _tell_outcome(self, tenant_id: str, request: DsrRequest) -> None:
        message = outcome_message(request)
        if message is not None and self.notifier is not None:
            await tell_requester(self.notifier, tenant_id, request, *message)

    # Sync ---------------------------------------------------------------------------------

    async def _sync(self, turn: Turn) -> None:
        task = await self.sync_now(turn.store.tenant_id) if self.sync_now else None
        if task is None:
            await turn.say(t(turn.locale, "admin_sync_unavailable"))
            await self._audit(turn, "sync_now", "not started")
            return
        await self._audit(turn, "sync_now", "started")
        await turn.say(t(turn.locale, "admin_sync_started"))
        self.background(self._report_sync(turn.store, turn.user_id, task))

    async def _report_sync(
        self, store: TenantStore, admin_id: str, task: asyncio.Task[None]
    ) -> None:
        await asyncio.wait([task])
        state = await store.sync_state.get(admin.SYNC_STATE_KEY) or {}
        last = state.get("last_run") or {}

        async def compose(context: TurnContext, locale: str) -> None:
            text = admin.sync_summary(last, locale) if last else t(locale, "admin_sync_never")
            await context.send_activity(MessageFactory.text(t(locale, "admin_sync_done", run=text)))

        if self.notifier is not None:
            await self.notifier.send(store.tenant_id, admin_id, compose)

    # Removal mode -------------------------------------------------------------------------

    async def _set_removal(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
        try:
            mode = RemovalMode(str(request.data.get("mode") or ""))
        except ValueError:
            await turn.card(admin.removal_card(tenant, turn.locale))
            return
        typed = str(request.data.get("confirm") or "")
        if fold(typed.strip()) != fold(tenant.name.strip()) or not typed.strip():
            await turn.say(t(turn.locale, "admin_removal_mismatch", name=tenant.name))
            await self._audit(turn, "removal_mode", "refused: confirmation did not match")
            return
        if mode.value == tenant.removal_mode:
            await turn.say(t(turn.locale, "admin_removal_same"))
            return
        await TenantRegistry(self.db).update(tenant.tenant_id, {"removal_mode": mode.value})
        self.forget_tenant(tenant.tenant_id)
        await self._audit(turn, "removal_mode", f"changed {tenant.removal_mode} -> {mode.value}")
        await turn.say(t(turn.locale, "admin_removal_done", mode=t(turn.locale, f"removal_{mode}")))

    # Notice and terms ---------------------------------------------------------------------

    async def _publish(self, turn: Turn, request: Request) -> None:
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
        await self._audit(turn, f"publish_{kind.value}", f"version {doc.version}")
        await turn.say(t(turn.locale, f"admin_published_{kind.value}", version=doc.version))
        missing = [loc for loc in ("tr", "en") if loc not in texts]
        if missing:
            # Published, and flagged until a version in both languages exists: the readers of
            # the missing language see this text with a line saying it is not in their language.
            language = t(turn.locale, f"language_{missing[0]}")
            await turn.say(t(turn.locale, "admin_published_one_language", language=language))
        self.background(self._announce(turn.store, doc, turn.user_id))

    async def _announce(self, store: TenantStore, doc: LegalDocument, admin_id: str) -> None:
        """Tell everyone who has a conversation with JUNO; the rest are asked on their next
        contact anyway (the consent gate compares versions)."""
        if self.notifier is None:
            return
        people = await store.conversations.find({}, projection={"user_id": 1})
        card = cards.notice_card if doc.kind is Kind.NOTICE else cards.eula_card

        async def compose(context: TurnContext, locale: str) -> None:
            key = f"document_updated_{doc.kind.value}"
            await context.send_activity(MessageFactory.text(t(locale, key, version=doc.version)))
            await context.send_activity(
                MessageFactory.attachment(cards.attachment(card(doc, locale)))
            )

        told = 0
        for person in people:
            user_id = person.get("user_id")
            if isinstance(user_id, str) and await self.notifier.send(
                store.tenant_id, user_id, compose
            ):
                told += 1

        async def report(context: TurnContext, locale: str) -> None:
            text = t(locale, "admin_announced", told=told, total=len(people))
            await context.send_activity(MessageFactory.text(text))

        await self.notifier.send(store.tenant_id, admin_id, report)

    # Processor duties ---------------------------------------------------------------------

    async def _incident(self, turn: Turn, incident_id: str) -> None:
        incident = await get_incident(turn.store, incident_id[:64]) if incident_id else None
        if incident is None:
            await turn.say(t(turn.locale, "incident_missing", id=incident_id[:64] or "-"))
            return
        if incident.notified_at is None:
            # An admin reading it here is the controller becoming aware: the clock starts now.
            incident = await record_notification(
                turn.store, incident.id, about=EventKind.OPENED, told=1, admins=1,
                channel="admin desk",
            )  # fmt: skip
        await self._audit(turn, "incident", f"viewed {incident.id}")
        await turn.card(processor_desk.incident_card(incident, turn.locale))

    async def _security_file(self, turn: Turn, deployment: Deployment, locale: str) -> None:
        lang = locale if locale in ("tr", "en") else turn.locale

        async def build() -> tuple[bytes, str]:
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            text = security_summary(deployment, lang)
            return text.encode("utf-8"), f"juno-security-summary-{lang}-{stamp}.md"

        await self._audit(turn, "security_summary", f"prepared ({lang})")
        await turn.say(t(turn.locale, "admin_file_started"))
        self.background(
            self.deliver(
                turn.store.tenant_id, turn.user_id, build, "security_consent", "admin_file_failed"
            )
        )

    # The controller's details ------------------------------------------------------------

    async def _set_controller(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
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
        record = await TenantRegistry(self.db).update(tenant.tenant_id, changes)
        self.forget_tenant(tenant.tenant_id)
        published = await republish_if_changed(
            turn.store, record, published_by=turn.user_id, subprocessors=self.subprocessors
        )
        outcome = f"version {published.version}" if published else "unchanged"
        await self._audit(turn, "controller_details", f"saved; notice {outcome}")
        if published is None:
            await turn.say(t(turn.locale, "admin_controller_unchanged"))
            return
        await turn.say(t(turn.locale, "admin_controller_saved", version=published.version))
        self.background(self._announce(turn.store, published, turn.user_id))

    # Files --------------------------------------------------------------------------------

    async def _ropa_file(self, turn: Turn, tenant: TenantRecord) -> None:
        locale = "tr" if turn.locale.lower().startswith("tr") else "en"

        async def build() -> tuple[bytes, str]:
            fresh = await turn.store.own_record.get() or tenant
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            text = tenant_record_as_markdown(fresh, locale=locale, subprocessors=self.subprocessors)
            return text.encode("utf-8"), f"juno-ropa-{stamp}-{locale}.md"

        await self._audit(turn, "ropa_file", "prepared")
        await turn.say(t(turn.locale, "admin_file_started"))
        self.background(
            self.deliver(
                turn.store.tenant_id, turn.user_id, build, "ropa_consent", "admin_file_failed"
            )
        )

    async def _archive(self, turn: Turn) -> None:
        store = turn.store

        async def build() -> tuple[bytes, str]:
            buffer = io.BytesIO()
            archive = await write_tenant_archive(store, buffer)
            data = buffer.getvalue()
            if len(data) > MAX_FILE_BYTES:
                raise TooLarge(f"{len(data)} bytes")
            return data, archive_filename(store.tenant_id, archive.created_at)

        await self._audit(turn, "tenant_archive", "prepared")
        await turn.say(t(turn.locale, "admin_file_started"))
        self.background(
            self.deliver(
                store.tenant_id, turn.user_id, build, "archive_consent", "admin_archive_failed"
            )
        )
