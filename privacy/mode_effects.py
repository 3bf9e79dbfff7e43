"""What a removal mode does, store by store, in words: the data map's declarations told in
each strategy's own words (`RemovalStrategy.outcome`), never written by hand, so the admin desk
and the records cannot claim what the code does not do (the old hand-written summary said
"anonymize the rest (usage KPIs, dialog state)" while the map deletes dialog state and
pseudonymizes the consent trail, requests and audit entries).
"""

from __future__ import annotations

from privacy.catalogs import catalog
from privacy.datamap import DATA_MAP
from privacy.removal_modes import RemovalMode
from privacy.strategies import STRATEGIES, by_strength


def mode_effects(mode: RemovalMode, locale: str) -> list[tuple[str, list[str]]]:
    """(what happens, [store titles]) for every strategy the mode applies to a personal store."""
    titles = catalog(locale)["stores"]
    grouped: dict[str, list[str]] = {}
    for dataset in DATA_MAP.values():
        action = dataset.removal.get(mode)
        if not dataset.personal or action is None:
            continue
        entry = titles[dataset.collection.value]
        # The record's title names the store for an admin ("Directory profiles"), the plain
        # title addresses the person ("Your directory profile").
        grouped.setdefault(action.strategy, []).append(entry.get("record", entry)["title"])
    # What disappears first, what stays last; stores in the data map's declared order: stable,
    # and no locale's sort rules needed.
    return [(STRATEGIES[s].outcome(locale), grouped[s]) for s in by_strength(grouped)]


def mode_effects_text(mode: RemovalMode, locale: str, sep: str = "\n") -> str:
    """One entry per effect, e.g. "Deleted: Directory profiles, Bot dialog state"."""
    return sep.join(f"{what}: {', '.join(stores)}" for what, stores in mode_effects(mode, locale))


def mode_name(mode: RemovalMode | str, locale: str, *, capitalized: bool = False) -> str:
    """What the mode does, in a few words: the one name every surface (admin desk, records,
    CLI) shows for it. `capitalized` for a text that starts with it (Turkish-aware: i -> İ)."""
    name: str = catalog(locale)["modes"][RemovalMode(mode).value]
    if not capitalized or not name:
        return name
    first = "İ" if locale == "tr" and name[0] == "i" else name[0].upper()
    return first + name[1:]


def mode_summary(mode: RemovalMode, locale: str) -> str:
    """The mode's name and everything it does, on one line (records, CLI output)."""
    return f"{mode_name(mode, locale)}. {mode_effects_text(mode, locale, '; ')}"
