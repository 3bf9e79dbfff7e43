"""Turkish-aware folding for people search, shared by whoever writes profiles and whoever reads.

The embedded server has no `tr` collation, so profiles store folded keys and queries fold their
input the same way: "İSMAİL", "ismail", "Ismail" and "ısmaıl" all become "ismail". Folding also
strips other diacritics (é -> e) so non-Turkish names behave too.
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


def prefix_pattern(term: str) -> str | None:
    """An anchored, escaped regular expression for an indexed prefix match, or None for input
    that folds to nothing. User text is never used as a pattern itself."""
    folded = fold(term[:MAX_TERM])
    if not folded:
        return None
    return "^" + re.escape(folded)
