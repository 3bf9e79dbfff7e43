"""What the admin desk's flows share: a handler also gets the tenant's fresh record (the
desk re-reads it to check admin rights), and changes are audit-logged under "admin:"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands import Command, Request
from bot.i18n import t
from bot.turn import Turn
from privacy.dsr import DsrRequest
from storage.repositories import TenantRecord

DeskHandler = Callable[[Turn, TenantRecord, Request], Awaitable[None]]
DeskRoutes = dict[Command, DeskHandler]


async def audit(turn: Turn, action: str, outcome: str) -> None:
    await turn.store.audit_log.record(
        actor=turn.user_id,
        action=f"admin:{action}",
        target=turn.store.tenant_id,
        outcome=outcome,
    )


async def say_decided(turn: Turn, decided: DsrRequest) -> None:
    status = t(turn.locale, f"dsr_status_{decided.status.value}")
    await turn.say(t(turn.locale, "admin_decided", id=decided.id, status=status))
