"""The facts every notice and record must state, derived once from the data map, the tenant
record and the declared sub-processors, in Turkish and English.

The privacy notice (KVKK Art. 10 and the Communiqué on the obligation to inform; GDPR Art. 13
and 14), the export's Art. 15 facts, the controller's record (GDPR Art. 30(1), the KVKK
inventory) and JUNO's processor record (Art. 30(2)) all render what `store_facts`,
`controller_facts` and `transfer_facts` return: no sentence of them is written twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from privacy.catalogs import catalog
from privacy.datamap import (
    DATA_MAP,
    LEGAL,
    LEGAL_BASES,
    SECURITY_MEASURES,
    Dataset,
    legal_basis,
    retention_days,
)
from privacy.subprocessors import SubProcessor, declared
from storage.repositories import TenantRecord

# What the controller must have entered before its notice names it (KVKK Art. 10(1)(a), GDPR
# Art. 13(1)(a)-(b)); the representative and VERBİS number apply only to some controllers.
REQUIRED = ("legal_name", "address", "email", "dpo_contact")


def texts(locale: str) -> dict[str, str]:
    fixed: dict[str, str] = catalog(locale)["legal"]
    return fixed


def personal_stores() -> list[Dataset]:
    return [s for s in DATA_MAP.values() if s.personal]


def missing_controller(record: TenantRecord | None) -> list[str]:
    """Which controller details are not entered yet, as field names."""
    details = record.controller if record else None
    if details is None:
        return list(REQUIRED)
    return [name for name in REQUIRED if not getattr(details, name)]


def controller_facts(record: TenantRecord | None, locale: str) -> dict[str, Any]:
    t = texts(locale)
    details = record.controller if record else None
    missing = missing_controller(record)
    fields = details.model_dump() if details else dict.fromkeys(REQUIRED)
    return {
        **{k: fields.get(k) for k in (*REQUIRED, "verbis_id", "representative")},
        "tenant": record.name if record else None,
        "missing": missing,
        "missing_text": (
            t["controller_missing"].format(missing=_names(missing, locale)) if missing else None
        ),
        "missing_record": (
            t["controller_missing_record"].format(missing=_names(missing, locale))
            if missing
            else None
        ),
    }


def _names(missing: list[str], locale: str) -> str:
    t = texts(locale)
    return ", ".join(t[f"missing_{name}"] for name in missing)


def controller_lines(facts: dict[str, Any], locale: str, *, record: bool = False) -> list[str]:
    """The controller's identity as sentences, and the honest statement of what is missing
    (addressed to the person in a notice, neutral in a record)."""
    t = texts(locale)
    lines = []
    if facts["legal_name"] and facts["address"] and facts["email"]:
        lines.append(
            t["controller_line"].format(
                name=facts["legal_name"], address=facts["address"], email=facts["email"]
            )
        )
    for key, template in (
        ("dpo_contact", "dpo_line"),
        ("verbis_id", "verbis_line"),
        ("representative", "representative_line"),
    ):
        if facts[key]:
            lines.append(t[template].format(**{template.split("_")[0]: facts[key]}))
    missing = facts["missing_record"] if record else facts["missing_text"]
    if missing:
        lines.append(missing)
    lines.append(t["processor_line"])
    return lines


def _cite(provision: str, locale: str) -> str:
    """Cite "5(2)(f)" as Turkish legal writing does ("5/2-f"); English keeps the parentheses."""
    if locale != "tr":
        return provision
    return re.sub(r"^(\d+)\((\d+)\)\((\w+)\)$", r"\1/\2-\3", provision)


def basis_facts(key: str, locale: str) -> dict[str, str]:
    kvkk, gdpr = LEGAL_BASES[key]
    cat = catalog(locale)
    refs = cat["basis_refs"].format(
        k=_cite(kvkk.removeprefix("KVKK Art. "), locale),
        g=_cite(gdpr.removeprefix("GDPR Art. "), locale),
    )
    return {"key": key, "kvkk": kvkk, "gdpr": gdpr, "text": f"{cat['bases'][key]} ({refs})"}


def store_facts(
    dataset: Dataset,
    record: TenantRecord | None,
    locale: str,
    subprocessors: Sequence[SubProcessor] | None = None,
) -> dict[str, Any]:
    """One store as a notice or record states it: purpose, basis, data, source, retention,
    recipients, data subjects and which sub-processors the data reaches."""
    cat = catalog(locale)
    local = cat["stores"][dataset.collection.value]
    rec = local["record"]
    legal = LEGAL.get(dataset.collection)
    days = retention_days(dataset, record)
    subs = {s.key: s for s in (subprocessors if subprocessors is not None else declared())}
    return {
        "collection": dataset.collection.value,
        "title": rec["title"],
        "title_for_person": local["title"],
        "personal_data": dataset.personal,
        "purpose": rec["purpose"],
        "purpose_for_person": local["purpose"],
        "legal_basis": basis_facts(legal_basis(dataset, record), locale) if legal else None,
        "legal_basis_choices": list(legal.bases) if legal and len(legal.bases) > 1 else [],
        "categories": [{"category": c, **cat["categories"][c]} for c in dataset.categories],
        "subjects": [cat["subjects"][s] for s in legal.subjects] if legal else [],
        "source": rec["source"],
        "method": texts(locale)["method"].format(source=local.get("source", rec["source"])),
        "method_record": texts(locale)["method"].format(source=rec["source"]),
        "retention": {
            "days": days,
            "text": rec["retention"].format(days=days),
            "at_end": dataset.retention.at_end,
        },
        "recipients": [cat["recipient_groups"][r] for r in dataset.recipients],
        "recipients_for_person": [cat["recipients"][r] for r in dataset.recipients],
        "transfers": [k for k in (legal.transfers if legal else ()) if k in subs],
    }


def transfer_facts(
    subprocessors: Sequence[SubProcessor] | None, locale: str
) -> list[dict[str, Any]]:
    """Each sub-processor with where the data goes and under which safeguards (KVKK Art. 9 as
    amended in 2024: adequacy or appropriate safeguards such as a standard contract; GDPR Art.
    44-46)."""
    t = texts(locale)
    found = []
    for sub in subprocessors if subprocessors is not None else declared():
        line = t["transfer_line"].format(
            name=sub.display(locale),
            service=sub.service[locale],
            data=sub.data[locale],
            location=sub.location[locale],
            safeguards=sub.safeguards[locale],
        )
        found.append(
            {
                "key": sub.key,
                "name": sub.display(locale),
                "service": sub.service[locale],
                "data": sub.data[locale],
                "location": sub.location[locale],
                "transfer_abroad": sub.transfer_abroad,
                "safeguards": sub.safeguards[locale],
                "text": f"{line} ({t['abroad'] if sub.transfer_abroad else t['in_country']})",
            }
        )
    return found


def measures(locale: str) -> list[str]:
    cat = catalog(locale)
    return [cat["measures"][m] for m in SECURITY_MEASURES]


def rights(locale: str, contact: str | None) -> dict[str, Any]:
    cat = catalog(locale)
    t = texts(locale)
    return {
        "kvkk_art_11": list(cat["kvkk_rights"]),
        "gdpr": list(cat["gdpr_rights"]),
        "how_to_apply": t["apply"].format(contact=contact or t["apply_contact_missing"]),
    }


def kpi_days(record: TenantRecord | None) -> int | None:
    from storage.collections import Coll

    return retention_days(DATA_MAP[Coll.KPI_EVENTS], record)


def notice_facts(
    record: TenantRecord | None,
    locale: str,
    subprocessors: Sequence[SubProcessor] | None = None,
) -> dict[str, Any]:
    """Everything the notice says, structured (the export's data.json carries the same)."""
    controller = controller_facts(record, locale)
    t = texts(locale)
    # Written applications go to the controller's address for them (KVKK Art. 13(1)).
    contact = controller["email"] or controller["dpo_contact"]
    return {
        "controller": controller,
        "stores": [store_facts(s, record, locale, subprocessors) for s in personal_stores()],
        "authentication": t["authentication"],
        "transfers": transfer_facts(subprocessors, locale),
        "automated_decisions": t["automated"],
        "obligation": t["obligation"],
        "rights": rights(locale, contact),
        "kpi_retention_days": kpi_days(record),
    }


def render_notice(
    record: TenantRecord | None,
    locale: str,
    subprocessors: Sequence[SubProcessor] | None = None,
) -> str:
    """The privacy notice as Markdown, in the order KVKK Art. 10(1) lists its items."""
    facts = notice_facts(record, locale, subprocessors)
    t = texts(locale)
    lines = [f"**{t['notice_title']}**", "", f"**{t['controller_h']}**", ""]
    lines += [" ".join(controller_lines(facts["controller"], locale)), ""]
    lines += [f"**{t['data_h']}**", ""]
    for store in facts["stores"]:
        data = "; ".join(f"{c['name']} ({c['purpose']})" for c in store["categories"])
        lines += [
            f"- **{store['title_for_person']}** — {t['data_items']}: {data}.",
            f"  {t['purpose']}: {store['purpose_for_person']}",
            f"  {t['basis']}: {store['legal_basis']['text']}.",
            f"  {t['source']}: {store['method']}.",
            f"  {t['kept']}: {store['retention']['text']}",
            f"  {t['recipients']}: {'; '.join(store['recipients_for_person'])}.",
        ]
    lines += ["", f"**{t['auth_h']}**", "", facts["authentication"], ""]
    lines += [f"**{t['transfers_h']}**", "", t["transfers_intro"], ""]
    lines += [f"- {sub['text']}" for sub in facts["transfers"]]
    lines += ["", f"**{t['automated_h']}**", "", facts["automated_decisions"], facts["obligation"]]
    lines += ["", f"**{t['rights_h']}**", "", t["rights_kvkk"], ""]
    lines += [f"- {right}" for right in facts["rights"]["kvkk_art_11"]]
    lines += ["", t["rights_gdpr"], ""]
    lines += [f"- {right}" for right in facts["rights"]["gdpr"]]
    lines += ["", facts["rights"]["how_to_apply"]]
    if facts["kpi_retention_days"] is not None:
        lines += ["", t["version_basis"].format(days=facts["kpi_retention_days"])]
    return "\n".join(lines) + "\n"
