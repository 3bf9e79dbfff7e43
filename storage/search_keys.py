"""Turkish-aware folding for people search, shared by whoever writes profiles and whoever reads.

The embedded server has no `tr` collation, so profiles store folded keys (`pack_keys`) and
queries fold their input the same way: "İSMAİL", "ismail", "Ismail" and "ısmaıl" all become
"ismail". Folding also strips other diacritics (é -> e) so non-Turkish names behave too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_TURKISH = str.maketrans(
    {
        "İ": "i",
        "I": "i",
        "ı": "i",
        "Ç": "c",
        "ç": "c",
        "Ğ": "g",
        "ğ": "g",
        "Ö": "o",
        "ö": "o",
        "Ş": "s",
        "ş": "s",
        "Ü": "u",
        "ü": "u",
    }
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
MAX_TERM = 100


def fold(text: str) -> str:
    """Lower-case ASCII form of `text`, words separated by single spaces."""
    translated = text.translate(_TURKISH)
    decomposed = unicodedata.normalize("NFKD", translated)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.casefold()).strip()


def search_keys(values: Iterable[str | None]) -> list[str]:
    """Every folded word and every folded whole value, so both "yil" and "ayse yil" prefix-match."""
    keys: set[str] = set()
    for value in values:
        if not value:
            continue
        folded = fold(value)
        if not folded:
            continue
        keys.add(folded)
        keys.update(folded.split(" "))
    return sorted(keys)


# Profiles store their keys as one string, joined by a character folding never leaves in a
# key: the embedded engine's cost of a write grows with every value in the document, and a
# list of ~16 keys was ~17% of a profile write in a full sync (bench/sync.py). Profiles
# written before hold a list; both forms are read.
KEY_SEPARATOR = "|"


def pack_keys(keys: Iterable[str]) -> str:
    return KEY_SEPARATOR.join(sorted(set(keys)))


def stored_keys(value: object) -> list[str]:
    """The keys a profile holds, in either stored form."""
    if isinstance(value, str):
        return [k for k in value.split(KEY_SEPARATOR) if k]
    if isinstance(value, list):
        return [k for k in value if isinstance(k, str)]
    return []


MIN_PREFIX = 3
MAX_PREFIX = 12


def prefix_keys(tenant_id: str, keys: Iterable[str]) -> list[str]:
    """Tenant-scoped prefixes of every folded word, for an *equality* index lookup.

    Why not a regex on `search_keys`: the embedded server can only use single-field equality
    indexes, so a prefix regex scans the tenant; storing `<tenant>:<prefix>` for prefixes of
    3..12 characters turns "ays" into one indexed equality match on any MongoDB, and the
    tenant id inside the value keeps the index tenant-scoped. Words with digits (employee ids)
    get only their whole value: their prefixes ("e1", "e10", ...) are shared by nearly every
    profile, and on the embedded engine each write costs more the more profiles share a key
    (measured: 14.6 ms against 1.8 ms per update at 100,000 profiles, docs/graph-sync.md).
    """
    out: set[str] = set()
    for key in keys:
        for word in key.split(" "):
            if any(ch.isdigit() for ch in word):
                out.add(f"{tenant_id}:{word}")
                continue
            for end in range(MIN_PREFIX, min(len(word), MAX_PREFIX) + 1):
                out.add(f"{tenant_id}:{word[:end]}")
    return sorted(out)


def query_tokens(term: str) -> list[str]:
    """Folded words of a search term; user text only ever becomes equality values."""
    folded = fold(term[:MAX_TERM])
    return [w for w in folded.split(" ") if w][:6]
