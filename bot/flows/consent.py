"""The privacy notice and the terms of use: showing them (with evidence that they were
shown), acknowledging, accepting, declining and withdrawing, and one's own consent history.
Until a user has acknowledged the current notice and accepted the current terms, only the
always-allowed commands run (bot.commands.ALWAYS_ALLOWED)."""

from __future__ import annotations

from bot.cards import legal
from bot.commands import Command, Request
from bot.flows import Routes
from bot.i18n import t
from bot.turn import Turn
from privacy.consent import (
    ConsentAction,
    Kind,
    LegalDocument,
    Standing,
    current_document,
    document_version,
    standing,
)


async def send_documents(turn: Turn, current: Standing) -> None:
    """The documents the user has yet to answer, each recorded as shown."""
    if not current.notice_acknowledged:
        sent = await turn.card(legal.notice_card(current.notice, turn.locale))
        await turn.shown(current.notice, current.trail, sent)
    if current.eula_state is not ConsentAction.ACCEPTED:
        sent = await turn.card(legal.eula_card(current.eula, turn.locale))
        await turn.shown(current.eula, current.trail, sent)


async def show_consents(turn: Turn, _: Request) -> None:
    current = await standing(turn.store, turn.user_id)
    can_withdraw = current.eula_state is ConsentAction.ACCEPTED
    await turn.card(
        legal.consents_card(turn.locale, current.decisions[:20], can_withdraw=can_withdraw)
    )


async def show_notice(turn: Turn, _: Request) -> None:
    current = await standing(turn.store, turn.user_id)
    sent = await turn.card(
        legal.notice_card(current.notice, turn.locale, with_button=not current.notice_acknowledged)
    )
    await turn.shown(current.notice, current.trail, sent)


async def show_eula(turn: Turn, _: Request) -> None:
    current = await standing(turn.store, turn.user_id)
    sent = await turn.card(legal.eula_card(current.eula, turn.locale))
    await turn.shown(current.eula, current.trail, sent)


async def show_version(turn: Turn, request: Request) -> None:
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
        await turn.card(legal.notice_card(doc, turn.locale, with_button=False))
    else:
        await turn.card(legal.eula_card(doc, turn.locale, with_buttons=False))


async def _current_or_stale(turn: Turn, request: Request, kind: Kind) -> LegalDocument | None:
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
    card = legal.notice_card if kind is Kind.NOTICE else legal.eula_card
    await turn.card(card(doc, turn.locale))
    return None


async def ack_notice(turn: Turn, request: Request) -> None:
    doc = await _current_or_stale(turn, request, Kind.NOTICE)
    if doc is None:
        return
    current = await standing(turn.store, turn.user_id)
    if current.notice_acknowledged:
        await turn.say(t(turn.locale, "already_done"))
        return
    await turn.record(doc, ConsentAction.ACKNOWLEDGED)
    await turn.say(t(turn.locale, "notice_done", version=doc.version))
    if current.eula_state is not ConsentAction.ACCEPTED:
        await turn.card(legal.eula_card(current.eula, turn.locale))


async def decide_eula(turn: Turn, request: Request) -> None:
    doc = await _current_or_stale(turn, request, Kind.EULA)
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
            await turn.card(legal.notice_card(current.notice, turn.locale))
    else:
        await turn.say(t(turn.locale, "eula_declined"))


async def withdraw(turn: Turn, _: Request) -> None:
    current = await standing(turn.store, turn.user_id)
    if current.eula_state is not ConsentAction.ACCEPTED:
        await turn.say(t(turn.locale, "already_done"))
        return
    await turn.record(current.eula, ConsentAction.WITHDRAWN)
    await turn.say(t(turn.locale, "eula_withdrawn"))


ROUTES: Routes = {
    Command.CONSENTS: show_consents,
    Command.SHOW_NOTICE: show_notice,
    Command.SHOW_EULA: show_eula,
    Command.SHOW_VERSION: show_version,
    Command.ACK_NOTICE: ack_notice,
    Command.ACCEPT_EULA: decide_eula,
    Command.DECLINE_EULA: decide_eula,
    Command.WITHDRAW_EULA: withdraw,
}
