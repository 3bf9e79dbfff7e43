"""Correcting one's own profile: the form, and the proposal it sends, recorded as a
rectification request for the tenant's admins to decide."""

from __future__ import annotations

from bot.admin_alerts import AdminAlerts
from bot.cards import people
from bot.commands import Command, Request
from bot.flows import Routes
from bot.i18n import t
from bot.turn import Turn
from privacy import rectification
from privacy.dsr import DsrError


def correction_problem(field: str, value: str) -> tuple[str, dict[str, object]] | None:
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


class RectificationFlow:
    def __init__(self, alerts: AdminAlerts) -> None:
        self._alerts = alerts

    def routes(self) -> Routes:
        return {Command.CORRECT: self.form, Command.PROPOSE: self.propose}

    async def form(self, turn: Turn, _: Request) -> None:
        await turn.card(people.correction_card(turn.locale, rectification.CORRECTABLE))

    async def propose(self, turn: Turn, request: Request) -> None:
        field, value = request.data.get("field"), request.data.get("value")
        profile = await turn.store.profiles.get_visible(turn.user_id)
        if profile is None:
            await turn.say(t(turn.locale, "profile_missing"))
            return
        problem = correction_problem(str(field or ""), str(value or ""))
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
        await self._alerts.tell(
            turn.store.tenant_id,
            "admin_rectification",
            id=dsr.id,
            name=str(profile.get("display_name", turn.user_id)),
            labels={"field": people.FIELD_LABELS.get(proposal.field, proposal.field)},
            old=str(profile.get(proposal.field) or ""),
            new=proposal.value,
            due=due,
        )
