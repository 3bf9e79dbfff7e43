"""The security summary customers ask for: JUNO's technical and organisational measures
(GDPR Art. 28(3)(c), 32; KVKK Art. 12), as this deployment actually runs them.

Nothing here is a hand-written claim about a deployment: the facts that depend on how an
operator runs JUNO (HTTPS in front of it, the database and whether its connection uses TLS,
where the keys come from, the retention job, the sub-processors) arrive as a `Deployment` built
from the running settings by `juno`, and the facts of the code (which stores are pseudonymized
or aggregated on removal, every retention window, how often access is reviewed, how long the
destruction log and the incident register are kept) are read from the data map and the modules
that enforce them. Change a setting or a declaration and the summary changes with it.

The fixed sentences live in `privacy/locales/security.{en,tr}.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from privacy.access import REVIEW_EVERY
from privacy.catalogs import LOCALES, catalog
from privacy.datamap import DATA_MAP
from privacy.removal_modes import RemovalMode
from privacy.subprocessors import SubProcessor
from storage.collections import ALL_COLLECTIONS, Coll


@dataclass(frozen=True)
class Deployment:
    """How this JUNO is run, as far as its security measures depend on it."""

    public_base_url: str | None
    embedded_database: bool
    database_tls: bool
    bot_authenticated: bool
    service_url_checked: bool
    pseudonym_key_configured: bool
    signing_key_configured: bool
    retention_job: bool
    retention_interval_hours: int
    soft_delete_grace_days: int
    export_link_hours: int
    subprocessors: tuple[SubProcessor, ...]
    # Channels the bot accepts activities from (bot.identity refuses every other).
    channels: tuple[str, ...] = ("msteams",)
    # Accepted vulnerability exceptions of `make audit` (None: the file is not shipped here).
    audit_exceptions: int | None = None

    @property
    def https(self) -> bool:
        return bool(self.public_base_url and self.public_base_url.lower().startswith("https://"))


@cache
def _texts(locale: str) -> dict[str, str]:
    name = f"security.{locale}.json"
    data: dict[str, str] = json.loads(
        (resources.files("privacy") / "locales" / name).read_text("utf-8")
    )
    return data


def texts(locale: str) -> dict[str, str]:
    return _texts(locale if locale in LOCALES else "en")


def _stores_using(strategy: str) -> list[str]:
    return sorted(
        store.collection.value
        for store in DATA_MAP.values()
        if any(
            store.removal.get(mode) is not None and store.removal[mode].strategy == strategy
            for mode in RemovalMode
        )
        or store.anonymizer == strategy
        or store.retention.at_end == strategy
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(deployment: Deployment, locale: str, *, now: datetime | None = None) -> str:
    """The summary as Markdown, in `locale` (tr or en)."""
    tx = texts(locale)
    lang = locale if locale in LOCALES else "en"
    at = now or datetime.now(UTC)
    legal = catalog(lang)

    def say(key: str, **values: Any) -> str:
        return tx[key].format(**values) if values else tx[key]

    lines = [f"# {say('title')}", "", say("generated", when=at.strftime("%Y-%m-%d %H:%M UTC")), ""]

    def section(key: str, *items: str) -> None:
        lines.extend([f"## {say(key)}", ""])
        lines.extend(f"- {item}" for item in items)
        lines.append("")

    scoped = len([c for c in ALL_COLLECTIONS if c is not Coll.TENANTS])
    isolation = [
        say("isolation_scoped", stores=scoped),
        say("isolation_identity", channels=", ".join(deployment.channels))
        if deployment.bot_authenticated
        else say("isolation_identity_off"),
    ]
    others = [c for c in deployment.channels if c != "msteams"]
    if others:
        isolation.append(say("isolation_channels_warning", channels=", ".join(others)))
    section("isolation", *isolation)
    if deployment.https:
        transit = [say("transit_https", url=deployment.public_base_url)]
    elif deployment.public_base_url:
        transit = [say("transit_no_https", url=deployment.public_base_url)]
    else:
        transit = [say("transit_no_url")]
    if deployment.embedded_database:
        transit.append(say("transit_db_embedded"))
    elif deployment.database_tls:
        transit.append(say("transit_db_tls"))
    else:
        transit.append(say("transit_db_no_tls"))
    transit.append(
        say("transit_microsoft")
        if deployment.service_url_checked
        else say("transit_microsoft_unchecked")
    )
    section("transit", *transit)

    def key_line(name: str, configured: bool) -> str:
        return say("keys_setting" if configured else "keys_file", name=name)

    section(
        "keys",
        key_line("JUNO_PSEUDONYM_KEY", deployment.pseudonym_key_configured),
        key_line("JUNO_SIGNING_KEY", deployment.signing_key_configured),
        say("keys_links", hours=deployment.export_link_hours),
        say("keys_graph"),
        say("keys_logs"),
    )
    section(
        "pseudonymization",
        say(
            "pseudonymization_stores",
            stores=", ".join(f"`{s}`" for s in _stores_using("pseudonymize")),
        ),
        say("aggregation_stores", stores=", ".join(f"`{s}`" for s in _stores_using("aggregate"))),
    )
    lines.extend(
        [
            f"## {say('retention')}",
            "",
            f"| {say('retention_store')} | {say('retention_rule')} |",
            "|---|---|",
        ]
    )
    for store in DATA_MAP.values():
        rule = store.retention
        if rule.days is not None:
            window = say("retention_days", days=rule.days, action=say(f"action_{rule.at_end}"))
        elif rule.erase_after is not None:
            window = say("retention_grace", days=deployment.soft_delete_grace_days)
        else:  # an expiry or no window to count: the record of processing's own sentence
            window = legal["stores"][store.collection.value]["record"]["retention"]
        lines.append(f"| `{store.collection.value}` | {_cell(window)} |")
    lines.append("")
    lines.append(
        say("retention_job", hours=deployment.retention_interval_hours)
        if deployment.retention_job
        else say("retention_job_off")
    )
    lines.append("")
    section(
        "access",
        say(
            "access_reviews",
            days=REVIEW_EVERY.days,
            kept=DATA_MAP[Coll.ACCESS_REVIEWS].retention.days,
        ),
        say("access_audit", kept=DATA_MAP[Coll.AUDIT_LOG].retention.days),
    )
    section(
        "vulnerabilities",
        say("vulnerabilities_audit")
        if deployment.audit_exceptions is None
        else say("vulnerabilities_exceptions", count=deployment.audit_exceptions),
    )
    section(
        "destruction",
        say("destruction_log", days=DATA_MAP[Coll.DESTRUCTION_LOG].retention.days),
    )
    section(
        "incidents",
        say("incidents_notice", days=DATA_MAP[Coll.INCIDENTS].retention.days),
    )
    lines.extend(
        [f"## {say('subprocessors')}", "", subprocessor_table(deployment.subprocessors, lang), ""]
    )
    return "\n".join(lines)


def subprocessor_table(subprocessors: tuple[SubProcessor, ...], locale: str) -> str:
    """The sub-processors as a Markdown table (also used by docs/privacy.md)."""
    tx = texts(locale)
    lang = locale if locale in LOCALES else "en"
    head = [
        tx["sp_name"],
        tx["sp_service"],
        tx["sp_data"],
        tx["sp_location"],
        tx["sp_abroad"],
        tx["sp_safeguards"],
    ]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for sub in subprocessors:
        cells = [
            sub.display(lang),
            sub.service[lang],
            sub.data[lang],
            sub.location[lang],
            tx["yes"] if sub.transfer_abroad else tx["no"],
            sub.safeguards[lang],
        ]
        rows.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(rows)
