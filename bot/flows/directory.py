"""Directory lookups in Teams: people search, person cards with the org chart, "my profile",
and the compose-box message extension. Search terms are never stored or logged."""

from __future__ import annotations

from typing import Any

from bot.cards import blocks, people
from bot.commands import Command, Request
from bot.flows import Routes
from bot.i18n import t
from bot.turkish import sort_key
from bot.turn import Turn
from privacy.consent import standing
from storage.repositories import ProfilesRepo

PAGE = 8
MAX_CHAIN = 12
ME_RESULTS = 10


async def manager_chain(profiles: ProfilesRepo, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """From the person's manager up to the top, stopping at cycles or hidden managers."""
    chain: list[dict[str, Any]] = []
    seen = {profile["user_id"]}
    manager_id = profile.get("manager_id")
    while manager_id and manager_id not in seen and len(chain) < MAX_CHAIN:
        manager = await profiles.card_of(manager_id)
        if manager is None:
            break
        chain.append(manager)
        seen.add(manager_id)
        manager_id = manager.get("manager_id")
    return chain


async def person_card(
    profiles: ProfilesRepo,
    profile: dict[str, Any],
    locale: str,
    *,
    provenance: bool = False,
    title: str | None = None,
    can_correct: bool = False,
) -> blocks.Card:
    chain = await manager_chain(profiles, profile)
    reports = await sorted_reports(profiles, profile["user_id"])
    return people.person_card(
        profile,
        locale,
        manager=chain[0] if chain else None,
        chain=list(reversed(chain)),
        reports=reports,
        provenance=provenance,
        title=title,
        can_correct=can_correct,
    )


async def sorted_reports(profiles: ProfilesRepo, user_id: str) -> list[dict[str, Any]]:
    """Direct reports in Turkish alphabetical order (Ç after C, İ after I, Ş after S)."""
    reports = await profiles.reports_of(user_id)
    reports.sort(key=lambda r: sort_key(str(r.get("display_name", ""))))
    return reports


async def org_chart(
    profiles: ProfilesRepo, profile: dict[str, Any], locale: str, offset: int = 0
) -> blocks.Card:
    chain = await manager_chain(profiles, profile)
    reports = await sorted_reports(profiles, profile["user_id"])
    start = offset if 0 <= offset < len(reports) else 0
    return people.org_chart_card(
        profile, locale, chain=list(reversed(chain)), reports=reports, offset=start
    )


async def org_chart_reply(
    profiles: ProfilesRepo, term: str, locale: str
) -> tuple[str | None, blocks.Card | None]:
    """ "org chart Ayşe": her chart when one person matches, the list to pick from otherwise."""
    page = await profiles.search(term.strip(), limit=PAGE)
    if page.too_short:
        return t(locale, "search_too_short"), None
    if page.total == 0:
        return t(locale, "search_none", text=_clean(term)), None
    if page.total == 1:
        return None, await org_chart(profiles, page.items[0], locale)
    return None, people.search_card(
        locale, _clean(term), page.items, total=page.total, offset=0, capped=page.capped,
        page_size=PAGE,
    )  # fmt: skip


async def search_reply(
    profiles: ProfilesRepo, term: str, offset: int, locale: str
) -> tuple[str | None, blocks.Card | None]:
    """A text, or a card: one person is shown directly, several as a list."""
    term = term.strip()
    if not term:
        return None, people.search_prompt_card(locale)
    page = await profiles.search(term, offset=offset, limit=PAGE)
    if page.too_short:
        return t(locale, "search_too_short"), None
    if page.total == 0:
        return t(locale, "search_none", text=_clean(term)), None
    if page.total == 1 and offset == 0:
        return None, await person_card(profiles, page.items[0], locale)
    return None, people.search_card(
        locale,
        _clean(term),
        page.items,
        total=page.total,
        offset=page.offset,
        capped=page.capped,
        page_size=PAGE,
    )


async def compose_results(profiles: ProfilesRepo, term: str, locale: str) -> dict[str, Any]:
    """The body Teams expects for `composeExtension/query`."""
    page = await profiles.search(term, limit=ME_RESULTS) if term.strip() else None
    attachments = []
    for person in page.items if page else []:
        card = people.person_card(person, locale, manager=None, chain=[], reports=[])
        attachments.append(
            {
                "contentType": blocks.CARD_TYPE,
                "content": card,
                "preview": people.preview(person),
            }
        )
    return {
        "composeExtension": {
            "type": "result",
            "attachmentLayout": "list",
            "attachments": attachments,
        }
    }


def compose_message(text: str) -> dict[str, Any]:
    return {"composeExtension": {"type": "message", "text": text}}


def _clean(text: str) -> str:
    printable = "".join(ch for ch in text if ch.isprintable())
    return printable[:60] + ("…" if len(printable) > 60 else "")


async def search(turn: Turn, request: Request) -> None:
    offset = request.data.get("offset", 0)
    term = request.data.get("term", "")
    text, card = await search_reply(
        turn.store.profiles,
        term if isinstance(term, str) else "",
        offset if isinstance(offset, int) and offset >= 0 else 0,
        turn.locale,
    )
    if text:
        await turn.say(text)
    if card:
        await turn.card(card)


async def show_person(turn: Turn, request: Request) -> None:
    user_id = request.data.get("user_id")
    profile = await turn.store.profiles.get_visible(user_id) if isinstance(user_id, str) else None
    if profile is None:
        await turn.say(t(turn.locale, "person_gone"))
        return
    await turn.card(await person_card(turn.store.profiles, profile, turn.locale))


async def show_org_chart(turn: Turn, request: Request) -> None:
    """A button names the person (user_id); typed text names them ("org chart Ayşe") or
    no one, which means the asker's own chart."""
    profiles = turn.store.profiles
    user_id, term = request.data.get("user_id"), request.data.get("term")
    offset = request.data.get("offset", 0)
    offset = offset if isinstance(offset, int) and offset >= 0 else 0
    if isinstance(term, str) and term.strip():
        text, card = await org_chart_reply(profiles, term[:100], turn.locale)
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
    await turn.card(await org_chart(profiles, profile, turn.locale, offset))


async def show_my_profile(turn: Turn, _: Request) -> None:
    profile = await turn.store.profiles.get_visible(turn.user_id)
    if profile is None:
        await turn.say(t(turn.locale, "profile_missing"))
        return
    await turn.card(
        await person_card(
            turn.store.profiles,
            profile,
            turn.locale,
            provenance=True,
            title=t(turn.locale, "my_profile_title"),
            can_correct=True,
        )
    )


async def compose_query(turn: Turn) -> dict[str, Any]:
    """Compose-box people search (the invoke's answer). Teams waits at most 5 s: one indexed
    query, no chain."""
    current = await standing(turn.store, turn.user_id)
    if not current.complete:
        return compose_message(t(turn.locale, "me_needs_consent"))
    term = ""
    value = turn.context.activity.value
    for parameter in (value if isinstance(value, dict) else {}).get("parameters") or []:
        if isinstance(parameter, dict) and parameter.get("name") == "query":
            term = str(parameter.get("value") or "")
    await turn.kpi("compose_search")
    return await compose_results(turn.store.profiles, term[:100], turn.locale)


ROUTES: Routes = {
    Command.SEARCH: search,
    Command.PERSON: show_person,
    Command.ORG_CHART: show_org_chart,
    Command.MY_PROFILE: show_my_profile,
}
