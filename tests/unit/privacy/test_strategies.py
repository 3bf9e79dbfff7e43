"""Each removal strategy is one class that owns its words, its strength and whether a tenant
may choose it; texts and orderings elsewhere are read off these classes."""

from __future__ import annotations

import pytest

from privacy.catalogs import LOCALES
from privacy.mode_effects import mode_effects
from privacy.removal_modes import RemovalMode
from privacy.strategies import (
    ANONYMIZING,
    OVERRIDABLE,
    STRATEGIES,
    RemovalStrategy,
    by_strength,
)


def test_one_class_per_strategy_registered_under_its_name() -> None:
    assert list(STRATEGIES) == ["delete", "pull", "aggregate", "nullify", "pseudonymize", "keep"]
    for name, strategy in STRATEGIES.items():
        assert isinstance(strategy, RemovalStrategy) and strategy.name == name
    assert len({type(s) for s in STRATEGIES.values()}) == len(STRATEGIES)


def test_what_a_tenant_may_choose_and_what_anonymizes_in_place() -> None:
    assert OVERRIDABLE == ("delete", "nullify", "pseudonymize", "keep")
    assert ANONYMIZING == ("nullify", "pseudonymize")


def test_strongest_first_ties_in_registry_order() -> None:
    assert by_strength(["keep", "pseudonymize", "nullify", "delete", "aggregate", "pull"]) == [
        "delete",
        "pull",
        "aggregate",
        "nullify",
        "pseudonymize",
        "keep",
    ]
    effects = [what for what, _ in mode_effects(RemovalMode.DIRECTORY_DELETE_REST_ANONYMIZE, "en")]
    assert effects[0] == STRATEGIES["delete"].outcome("en")


def test_describe_names_the_fields_in_each_language() -> None:
    nullify = STRATEGIES["nullify"]
    assert nullify.describe() == "remove the identifying fields, keep the rest"
    assert nullify.describe(("a", "b")) == "remove the identifying fields, keep the rest: a, b"
    assert nullify.describe(("a",), "tr") == "alanlar kaldırılır (a)"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_strategy_has_its_phrases_in_every_locale(locale: str) -> None:
    for strategy in STRATEGIES.values():
        for text in (
            strategy.describe(locale=locale),
            strategy.outcome(locale),
            strategy.at_retention_end(locale),
        ):
            assert text.strip(), (locale, strategy.name)
