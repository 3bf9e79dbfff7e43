"""The record of processing activities (GDPR Art. 30, KVKK inventory), derived from the data map.

Nothing here is written by hand per store: change the data map and this record follows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from privacy.catalogs import catalog
from privacy.datamap import DATA_MAP, Dataset
from privacy.facts import (
    controller_facts,
    controller_lines,
    measures,
    personal_stores,
    store_facts,
    texts,
    transfer_facts,
)
from privacy.mode_effects import mode_summary
from privacy.policy import RemovalPolicy
from privacy.removal_modes import RemovalMode, parse_mode
from privacy.strategies import STRATEGIES
from privacy.subprocessors import SubProcessor
from privacy.taxonomy import CATEGORIES
from storage.collections import Coll
from storage.repositories import TenantRecord

CONTROLLER = "Each customer organization (tenant) is the data controller for its employees' data."
PROCESSOR = "The JUNO for Teams operator processes it on the customer's behalf."
RIGHTS = (
    "access and a structured, machine-readable copy (GDPR Art. 15, 20; KVKK Art. 11), "
    "rectification of directory data (Art. 16), erasure (Art. 17), objection and withdrawal of "
    "consent (Art. 7(3), 21), and complaint to the supervisory authority"
)


def record_as_dict(
    data_map: Mapping[Coll, Dataset] = DATA_MAP, mode: RemovalMode | None = None
) -> dict[str, Any]:
    modes = [mode] if mode else list(RemovalMode)
    stores = []
    for dataset in data_map.values():
        stores.append(
            {
                "collection": dataset.collection.value,
                "title": dataset.title,
                "personal_data": dataset.personal,
                "categories": [
                    {"category": c, "description": CATEGORIES[c]} for c in dataset.categories
                ],
                "purpose": dataset.purpose,
                "legal_basis": dataset.legal_basis,
                "retention": {
                    "days": dataset.retention.days,
                    "rule": dataset.retention.rule,
                    "at_end": dataset.retention.at_end,
                },
                "recipients": list(dataset.recipients),
                "source": dataset.source,
                "subject_key": dataset.subject_key,
                "exported_fields": list(dataset.export_fields),
                "on_user_removal": {
                    m.value: dataset.removal[m].describe() for m in modes if m in dataset.removal
                },
                # Fields naming someone else: what removing *that* person does to them.
                "references": [
                    {
                        "field": ref.field,
                        "on_removal_of_that_person": {
                            m.value: STRATEGIES[ref.strategy(m)].describe((ref.field,))
                            for m in modes
                        },
                    }
                    for ref in dataset.references
                ],
            }
        )
    return {
        "controller": CONTROLLER,
        "processor": PROCESSOR,
        "rights": RIGHTS,
        "removal_modes": {m.value: mode_summary(m, "en") for m in modes},
        "stores": stores,
    }


def record_as_markdown(
    data_map: Mapping[Coll, Dataset] = DATA_MAP, mode: RemovalMode | None = None
) -> str:
    record = record_as_dict(data_map, mode)
    lines = [
        "# Record of processing activities — JUNO for Teams",
        "",
        f"- **Controller:** {record['controller']}",
        f"- **Processor:** {record['processor']}",
        f"- **Data subjects' rights:** {record['rights']}",
        "",
        "## Removal modes",
        "",
    ]
    for name, summary in record["removal_modes"].items():
        lines.append(f"- `{name}`: {summary}")
    for store in record["stores"]:
        lines += ["", f"## {store['title']} (`{store['collection']}`)", ""]
        if store["personal_data"]:
            cats = ", ".join(f"`{c['category']}`" for c in store["categories"])
        else:
            cats = "none (no personal data)"
        lines += [
            f"- **Personal data categories:** {cats}",
            f"- **Purpose:** {store['purpose']}",
            f"- **Legal basis:** {store['legal_basis']}",
            f"- **Retention:** {store['retention']['rule']} "
            f"(at the end: {store['retention']['at_end']})",
            f"- **Recipients:** {'; '.join(store['recipients'])}",
            f"- **Source:** {store['source']}",
        ]
        if store["exported_fields"]:
            lines.append("- **In a user's export:** " + ", ".join(store["exported_fields"]))
        if store["personal_data"]:
            lines.append("- **When a user is removed:**")
            for mode_name, what in store["on_user_removal"].items():
                lines.append(f"  - `{mode_name}`: {what}")
        for ref in store["references"]:
            done = sorted(set(ref["on_removal_of_that_person"].values()))
            lines.append(
                f"- **Names another person in `{ref['field']}`:** when that person is removed, "
                + "; ".join(done)
            )
    return "\n".join(lines) + "\n"


def _in_force(policy: RemovalPolicy, dataset: Dataset, locale: str) -> dict[str, str]:
    what = policy.action_for(dataset).describe(locale)
    branch = policy.overridden(dataset)
    decided = (
        texts(locale)["decided_override"].format(branch=branch)
        if branch
        else texts(locale)["decided_mode"].format(mode=policy.mode.value)
    )
    return {"in_force": what, "decided_by": decided}


def record_for_tenant(
    record: TenantRecord,
    data_map: Mapping[Coll, Dataset] = DATA_MAP,
    *,
    locale: str = "en",
    subprocessors: Sequence[SubProcessor] | None = None,
    processor: tuple[str, str | None] = ("JUNO for Teams", None),
) -> dict[str, Any]:
    """The controller's record of processing (GDPR Art. 30(1)(a)-(g); the KVKK inventory) for
    one tenant: its own identity, legal-basis choices, retention and removal policy in force,
    with every text in `locale`."""
    policy = RemovalPolicy(parse_mode(record.removal_mode), dict(record.removal_overrides))
    cat = catalog(locale)
    t = texts(locale)
    stores = []
    for dataset in data_map.values():
        entry = store_facts(dataset, record, locale, subprocessors)
        if dataset.personal and policy.mode in dataset.removal:
            entry["on_user_removal"] = _in_force(policy, dataset, locale)
        else:
            entry["on_user_removal"] = {}
        stores.append(entry)
    return {
        "kind": "controller_record",
        "locale": locale,
        "basis": t["ropa_basis"],
        "controller": controller_facts(record, locale),
        "processor": {"name": processor[0], "contact": processor[1], "role": t["processor_line"]},
        "tenant": {
            "id": record.tenant_id,
            "name": record.name,
            "enabled": record.enabled,
            "removal_mode": policy.mode.value,
            "removal_mode_text": cat["modes"][policy.mode.value],
            "removal_overrides": dict(record.removal_overrides),
            "kpi_retention_days": record.kpi_retention_days,
            "legal_bases": dict(record.legal_bases),
        },
        "stores": stores,
        "transfers": transfer_facts(subprocessors, locale),
        "security_measures": measures(locale),
        "automated_decisions": t["automated"],
    }


def _value(value: str | None, locale: str) -> str:
    return value or texts(locale)["not_set"]


def _controller_block(facts: Mapping[str, Any], locale: str) -> list[str]:
    return [" ".join(controller_lines(dict(facts), locale, record=True))]


def tenant_record_as_markdown(
    record: TenantRecord,
    data_map: Mapping[Coll, Dataset] = DATA_MAP,
    *,
    locale: str = "en",
    subprocessors: Sequence[SubProcessor] | None = None,
    processor: tuple[str, str | None] = ("JUNO for Teams", None),
) -> str:
    data = record_for_tenant(
        record, data_map, locale=locale, subprocessors=subprocessors, processor=processor
    )
    t = texts(locale)
    tenant = data["tenant"]
    overrides = ", ".join(f"`{k}={v}`" for k, v in tenant["removal_overrides"].items())
    lines = [
        "# " + t["ropa_title"].format(name=tenant["name"]),
        "",
        data["basis"],
        "",
        f"## {t['controller_h']}",
        "",
        *_controller_block(data["controller"], locale),
        "",
        f"## {t['processor_h']}",
        "",
        f"{data['processor']['name']}. "
        + t["processor_contact"].format(contact=_value(data["processor"]["contact"], locale)),
        "",
        f"- **{t['removal_mode']}:** `{tenant['removal_mode']}` — {tenant['removal_mode_text']}",
        f"- **{t['overrides']}:** {overrides or t['none']}",
        "",
        f"## {t['activities_h']}",
    ]
    for store in data["stores"]:
        lines += ["", f"### {store['title']} (`{store['collection']}`)", ""]
        if not store["personal_data"]:
            lines += [f"- **{t['purpose']}:** {store['purpose']}"]
            continue
        cats = "; ".join(c["name"] for c in store["categories"])
        removal = store["on_user_removal"]
        lines += [
            f"- **{t['purpose']}:** {store['purpose']}",
            f"- **{t['basis']}:** {store['legal_basis']['text']}",
            f"- **{t['subjects']}:** {'; '.join(store['subjects'])}",
            f"- **{t['categories']}:** {cats}",
            f"- **{t['recipients']}:** {'; '.join(store['recipients'])}",
            f"- **{t['transfers']}:** {', '.join(store['transfers']) or t['none']}",
            f"- **{t['source']}:** {store['method_record']}",
            f"- **{t['retention']}:** {store['retention']['text']}",
            f"- **{t['on_removal']}:** {removal['in_force']} ({removal['decided_by']})",
        ]
    lines += _shared_sections(t, data["transfers"], data["security_measures"])
    lines += ["", f"## {t['automated_h']}", "", data["automated_decisions"]]
    return "\n".join(lines) + "\n"


def _shared_sections(
    t: Mapping[str, str], subprocessors: list[dict[str, Any]], measures: list[str]
) -> list[str]:
    """The sub-processors and the security measures, which both records state alike."""
    lines = ["", f"## {t['subprocessors_h']}", ""]
    lines += [f"- `{sub['key']}`: {sub['text']}" for sub in subprocessors]
    lines += ["", f"## {t['toms_h']}", ""]
    return lines + [f"- {measure}" for measure in measures]


def processor_record(
    records: Sequence[TenantRecord],
    *,
    locale: str = "en",
    subprocessors: Sequence[SubProcessor] | None = None,
    processor: tuple[str, str | None] = ("JUNO for Teams", None),
) -> dict[str, Any]:
    """JUNO's own record as processor (GDPR Art. 30(2)(a)-(d)): who it processes for, what it
    does on each controller's behalf, its sub-processors and transfers, and its measures."""
    t = texts(locale)
    controllers = []
    for record in records:
        activities = [
            {
                "collection": entry["collection"],
                "title": entry["title"],
                "purpose": entry["purpose"],
                "categories": [c["name"] for c in entry["categories"]],
                "retention": entry["retention"]["text"],
                "transfers": entry["transfers"],
            }
            for entry in (store_facts(s, record, locale, subprocessors) for s in personal_stores())
        ]
        controllers.append(
            {
                "tenant_id": record.tenant_id,
                "name": record.name,
                "enabled": record.enabled,
                "controller": controller_facts(record, locale),
                "processing": activities,
            }
        )
    transfers = transfer_facts(subprocessors, locale)
    return {
        "kind": "processor_record",
        "locale": locale,
        "basis": t["ropa_processor_basis"],
        "processor": {"name": processor[0], "contact": processor[1]},
        "controllers": controllers,
        "subprocessors": transfers,
        "third_country_transfers": [s for s in transfers if s["transfer_abroad"]],
        "security_measures": measures(locale),
    }


def processor_record_as_markdown(
    records: Sequence[TenantRecord],
    *,
    locale: str = "en",
    subprocessors: Sequence[SubProcessor] | None = None,
    processor: tuple[str, str | None] = ("JUNO for Teams", None),
) -> str:
    data = processor_record(
        records, locale=locale, subprocessors=subprocessors, processor=processor
    )
    t = texts(locale)
    lines = [
        "# " + t["ropa_processor_title"],
        "",
        data["basis"],
        "",
        f"## {t['processor_h']}",
        "",
        f"{data['processor']['name']}. "
        + t["processor_contact"].format(contact=_value(data["processor"]["contact"], locale)),
        "",
        f"## {t['controllers_h']}",
    ]
    for entry in data["controllers"]:
        lines += ["", f"### {entry['name']} (`{entry['tenant_id']}`)", ""]
        lines += _controller_block(entry["controller"], locale)
        lines += ["", f"**{t['processing_h']}:**", ""]
        for activity in entry["processing"]:
            lines += [
                f"- **{activity['title']}**: {activity['purpose']}",
                f"  {t['categories']}: {'; '.join(activity['categories'])}.",
                f"  {t['retention']}: {activity['retention']}",
                f"  {t['transfers']}: {', '.join(activity['transfers']) or t['none']}",
            ]
    lines += _shared_sections(t, data["subprocessors"], data["security_measures"])
    return "\n".join(lines) + "\n"
