"""JUNO's turn logic: tenant gate, de-duplication, first contact, consent, commands.

Every turn starts by finding the caller's tenant. An unknown or disabled tenant gets one polite
message and nothing is read or stored for it except an audit entry. Until a user has
acknowledged the current privacy notice and accepted the current terms, only the always-allowed
commands run (help, consents, the documents themselves, and data rights).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from microsoft_agents.activity import Activity, Attachment, InvokeResponse
from microsoft_agents.hosting.core import MessageFactory, OutboundHostValidator, TurnContext
from pymongo.asynchronous.database import AsyncDatabase

from bot import cards, directory, files
from bot.admin_desk import AdminDesk, Build, SyncNow
from bot.commands import ADMIN_COMMANDS, ALWAYS_ALLOWED, Command, Request, parse
from bot.config import BotConfig
from bot.i18n import pick_locale, t
from bot.identity import bounded, refusal, tenant_of, user_of
from bot.kpi import KpiRecorder
from bot.proactive import Notifier
from bot.state import MongoStorage, UserState
from bot.turn import Turn
from privacy import rectification
from privacy.consent import (
    ConsentAction,
    Kind,
    LegalDocument,
    Standing,
    current_document,
    document_version,
    standing,
)
from privacy.dsr import DsrError, request_erasure
from privacy.export import build_export
from privacy.links import LINK_PREFIX, LinkRefused, create_export_link, redeem_export_link
from storage.repositories import TenantRecord, TenantRegistry, TenantStore

_TENANT_CACHE_SECONDS = 30.0
_DEDUPE_HOURS = 24
# A conversation's welcome marker: the data map keeps dialog state at most 90 days.
_WELCOME_KEPT = timedelta(days=90)
_UNNAMED_LANGUAGE_WAIT = 1.5
_MAX_ECHO = 60
DRAIN_SECONDS = 30.0


def _is_personal(activity: Activity) -> bool:
    conversation = activity.conversation
    return conversation is not None and conversation.conversation_type in (None, "personal")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _att(card: dict[str, Any]) -> dict[str, Any]:
    """A Teams card dict (contentType, content, name, contentUrl) as Attachment fields."""
    return {
        "content_type": card["contentType"],
        "content": card.get("content"),
        "name": card.get("name"),
        "content_url": card.get("contentUrl"),
    }


def _echo(text: str) -> str:
    printable = "".join(ch for ch in text if ch.isprintable())
    return printable[:_MAX_ECHO] + ("…" if len(printable) > _MAX_ECHO else "")


class JunoBot:
    def __init__(
        self,
        db: AsyncDatabase[dict[str, Any]],
        *,
        default_locale: str,
        log: Any,
        kpis: KpiRecorder,
        notifier: Notifier | None = None,
        export: BotConfig | None = None,
        sync_now: SyncNow | None = None,
    ) -> None:
        self._db = db
        self._kpis = kpis
        self._notifier = notifier
        self._export = export or BotConfig(app_id=None)
        self._validator = OutboundHostValidator(enabled=self._export.validate_service_url)
        self._tasks: set[asyncio.Task[None]] = set()
        self._registry = TenantRegistry(db)
        self._default_locale = default_locale
        self._log = log
        self._tenants: dict[str, tuple[float, TenantRecord | None]] = {}
        self._references: dict[tuple[str, str], tuple[str, str]] = {}
        self._desk = AdminDesk(
            db,
            notifier=notifier,
            deliver=self._deliver_file,
            background=self._background,
            sync_now=sync_now,
            pseudonym_key=self._export.pseudonym_key,
            forget_tenant=self.forget_tenant,
            authority_host=self._export.authority_host,
            subprocessors=self._export.subprocessors,
            deployment=self._export.deployment,
        )

    def forget_tenant(self, tenant_id: str) -> None:
        self._tenants.pop(tenant_id, None)

    async def _tenant(self, tenant_id: str) -> TenantRecord | None:
        cached = self._tenants.get(tenant_id)
        now = time.monotonic()
        if cached and now - cached[0] < _TENANT_CACHE_SECONDS:
            return cached[1]
        record_ = await self._registry.get(tenant_id)
        self._tenants[tenant_id] = (now, record_)
        return record_

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        untrusted = refusal(activity, self._export.channels)
        if untrusted is not None:  # bot.http refuses these first; this holds for other hosts
            self._log.warning("activity identity not trusted", reason=untrusted)
            return
        tenant_id = tenant_of(activity)
        tenant = await self._tenant(tenant_id) if tenant_id else None
        if tenant is None or not tenant.enabled:
            await self._refuse(context, tenant_id)
            return
        store = TenantStore(self._db, tenant.tenant_id)
        if activity.id:
            expires = datetime.now(UTC) + timedelta(hours=_DEDUPE_HOURS)
            fresh = await store.bot_state.put_once(
                f"activity/{activity.id}", {"expires_at": expires}
            )
            if not fresh:
                self._log.info("duplicate activity ignored", tenant=tenant.tenant_id)
                return
        user_id = user_of(activity)
        if not user_id:
            return
        locale = pick_locale(activity.locale, tenant.default_locale)
        turn = Turn(context, store, user_id, locale, self._kpis)
        await self._remember_conversation(turn)
        if activity.type == "message":
            await self._on_message(turn)
        elif (activity.type == "conversationUpdate" and self._bot_was_added(activity)) or (
            activity.type == "installationUpdate" and (activity.action or "").startswith("add")
        ):
            await self._first_contact(turn, await standing(store, user_id))
        elif activity.type == "invoke":
            await _answer_invoke(context, await self._on_invoke(turn))

    @staticmethod
    def _bot_was_added(activity: Activity) -> bool:
        recipient = activity.recipient.id if activity.recipient else None
        return any(m.id == recipient for m in activity.members_added or [])

    async def _refuse(self, context: TurnContext, tenant_id: str | None) -> None:
        activity = context.activity
        locale = pick_locale(activity.locale, self._default_locale)
        # bot.http lets through only tenant ids that are GUIDs (bot.identity), so the store is
        # named by a bounded, well-formed id; anything else lands in the "unknown" bucket.
        trusted = (
            tenant_id if tenant_id and refusal(activity, self._export.channels) is None else None
        )
        shown = bounded(tenant_id) if tenant_id else None
        self._log.warning("activity from an unregistered or disabled tenant", tenant=shown)
        audit = TenantStore(self._db, trusted or "unknown").audit_log
        await audit.record(actor=None, action="refused_tenant", target=shown, outcome="refused")
        if activity.type == "invoke":
            await _answer_invoke(context, {})
        elif activity.type in ("message", "conversationUpdate", "installationUpdate"):
            await context.send_activity(MessageFactory.text(t(locale, "tenant_refused")))

    async def _remember_conversation(self, turn: Turn) -> None:
        """Keep the user's latest conversation reference for proactive messages; written only
        when it changes, so an ordinary turn costs no extra round trip."""
        activity = turn.context.activity
        conversation = activity.conversation
        if conversation is None or not _is_personal(activity):
            return
        cache_key = (turn.store.tenant_id, turn.user_id)
        if self._references.get(cache_key) == (conversation.id, turn.locale):
            return
        reference = activity.get_conversation_reference().model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        await turn.store.conversations.put(
            turn.user_id,
            {
                "user_id": turn.user_id,
                "reference": reference,
                "locale": turn.locale,
                "updated_at": datetime.now(UTC),
            },
            set_on_insert={"first_at": datetime.now(UTC)},
        )
        self._references[cache_key] = (conversation.id, turn.locale)

    async def _on_message(self, turn: Turn) -> None:
        activity = turn.context.activity
        text = activity.remove_recipient_mention() if activity.text else None
        request = parse(text, activity.value)
        current: Standing | None = None
        if request.command not in ALWAYS_ALLOWED:
            current = await standing(turn.store, turn.user_id)
            if not current.complete:
                await turn.say(t(turn.locale, "needs_consent"))
                await self._send_documents(turn, current)
                await turn.kpi("gated")
                return
        await self._dispatch(turn, request)
        await turn.kpi(request.command.value)

    async def _on_invoke(self, turn: Turn) -> dict[str, Any]:
        """Compose-box people search. Teams waits at most 5 s: one indexed query, no chain."""
        activity = turn.context.activity
        if activity.name == "fileConsent/invoke":
            await self._file_consent(turn)
            return {}
        if activity.name != "composeExtension/query":
            return {}
        current = await standing(turn.store, turn.user_id)
        if not current.complete:
            return directory.compose_message(t(turn.locale, "me_needs_consent"))
        term = ""
        value = activity.value if isinstance(activity.value, dict) else {}
        for parameter in value.get("parameters") or []:
            if isinstance(parameter, dict) and parameter.get("name") == "query":
                term = str(parameter.get("value") or "")
        await turn.kpi("compose_search")
        return await directory.compose_results(turn.store.profiles, term[:100], turn.locale)

    async def _first_contact(self, turn: Turn, current: Standing) -> None:
        """Once per person per conversation: Teams sends both `installationUpdate` and
        `conversationUpdate` on install, and `conversationUpdate` again on every reload."""
        storage = MongoStorage(turn.store.bot_state)
        key = f"users/{turn.user_id}"
        found = await storage.read([key], target_cls=UserState)
        if key not in found:
            await storage.write({key: UserState(turn.user_id, welcomed=True, locale=turn.locale)})
        activity = turn.context.activity
        if not activity.locale:
            # The pair arrives together and one of them may name no language: that one waits,
            # so the welcome is in the language the other names rather than whichever came first.
            await asyncio.sleep(_UNNAMED_LANGUAGE_WAIT)
        conversation = activity.conversation
        now = datetime.now(UTC)
        first = await turn.store.bot_state.put_once(
            f"welcome/{conversation.id if conversation else '-'}/{turn.user_id}",
            {"user_id": turn.user_id, "updated_at": now, "expires_at": now + _WELCOME_KEPT},
        )
        if not first:
            return
        if current.complete:
            await turn.say(t(turn.locale, "welcome_back"))
        else:
            await turn.say(t(turn.locale, "welcome"))
            await self._send_documents(turn, current)
        await turn.kpi("first_contact")

    async def _send_documents(self, turn: Turn, current: Standing) -> None:
        if not current.notice_acknowledged:
            sent = await turn.card(cards.notice_card(current.notice, turn.locale))
            await turn.shown(current.notice, current.trail, sent)
        if current.eula_state is not ConsentAction.ACCEPTED:
            sent = await turn.card(cards.eula_card(current.eula, turn.locale))
            await turn.shown(current.eula, current.trail, sent)

    async def _dispatch(self, turn: Turn, request: Request) -> None:
        match request.command:
            case Command.HELP:
                await turn.card(cards.help_card(turn.locale))
            case Command.CONSENTS:
                await self._show_consents(turn)
            case Command.SHOW_NOTICE:
                current = await standing(turn.store, turn.user_id)
                sent = await turn.card(
                    cards.notice_card(
                        current.notice, turn.locale, with_button=not current.notice_acknowledged
                    )
                )
                await turn.shown(current.notice, current.trail, sent)
            case Command.SHOW_EULA:
                current = await standing(turn.store, turn.user_id)
                sent = await turn.card(cards.eula_card(current.eula, turn.locale))
                await turn.shown(current.eula, current.trail, sent)
            case Command.SHOW_VERSION:
                await self._show_version(turn, request)
            case Command.ACK_NOTICE:
                await self._ack_notice(turn, request)
            case Command.ACCEPT_EULA | Command.DECLINE_EULA:
                await self._decide_eula(turn, request)
            case Command.WITHDRAW_EULA:
                await self._withdraw(turn)
            case Command.SEARCH:
                offset = request.data.get("offset", 0)
                term = request.data.get("term", "")
                text, card = await directory.search_reply(
                    turn.store.profiles,
                    term if isinstance(term, str) else "",
                    offset if isinstance(offset, int) and offset >= 0 else 0,
                    turn.locale,
                )
                if text:
                    await turn.say(text)
                if card:
                    await turn.card(card)
            case Command.PERSON:
                await self._show_person(turn, request.data.get("user_id"))
            case Command.ORG_CHART:
                await self._org_chart(turn, request)
            case Command.MY_PROFILE:
                profile = await turn.store.profiles.get_visible(turn.user_id)
                if profile is None:
                    await turn.say(t(turn.locale, "profile_missing"))
                else:
                    await turn.card(
                        await directory.person_card(
                            turn.store.profiles,
                            profile,
                            turn.locale,
                            provenance=True,
                            title=t(turn.locale, "my_profile_title"),
                            can_correct=True,
                        )
                    )
            case Command.EXPORT:
                personal = _is_personal(turn.context.activity)
                # In personal chat the copy comes as a file to accept, elsewhere as a link.
                await turn.say(
                    t(turn.locale, "export_started_file" if personal else "export_started")
                )
                self._background(
                    self._deliver_export(
                        turn.store.tenant_id, turn.user_id, turn.locale, as_file=personal
                    )
                )
            case Command.ERASE:
                request_ = await request_erasure(turn.store, turn.user_id)
                due = request_.due_at.strftime("%Y-%m-%d")
                await turn.say(t(turn.locale, "erasure_requested", id=request_.id, due=due))
                profile = await turn.store.profiles.get(turn.user_id)
                name = str((profile or {}).get("display_name") or turn.user_id)
                await self._tell_admins(
                    turn.store.tenant_id, "admin_erasure", id=request_.id, name=name, due=due
                )
            case command if command in ADMIN_COMMANDS:
                if not _is_personal(turn.context.activity):
                    # Everyone in a group chat or channel would see the desk's requests.
                    await turn.say(t(turn.locale, "admin_personal_only"))
                    return
                await self._desk.handle(turn, request)
            case Command.CORRECT:
                await turn.card(cards.correction_card(turn.locale, rectification.CORRECTABLE))
            case Command.PROPOSE:
                await self._propose(turn, request)
            case Command.UNKNOWN:
                key = "unknown" if request.text else "unknown_empty"
                await turn.say(t(turn.locale, key, text=_echo(request.text)))

    def _background(self, coro: Coroutine[Any, Any, None]) -> None:
        """Slow work (exports) runs after the turn is acknowledged; tasks are kept so they are
        not garbage-collected and can be awaited at shutdown."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """At shutdown: let background work finish, but not for longer than DRAIN_SECONDS (a
        "sync now" report waits on a whole sync run, which resumes after a restart anyway)."""
        if not self._tasks:
            return
        _, late = await asyncio.wait(set(self._tasks), timeout=DRAIN_SECONDS)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)

    async def _deliver_export(
        self, tenant_id: str, user_id: str, locale: str, *, as_file: bool = False
    ) -> None:
        store = TenantStore(self._db, tenant_id)

        async def build() -> tuple[bytes, str]:
            result = await build_export(
                store, user_id, locale=locale, subprocessors=self._export.subprocessors
            )
            return result.zip_bytes, result.filename

        await self._deliver_file(
            tenant_id, user_id, build, "export_consent_description", "export_failed", as_file
        )

    async def _deliver_file(
        self,
        tenant_id: str,
        user_id: str,
        build: Build,
        describe_key: str,
        failed_key: str,
        as_file: bool = True,
    ) -> None:
        """Build a file for one person and offer it: a FileConsentCard in personal chat, else
        a signed single-use link. A failure is logged and the person told, never raised."""
        store = TenantStore(self._db, tenant_id)
        try:
            data, filename = await build()
            path = await self._store_export(store, user_id, data, filename)
        except Exception as exc:
            self._log.error(
                "file not prepared",
                tenant=tenant_id,
                error=type(exc).__name__,
                detail=str(exc)[:200],
            )

            async def failed(context: TurnContext, loc: str) -> None:
                await context.send_activity(MessageFactory.text(t(loc, failed_key)))

            if self._notifier:
                await self._notifier.send(tenant_id, user_id, failed)
            return
        if as_file:

            async def offer(context: TurnContext, loc: str) -> None:
                card = files.consent_card(
                    filename, len(data), t(loc, describe_key), path.removeprefix(LINK_PREFIX)
                )
                await context.send_activity(MessageFactory.attachment(Attachment(**_att(card))))

            if self._notifier:
                await self._notifier.send(tenant_id, user_id, offer)
            return
        await self._send_link(tenant_id, user_id, path)

    async def _store_export(
        self, store: TenantStore, user_id: str, zip_bytes: bytes, filename: str
    ) -> str:
        """Keep a prepared export for one delivery (file upload or link); returns its path."""
        return await create_export_link(
            store,
            user_id,
            zip_bytes,
            key=self._export.signing_key,
            filename=filename,
            ttl=timedelta(hours=self._export.export_link_hours),
        )

    async def _send_link(self, tenant_id: str, user_id: str, path: str, key: str = "") -> None:
        url = self._export.public_base_url.rstrip("/") + path
        expires = (datetime.now(UTC) + timedelta(hours=self._export.export_link_hours)).strftime(
            "%Y-%m-%d %H:%M"
        )

        async def ready(context: TurnContext, loc: str) -> None:
            if key:
                await context.send_activity(MessageFactory.text(t(loc, key)))
            card = cards.export_ready_card(loc, url, expires)
            await context.send_activity(MessageFactory.attachment(cards.attachment(card)))

        if self._notifier:
            await self._notifier.send(tenant_id, user_id, ready)

    async def _file_consent(self, turn: Turn) -> None:
        """The user's answer to a FileConsentCard: upload on accept, nothing on decline. The
        prepared export is consumed either way, so it never lingers."""
        raw = turn.context.activity.value
        value: dict[str, Any] = raw if isinstance(raw, dict) else {}
        context = _dict(value.get("context"))
        token = str(context.get("export", ""))
        try:
            # The owner is checked before the export is claimed, so someone presenting another
            # person's consent token neither uses up that export nor gets "served" audited.
            download = await redeem_export_link(
                self._db,
                token,
                key=self._export.signing_key,
                owner=(turn.store.tenant_id, turn.user_id),
            )
        except LinkRefused as exc:
            if exc.status == 403:
                await turn.say(t(turn.locale, "export_failed"))
            else:
                await turn.say(exc.reason)
            return
        if value.get("action") != "accept":
            await turn.say(t(turn.locale, "export_declined"))
            return
        info = _dict(value.get("uploadInfo"))
        try:
            await files.upload(
                str(info.get("uploadUrl", "")), download.zip_bytes, validator=self._validator
            )
        except (files.UploadFailed, aiohttp.ClientError, TimeoutError) as exc:
            self._log.warning("file upload failed", error=type(exc).__name__)
            path = await self._store_export(
                turn.store, turn.user_id, download.zip_bytes, download.filename
            )
            await self._send_link(turn.store.tenant_id, turn.user_id, path, "export_upload_failed")
            return
        await turn.context.send_activity(
            MessageFactory.attachment(Attachment(**_att(files.info_card(info))))
        )

    async def _propose(self, turn: Turn, request: Request) -> None:
        field, value = request.data.get("field"), request.data.get("value")
        profile = await turn.store.profiles.get_visible(turn.user_id)
        if profile is None:
            await turn.say(t(turn.locale, "profile_missing"))
            return
        problem = _correction_problem(str(field or ""), str(value or ""))
        if problem:
            await turn.say(t(turn.locale, problem[0], **problem[1]))
            return
        try:
            dsr = await rectification.propose(
                turn.store, turn.user_id, str(field or ""), str(value or "")
            )
        except DsrError as exc:
            await turn.say(t(turn.locale, "correct_invalid", reason=str(exc)))
            return
        due = dsr.due_at.strftime("%Y-%m-%d")
        await turn.say(t(turn.locale, "request_recorded", id=dsr.id, due=due))
        proposal = rectification.Proposal.from_request(dsr)
        await self._tell_admins(
            turn.store.tenant_id,
            "admin_rectification",
            id=dsr.id,
            name=str(profile.get("display_name", turn.user_id)),
            labels={"field": cards.FIELD_LABELS.get(proposal.field, proposal.field)},
            old=str(profile.get(proposal.field) or ""),
            new=proposal.value,
            due=due,
        )

    async def _tell_admins(
        self, tenant_id: str, key: str, labels: dict[str, str] | None = None, **values: str
    ) -> None:
        """`labels` are catalog keys (a field's name), put in each admin's own language."""
        tenant = await self._registry.get(tenant_id)
        if tenant is None or self._notifier is None:
            return

        async def compose(context: TurnContext, locale: str) -> None:
            named = {name: t(locale, label) for name, label in (labels or {}).items()}
            await context.send_activity(MessageFactory.text(t(locale, key, **values, **named)))

        for admin_id in tenant.admin_ids:
            await self._notifier.send(tenant_id, admin_id, compose)

    async def _show_person(self, turn: Turn, user_id: Any) -> None:
        profile = (
            await turn.store.profiles.get_visible(user_id) if isinstance(user_id, str) else None
        )
        if profile is None:
            await turn.say(t(turn.locale, "person_gone"))
            return
        await turn.card(await directory.person_card(turn.store.profiles, profile, turn.locale))

    async def _org_chart(self, turn: Turn, request: Request) -> None:
        """A button names the person (user_id); typed text names them ("org chart Ayşe") or
        no one, which means the asker's own chart."""
        profiles = turn.store.profiles
        user_id, term = request.data.get("user_id"), request.data.get("term")
        offset = request.data.get("offset", 0)
        offset = offset if isinstance(offset, int) and offset >= 0 else 0
        if isinstance(term, str) and term.strip():
            text, card = await directory.org_chart_reply(profiles, term[:100], turn.locale)
            if text:
                await turn.say(text)
            if card:
                await turn.card(card)
            return
        profile = await profiles.get_visible(user_id if isinstance(user_id, str) else turn.user_id)
        if profile is None:
            key = "person_gone" if isinstance(user_id, str) else "profile_missing"
            await turn.say(t(turn.locale, key))
            return
        await turn.card(await directory.org_chart(profiles, profile, turn.locale, offset))

    async def _show_consents(self, turn: Turn) -> None:
        current = await standing(turn.store, turn.user_id)
        can_withdraw = current.eula_state is ConsentAction.ACCEPTED
        await turn.card(
            cards.consents_card(turn.locale, current.decisions[:20], can_withdraw=can_withdraw)
        )

    async def _show_version(self, turn: Turn, request: Request) -> None:
        """A version the user once saw, read-only (answering is only for the current one)."""
        version = request.data.get("version")
        try:
            kind = Kind(str(request.data.get("kind") or ""))
        except ValueError:
            kind = None
        doc = (
            await document_version(turn.store, kind, version)
            if kind is not None and isinstance(version, int) and 0 < version < 10_000
            else None
        )
        if doc is None:
            await turn.say(t(turn.locale, "version_missing"))
        elif doc.kind is Kind.NOTICE:
            await turn.card(cards.notice_card(doc, turn.locale, with_button=False))
        else:
            await turn.card(cards.eula_card(doc, turn.locale, with_buttons=False))

    async def _current_or_stale(
        self, turn: Turn, request: Request, kind: Kind
    ) -> LegalDocument | None:
        """The card's document if it is still the current version and its text is the one we
        would show; otherwise re-show the current card and return None."""
        doc = await current_document(turn.store, kind)
        shown = doc.locale_of(turn.locale)
        if request.data.get("version") == doc.version and request.data.get("sha256") in (
            doc.hash(shown),
            *(doc.hash(loc) for loc in doc.texts),
        ):
            return doc
        await turn.say(t(turn.locale, "stale_version"))
        card = cards.notice_card if kind is Kind.NOTICE else cards.eula_card
        await turn.card(card(doc, turn.locale))
        return None

    async def _ack_notice(self, turn: Turn, request: Request) -> None:
        doc = await self._current_or_stale(turn, request, Kind.NOTICE)
        if doc is None:
            return
        current = await standing(turn.store, turn.user_id)
        if current.notice_acknowledged:
            await turn.say(t(turn.locale, "already_done"))
            return
        await turn.record(doc, ConsentAction.ACKNOWLEDGED)
        await turn.say(t(turn.locale, "notice_done", version=doc.version))
        if current.eula_state is not ConsentAction.ACCEPTED:
            await turn.card(cards.eula_card(current.eula, turn.locale))

    async def _decide_eula(self, turn: Turn, request: Request) -> None:
        doc = await self._current_or_stale(turn, request, Kind.EULA)
        if doc is None:
            return
        accept = request.command is Command.ACCEPT_EULA
        action = ConsentAction.ACCEPTED if accept else ConsentAction.DECLINED
        current = await standing(turn.store, turn.user_id)
        if current.eula_state is action:
            await turn.say(t(turn.locale, "already_done"))
            return
        await turn.record(doc, action)
        if accept:
            await turn.say(t(turn.locale, "eula_accepted", version=doc.version))
            if not current.notice_acknowledged:
                await turn.card(cards.notice_card(current.notice, turn.locale))
        else:
            await turn.say(t(turn.locale, "eula_declined"))

    async def _withdraw(self, turn: Turn) -> None:
        current = await standing(turn.store, turn.user_id)
        if current.eula_state is not ConsentAction.ACCEPTED:
            await turn.say(t(turn.locale, "already_done"))
            return
        await turn.record(current.eula, ConsentAction.WITHDRAWN)
        await turn.say(t(turn.locale, "eula_withdrawn"))


def _correction_problem(field: str, value: str) -> tuple[str, dict[str, object]] | None:
    """What is wrong with a correction form's values, as a catalog key (privacy.rectification
    checks the same, in English, for every other caller)."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if field not in rectification.CORRECTABLE:
        return "correct_field_unknown", {}
    if not cleaned:
        return "correct_value_missing", {}
    if len(cleaned) > rectification.MAX_VALUE:
        return "correct_value_too_long", {"max": rectification.MAX_VALUE}
    return None


async def _answer_invoke(context: TurnContext, body: dict[str, Any]) -> None:
    """Invokes are answered in the HTTP response; the SDK takes it from an invokeResponse
    activity sent on the turn."""
    response = InvokeResponse(status=200, body=body)
    await context.send_activity(Activity(type="invokeResponse", value=response))
