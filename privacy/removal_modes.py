"""Removal modes a customer (the data controller) picks by contract for a departed user.

DESIGN.md §1 names three choices that combine: delete all of the user's data; delete from the
directory only; anonymize the rest. Each store says in the data map what it does under each,
and privacy.mode_effects tells it in words from there.
"""

from __future__ import annotations

from enum import StrEnum


class RemovalMode(StrEnum):
    DELETE_ALL = "delete_all"
    DIRECTORY_ONLY = "directory_only"
    DIRECTORY_DELETE_REST_ANONYMIZE = "directory_delete_rest_anonymize"


DEFAULT_REMOVAL_MODE = RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE


def parse_mode(value: str) -> RemovalMode:
    try:
        return RemovalMode(value)
    except ValueError:
        names = ", ".join(m.value for m in RemovalMode)
        raise ValueError(f"unknown removal mode {value!r}; choose one of: {names}") from None
