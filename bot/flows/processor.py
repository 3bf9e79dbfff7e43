"""The processor's duties on the admin desk: an incident as the controller reads it (which
starts the controller's 72 hours), the declared sub-processors, and the security summary as a
file. Offered only where the deployment is declared (JUNO_DEPLOYMENT)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards import processor
from bot.commands import Command, Request
from bot.delivery import ExportDelivery
from bot.flows.desk import DeskRoutes, audit
from bot.i18n import t
from bot.turn import Turn
from privacy.incidents import EventKind, get_incident, record_notification
from privacy.security_summary import Deployment
from privacy.security_summary import render as security_summary
from storage.repositories import TenantRecord


class ProcessorDesk:
    def __init__(self, deployment: Deployment | None, delivery: ExportDelivery) -> None:
        self._deployment = deployment
        self._delivery = delivery

    def routes(self) -> DeskRoutes:
        routes: DeskRoutes = {Command.ADMIN_INCIDENT: self.incident}
        if self._deployment is not None:
            routes[Command.ADMIN_SUBPROCESSORS] = self.subprocessors
            routes[Command.ADMIN_SECURITY_FILE] = self.security_file
        return routes

    async def incident(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        incident_id = str(request.data.get("id") or "")
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
        await audit(turn, "incident", f"viewed {incident.id}")
        await turn.card(processor.incident_card(incident, turn.locale))

    async def subprocessors(self, turn: Turn, _: TenantRecord, __: Request) -> None:
        if self._deployment is not None:  # routed only then
            subs = self._deployment.subprocessors
            await turn.card(processor.subprocessors_card(subs, turn.locale))

    async def security_file(self, turn: Turn, _: TenantRecord, request: Request) -> None:
        deployment = self._deployment
        if deployment is None:  # routed only when declared
            return
        locale = str(request.data.get("locale"))
        lang = locale if locale in ("tr", "en") else turn.locale

        async def build() -> tuple[bytes, str]:
            stamp = datetime.now(UTC).strftime("%Y%m%d")
            text = security_summary(deployment, lang)
            return text.encode("utf-8"), f"juno-security-summary-{lang}-{stamp}.md"

        await audit(turn, "security_summary", f"prepared ({lang})")
        await turn.say(t(turn.locale, "admin_file_started"))
        self._delivery.start(
            turn.store.tenant_id, turn.user_id, build, "security_consent", "admin_file_failed"
        )
