"""Turkish as a first language: casing, alphabetical order and suffixes after an apostrophe.

Python's `str.upper`/`str.lower` and `sorted` follow Unicode defaults, which are wrong for
Turkish: "i".upper() is "I" (Turkish: "İ"), and code-point order puts Ç, İ, Ö, Ş, Ü after Z.
ICU gets this right, but PyICU has no wheel (it builds against a system ICU, which `make setup`
cannot count on) and the wheels that do ship ICU expose no collator; the Turkish alphabet is
29 letters, so its order is spelled out here instead (CLDR's `tr` tailoring at the primary
level: q, w, x sort where the Latin alphabet puts them).
"""

from __future__ import annotations

import re
import unicodedata

ALPHABET = "abcçdefgğhıijklmnoöpqrsştuüvwxyz"
_RANK = {letter: n for n, letter in enumerate(ALPHABET)}
_LOWER = str.maketrans({"I": "ı", "İ": "i"})
_UPPER = str.maketrans({"i": "İ", "ı": "I"})


def lower(text: str, locale: str = "tr") -> str:
    return text.translate(_LOWER).lower() if locale == "tr" else text.lower()


def upper(text: str, locale: str = "tr") -> str:
    return text.translate(_UPPER).upper() if locale == "tr" else text.upper()


def _letter_rank(ch: str) -> tuple[int, int]:
    """(primary, secondary): a letter of the alphabet by its place; any other letter by its
    base letter (é as e, with a secondary difference); digits first, other symbols last."""
    if ch in _RANK:
        return _RANK[ch] + 100, 0
    if ch.isdigit():
        return int(ch) if ch in "0123456789" else 9, 0
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and base[0] in _RANK and base[0] != ch:
        return _RANK[base[0]] + 100, 1
    if ch.isspace():
        return 10, 0  # "Can Ak" before "Canan": a word ends before it goes on
    return 1000 + ord(ch), 0


def sort_key(text: str) -> tuple[tuple[tuple[int, int], ...], str]:
    """Turkish alphabetical order: "Can" < "Çağla" < "Deniz", "Irmak" < "İlker" < "Jale".
    The original text breaks ties, so the order is total and stable across runs."""
    return tuple(_letter_rank(ch) for ch in lower(text.strip())), text


# Case, possessive and plural suffixes written after an apostrophe on a proper name
# ("Ayşe'yi", "Oğuz'un", "İzmir'deki"). Only these are cut, so "O'Brien" stays whole.
_SUFFIX = re.compile(
    r"(?:y?[ıiuü]|y?[ae]|n?[ıiuü]n|[dt][ae]|[dt][ae]n|[dt][ae]ki|n[ae]|nd[ae]|nd[ae]n|"
    r"y?l[ae]|l[ae]r|l[ae]r[ıi]|l[ae]r[ıi]n|l[ae]rd[ae]|[cç][ae]|s[ıiuü]|s[ıiuü]n[ıiuü]|"
    r"s[ıiuü]nd[ae]|yd[ıiuü]|yken|yl[ae])",
)
_APOSTROPHES = "'’ʼ`´"


def strip_suffix(word: str) -> str:
    """ "Ayşe'yi" -> "Ayşe"; a word without a Turkish suffix after its apostrophe is kept."""
    for mark in _APOSTROPHES:
        head, sep, tail = word.partition(mark)
        if sep and head and _SUFFIX.fullmatch(lower(tail)):
            return head
    return word


def strip_suffixes(text: str) -> str:
    return " ".join(strip_suffix(word) for word in text.split())
