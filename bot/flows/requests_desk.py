"""The controller deciding data-subject requests on the admin desk: approve (an erasure only
after typed confirmation), reject with a reason, complete, and letting someone erased on
request back into the directory sync. The requester is told the outcome (bot.outcomes)."""

from __future__ import annotations

import re

from bot.cards import admin
from bot.commands import Command, Request
from bot.flows.desk import DeskRoutes, audit, say_decided
from bot.i18n import t
from bot.outcomes import outcome_message, tell_requester
from bot.proactive import Notifier
from bot.turn import Turn
from privacy.dsr import DsrRequest, DsrStatus, DsrType, get_request
from privacy.dsr_decisions import approve, complete, reject
from privacy.strategies import keyed_hash
from privacy.suppression import lift
from storage.repositories import TenantRecord
from storage.search_keys import fold

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RequestsDesk:
    def __init__(self, notifier: Notifier | None, pseudonym_key: bytes | None) -> None:
        self._notifier = notifier
        self._pseudonym_key = pseudonym_key

    def routes(self) -> DeskRoutes:
        return {
            Command.DSR_APPROVE: self.approve,
            Command.DSR_REJECT: self.reject,
            Command.DSR_COMPLETE: self.complete,
            Command.ADMIN_LIFT_SUPPRESSION: self.lift,
        }

    async def approve(self, turn: Turn, tenant: TenantRecord, request: Request) -> None:
        decided = await self._approve(turn, tenant, request)
        if decided is not None:
            await say_decided(turn, decided)

    async def complete(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        done = await complete(turn.store, str(request.data.get("id", "")), decided_by=turn.user_id)
        await self._tell_outcome(turn.store.tenant_id, done)
        await say_decided(turn, done)

    async def reject(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        reason = str(request.data.get("reason") or "").strip()
        if not reason:
            await turn.say(t(turn.locale, "admin_reason_needed"))
            return
        decided = await reject(
            turn.store, str(request.data.get("id", "")), decided_by=turn.user_id, reason=reason
        )
        await self._tell_outcome(turn.store.tenant_id, decided)
        await say_decided(turn, decided)

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
                await audit(turn, "dsr_erasure", "refused: confirmation did not match")
                return None
        key = self._pseudonym_key
        pseudonym = keyed_hash(key, tenant_id) if key else None
        kpis = turn.kpis
        notifier = self._notifier

        async def before_erasure(req: DsrRequest) -> None:
            # Counts still buffered for the person would be written after their erasure.
            kpis.forget(tenant_id, req.user_id)
            if notifier is not None:
                await tell_requester(
                    notifier, tenant_id, req, "dsr_erasure_starting", {"id": req.id}
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

    async def lift(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        """The controller lets someone erased on request back into the directory sync.
        Audited without the id: the audit log must not name a person who was erased."""
        candidate = str(request.data.get("object_id") or "").strip().lower()
        if not _GUID.fullmatch(candidate):
            await turn.say(t(turn.locale, "admin_suppression_invalid"))
            return
        if not self._pseudonym_key:
            raise ValueError("no pseudonym key is configured")
        lifted = await lift(
            turn.store, candidate, keyed_hash(self._pseudonym_key, turn.store.tenant_id)
        )
        await audit(turn, "lift_suppression", "lifted" if lifted else "none found")
        await turn.say(
            t(turn.locale, "admin_suppression_lifted" if lifted else "admin_suppression_missing")
        )

    async def _tell_outcome(self, tenant_id: str, request: DsrRequest) -> None:
        message = outcome_message(request)
        if message is not None and self._notifier is not None:
            await tell_requester(self._notifier, tenant_id, request, *message)
