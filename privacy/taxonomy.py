"""Dotted data categories (after Ethyca Fides' taxonomy) so a rule can target a whole branch.

`user.workplace` covers `user.workplace.department`, `user.workplace.location`, ... A category
outside this tree is a typo, and the data map's validation rejects it.
"""

from __future__ import annotations

CATEGORIES: dict[str, str] = {
    "user": "Data about a person",
    "user.name": "Given name, surname, display name",
    "user.name.search_key": "Folded forms of names used only to find people",
    "user.contact.email": "Work e-mail address (also the sign-in name)",
    "user.job_title": "Job title and position",
    "user.workplace.department": "Department",
    "user.workplace.location": "Office location",
    "user.workplace.manager": "Manager (org chart edge)",
    "user.employment.intern": "Whether the person is an intern",
    "user.employment.account": "Directory account state: enabled, guest, soft-deleted",
    "user.unique_id": "Entra ID object id",
    "user.unique_id.employee_id": "Employee id assigned by the employer",
    "user.unique_id.pseudonymous": "Keyed hash standing in for an id after erasure",
    "user.behavior": "Events about how the person uses the bot",
    "user.consent": "Privacy-notice acknowledgements and EULA decisions",
    "user.request": "Data-subject requests and their outcome",
    "user.communication": "Conversation references and bot dialog state",
    "user.preference.locale": "Preferred language",
    "user.role": "Roles the person holds in JUNO (tenant admin) and since when",
    "user.export": "A copy of the person's own data, prepared for them to download",
    "system": "Operational data about no one",
    "system.tenant": "Customer tenant id",
    "system.key": "Technical document keys",
    "system.time": "Timestamps",
    "system.operations": "Configuration and run records",
    "system.statistics": "Anonymous totals that count people without naming anyone",
    "system.contact_point": "The operator's contact point for an incident (its DPO office or a "
    "role mailbox), not a data subject of the customer",
}


def is_known(category: str) -> bool:
    return category in CATEGORIES


def in_branch(category: str, branch: str) -> bool:
    return category == branch or category.startswith(branch + ".")


def is_personal(category: str) -> bool:
    return in_branch(category, "user")
