"""What removing a user does in one tenant: the contract's named preset (a removal mode) plus
the tenant's per-category overrides.

An override names a branch of the data-category taxonomy and a strategy, e.g.
`user.behavior=delete` ("delete usage KPIs outright instead of anonymizing them"). It applies
to every store whose `about` category lies in that branch; the most specific branch wins.
Stores without an `about` (the directory itself, accountability logs) are fixed by the preset:
a customer cannot contract out of deleting the directory entry of someone who left. An
anonymizing override (nullify, pseudonymize) on a store that declares an `anonymizer` (usage
KPIs, whose bucket keys name the person) becomes that strategy: the stronger, working one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from privacy.datamap import DATA_MAP, Action, Dataset
from privacy.removal_modes import RemovalMode
from privacy.strategies import ANONYMIZING, OVERRIDABLE
from privacy.taxonomy import in_branch, is_known, is_personal
from storage.collections import Coll


@dataclass(frozen=True)
class RemovalPolicy:
    mode: RemovalMode
    overrides: Mapping[str, str] = field(default_factory=dict)

    def action_for(self, dataset: Dataset) -> Action:
        preset = dataset.removal[self.mode]
        branch = _winning_branch(dataset, self.overrides)
        if branch is None:
            return preset
        strategy = self.overrides[branch]
        if strategy in ANONYMIZING:
            if dataset.anonymizer is not None:
                # The record's key names the person: only the dataset's own way anonymizes it.
                return Action(dataset.anonymizer)
            return Action(strategy, dataset.identifiers)
        return Action(strategy)

    def overridden(self, dataset: Dataset) -> str | None:
        """The override branch that decides this dataset, if any."""
        return _winning_branch(dataset, self.overrides)

    def plan(self, data_map: Mapping[Coll, Dataset] = DATA_MAP) -> dict[Coll, Action]:
        return {
            coll: self.action_for(dataset)
            for coll, dataset in data_map.items()
            if dataset.personal and dataset.subject_key is not None and self.mode in dataset.removal
        }


def _winning_branch(dataset: Dataset, overrides: Mapping[str, str]) -> str | None:
    if dataset.about is None:
        return None
    about = dataset.about
    matching = [b for b in overrides if in_branch(about, b)]
    return max(matching, key=len) if matching else None


def parse_override(text: str) -> tuple[str, str]:
    """`user.behavior=delete` -> ("user.behavior", "delete")."""
    branch, sep, strategy = text.partition("=")
    if not sep or not branch.strip() or not strategy.strip():
        raise ValueError(f"an override looks like CATEGORY=STRATEGY, got {text!r}")
    return branch.strip(), strategy.strip()


def override_problems(
    overrides: Mapping[str, str], data_map: Mapping[Coll, Dataset] = DATA_MAP
) -> list[str]:
    """Why these overrides cannot be applied (empty when they can)."""
    problems: list[str] = []
    for branch, strategy in overrides.items():
        if not is_known(branch) or not is_personal(branch):
            problems.append(f"{branch!r} is not a personal data category")
            continue
        if strategy not in OVERRIDABLE:
            problems.append(
                f"{branch}: strategy must be one of {', '.join(OVERRIDABLE)}, got {strategy!r}"
            )
            continue
        hit = [s for s in data_map.values() if s.about is not None and in_branch(s.about, branch)]
        if not hit:
            problems.append(f"{branch}: no store it can apply to (see `juno ropa`)")
        if strategy in ANONYMIZING:
            for dataset in hit:
                if not dataset.identifiers and dataset.anonymizer is None:
                    problems.append(
                        f"{branch}={strategy}: {dataset.collection.value} has no identifying "
                        "fields to anonymize; use delete or keep"
                    )
    return problems
