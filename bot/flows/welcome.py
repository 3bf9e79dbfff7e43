"""Meeting JUNO: the welcome when it is added to a conversation, help, and what it says to a
message it does not understand."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.cards import legal
from bot.commands import Command, Request
from bot.flows import Routes
from bot.flows.consent import send_documents
from bot.i18n import t
from bot.state import MongoStorage, UserState
from bot.turn import Turn
from privacy.consent import standing

# A conversation's welcome marker: the data map keeps dialog state at most 90 days.
_WELCOME_KEPT = timedelta(days=90)
_UNNAMED_LANGUAGE_WAIT = 1.5
_MAX_ECHO = 60


def _echo(text: str) -> str:
    printable = "".join(ch for ch in text if ch.isprintable())
    return printable[:_MAX_ECHO] + ("…" if len(printable) > _MAX_ECHO else "")


async def first_contact(turn: Turn) -> None:
    """Once per person per conversation: Teams sends both `installationUpdate` and
    `conversationUpdate` on install, and `conversationUpdate` again on every reload."""
    current = await standing(turn.store, turn.user_id)
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
        await send_documents(turn, current)
    await turn.kpi("first_contact")


async def show_help(turn: Turn, _: Request) -> None:
    await turn.card(legal.help_card(turn.locale))


async def not_understood(turn: Turn, request: Request) -> None:
    key = "unknown" if request.text else "unknown_empty"
    await turn.say(t(turn.locale, key, text=_echo(request.text)))


ROUTES: Routes = {Command.HELP: show_help, Command.UNKNOWN: not_understood}
