"""Directory lookups in Teams: people search, person cards with the org chart, "my profile",
and the compose-box message extension. Search terms are never stored or logged."""

from __future__ import annotations

from typing import Any

from bot import cards
from bot.i18n import t
from bot.turkish import sort_key
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
) -> cards.Card:
    chain = await manager_chain(profiles, profile)
    reports = await sorted_reports(profiles, profile["user_id"])
    return cards.person_card(
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
) -> cards.Card:
    chain = await manager_chain(profiles, profile)
    reports = await sorted_reports(profiles, profile["user_id"])
    start = offset if 0 <= offset < len(reports) else 0
    return cards.org_chart_card(
        profile, locale, chain=list(reversed(chain)), reports=reports, offset=start
    )


async def org_chart_reply(
    profiles: ProfilesRepo, term: str, locale: str
) -> tuple[str | None, cards.Card | None]:
    """ "org chart Ayşe": her chart when one person matches, the list to pick from otherwise."""
    page = await profiles.search(term.strip(), limit=PAGE)
    if page.too_short:
        return t(locale, "search_too_short"), None
    if page.total == 0:
        return t(locale, "search_none", text=_clean(term)), None
    if page.total == 1:
        return None, await org_chart(profiles, page.items[0], locale)
    return None, cards.search_card(
        locale, _clean(term), page.items, total=page.total, offset=0, capped=page.capped,
        page_size=PAGE,
    )  # fmt: skip


async def search_reply(
    profiles: ProfilesRepo, term: str, offset: int, locale: str
) -> tuple[str | None, cards.Card | None]:
    """A text, or a card: one person is shown directly, several as a list."""
    term = term.strip()
    if not term:
        return None, cards.search_prompt_card(locale)
    page = await profiles.search(term, offset=offset, limit=PAGE)
    if page.too_short:
        return t(locale, "search_too_short"), None
    if page.total == 0:
        return t(locale, "search_none", text=_clean(term)), None
    if page.total == 1 and offset == 0:
        return None, await person_card(profiles, page.items[0], locale)
    return None, cards.search_card(
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
        card = cards.person_card(person, locale, manager=None, chain=[], reports=[])
        attachments.append(
            {
                "contentType": cards.CARD_TYPE,
                "content": card,
                "preview": cards.preview(person),
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
