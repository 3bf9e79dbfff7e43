"""The record of processing activities (GDPR Art. 30, KVKK inventory), derived from the data map.

Nothing here is written by hand per store: change the data map and this record follows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from privacy.datamap import DATA_MAP, Store, retention_days
from privacy.policy import RemovalPolicy
from privacy.removal_modes import MODE_SUMMARIES, RemovalMode, parse_mode
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
    data_map: Mapping[Coll, Store] = DATA_MAP, mode: RemovalMode | None = None
) -> dict[str, Any]:
    modes = [mode] if mode else list(RemovalMode)
    stores = []
    for store in data_map.values():
        stores.append(
            {
                "collection": store.collection.value,
                "title": store.title,
                "personal_data": store.personal,
                "categories": [
                    {"category": c, "description": CATEGORIES[c]} for c in store.categories
                ],
                "purpose": store.purpose,
                "legal_basis": store.legal_basis,
                "retention": {
                    "days": store.retention.days,
                    "rule": store.retention.rule,
                    "at_end": store.retention.at_end,
                },
                "recipients": list(store.recipients),
                "source": store.source,
                "subject_key": store.subject_key,
                "exported_fields": list(store.export_fields),
                "on_user_removal": {
                    m.value: store.removal[m].describe() for m in modes if m in store.removal
                },
            }
        )
    return {
        "controller": CONTROLLER,
        "processor": PROCESSOR,
        "rights": RIGHTS,
        "removal_modes": {m.value: MODE_SUMMARIES[m] for m in modes},
        "stores": stores,
    }


def record_as_markdown(
    data_map: Mapping[Coll, Store] = DATA_MAP, mode: RemovalMode | None = None
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
    return "\n".join(lines) + "\n"


def record_for_tenant(
    record: TenantRecord, data_map: Mapping[Coll, Store] = DATA_MAP
) -> dict[str, Any]:
    """The record of processing as it applies to one tenant: the removal mode in force with
    the tenant's per-category overrides resolved store by store, and its own retention."""
    policy = RemovalPolicy(parse_mode(record.removal_mode), dict(record.removal_overrides))
    base = record_as_dict(data_map, mode=policy.mode)
    for entry in base["stores"]:
        store = data_map[Coll(entry["collection"])]
        entry["retention"]["days"] = retention_days(store, record)
        if store.personal and policy.mode in store.removal:
            branch = policy.overridden(store)
            entry["on_user_removal"] = {
                "in_force": policy.action_for(store).describe(),
                "decided_by": f"override {branch}" if branch else f"mode {policy.mode.value}",
            }
    base["tenant"] = {
        "id": record.tenant_id,
        "name": record.name,
        "enabled": record.enabled,
        "removal_mode": policy.mode.value,
        "removal_overrides": dict(record.removal_overrides),
        "kpi_retention_days": record.kpi_retention_days,
    }
    return base


def tenant_record_as_markdown(
    record: TenantRecord, data_map: Mapping[Coll, Store] = DATA_MAP
) -> str:
    data = record_for_tenant(record, data_map)
    tenant = data["tenant"]
    overrides = ", ".join(f"`{k}={v}`" for k, v in tenant["removal_overrides"].items())
    lines = [
        f"# Record of processing activities — {tenant['name']} ({tenant['id']})",
        "",
        f"- **Controller:** {tenant['name']}. {data['controller']}",
        f"- **Processor:** {data['processor']}",
        f"- **Data subjects' rights:** {data['rights']}",
        f"- **Removal mode in force:** `{tenant['removal_mode']}` — "
        f"{data['removal_modes'][tenant['removal_mode']]}",
        f"- **Per-category overrides:** {overrides or 'none'}",
        "",
        "| store | personal data | recipients | retention | when a user is removed |",
        "|---|---|---|---|---|",
    ]
    for store in data["stores"]:
        removal = store["on_user_removal"]
        in_force = (
            f"{removal['in_force']} ({removal['decided_by']})" if "in_force" in removal else "—"
        )
        days = store["retention"]["days"]
        rule = store["retention"]["rule"]
        retention = f"{rule} ({days} days)" if days is not None else rule
        cats = ", ".join(c["category"] for c in store["categories"]) or "none"
        lines.append(
            f"| {store['title']} (`{store['collection']}`) | {cats} | "
            f"{'; '.join(store['recipients'])} | {retention} | {in_force} |"
        )
    return "\n".join(lines) + "\n"
