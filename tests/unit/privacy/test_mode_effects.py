"""Removal modes are told in words derived from the data map, in both languages."""

from __future__ import annotations

import pytest

from privacy.datamap import DATA_MAP
from privacy.mode_effects import mode_effects, mode_summary
from privacy.removal_modes import RemovalMode


@pytest.mark.parametrize("locale", ["en", "tr"])
@pytest.mark.parametrize("mode", list(RemovalMode))
def test_every_personal_store_is_told_exactly_once(mode: RemovalMode, locale: str) -> None:
    told = [store for _, stores in mode_effects(mode, locale) for store in stores]
    declared = [s for s in DATA_MAP.values() if s.personal and mode in s.removal]
    assert len(told) == len(declared) == len(set(told))


def test_the_text_follows_the_declared_strategy() -> None:
    anonymize = dict(mode_effects(RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE, "en"))
    assert "Usage KPIs" in anonymize["Deleted"]  # a person's recent counts: k-anonymity
    assert "Bot dialog state" in anonymize["Deleted"]
    assert "Audit log" in anonymize["Kept with the person replaced by a keyed pseudonym"]
    only = dict(mode_effects(RemovalMode.DIRECTORY_ONLY, "tr"))
    assert "Kullanım göstergeleri" in only["Değiştirilmeden saklanır"]
    assert mode_summary(RemovalMode.DELETE_ALL, "tr").startswith(
        "kişinin JUNO'daki tüm verilerini sil. "
    )
