"""`juno incident`: the register of personal-data breaches, and telling each affected
controller at once.

An incident names the tenants it affects with `--affected`, one per tenant:

    --affected "TENANT_ID subjects=employees,guests people=120
                data=user.name,user.contact.email records=240"

(one quoted value, the share's parts separated by spaces).

Opening or updating an incident tells that tenant's admins in Teams right away, in their
language, and records when (their 72 hours toward the authority count from it). Every change is
audit-logged in each affected tenant under `operator[:NAME]`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from juno.cli.common import load_settings, run
from juno.cli.tenant import parse_guid
from juno.errors import UserError
from privacy.incidents import (
    Affected,
    EventKind,
    Facts,
    Incident,
    IncidentError,
    Status,
    affected,
    close_incident,
    facts,
    get_incident,
    incidents_of,
    new_incident_id,
    open_incident,
    update_incident,
)
from storage.repositories import TenantNotFound, TenantRecord, TenantRegistry, TenantStore

app = typer.Typer(
    help="Personal-data breaches: open, update, close, list; affected admins are told in Teams.",
    no_args_is_help=True,
)

IdOpt = Annotated[str, typer.Option("--id", help="Incident id (from `juno incident list`).")]
AffectedOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--affected",
        help='One per affected tenant: "TENANT_ID subjects=employees,guests people=N '
        'data=user.name,user.contact.email records=N".',
    ),
]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who records it (name, for the audit).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")]
SPEC_KEYS = ("subjects", "people", "data", "records")


def _actor(by: str | None) -> str:
    return f"operator:{by.strip()}" if by and by.strip() else "operator"


def parse_when(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{what} must be an ISO 8601 time such as 2026-12-01T08:30Z") from None
    if moment.tzinfo is None:
        raise UserError(f"{what} needs a time zone, e.g. 2026-12-01T08:30Z or +03:00")
    return moment


def parse_affected(spec: str) -> tuple[str, Affected]:
    """One `--affected` value: a tenant id, then subjects=, people=, data=, records=."""
    words = spec.split()
    if not words:
        raise UserError("--affected needs a tenant id and its share")
    tenant = parse_guid(words[0], "--affected tenant id")
    values: dict[str, str] = {}
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in SPEC_KEYS:
            raise UserError(
                f"--affected: {word!r} is not one of {', '.join(k + '=' for k in SPEC_KEYS)}"
            )
        values[key] = value
    missing = [k for k in SPEC_KEYS if k not in values]
    if missing:
        raise UserError(f"--affected {tenant}: missing {', '.join(k + '=' for k in missing)}")
    numbers: dict[str, int] = {}
    for key in ("people", "records"):
        try:
            numbers[key] = int(values[key].replace("_", ""))
        except ValueError:
            raise UserError(f"--affected {tenant}: {key}= must be a whole number") from None
    try:
        share = affected(
            values["subjects"].split(","),
            numbers["people"],
            values["data"].split(","),
            numbers["records"],
        )
    except IncidentError as exc:
        raise UserError(f"--affected {tenant}: {exc}") from None
    return tenant, share


def _shares(specs: list[str] | None) -> dict[str, Affected]:
    shares: dict[str, Affected] = {}
    for spec in specs or []:
        tenant, share = parse_affected(spec)
        if tenant in shares:
            raise UserError(f"--affected names tenant {tenant} twice")
        shares[tenant] = share
    return shares


@dataclass
class Told:
    incident: Incident
    tenant_name: str


def _run(work: Any) -> Any:
    from juno.runtime import database

    settings = load_settings()

    async def go() -> Any:
        async with database(settings) as db:
            try:
                return await work(settings, db.db)
            except (TenantNotFound, IncidentError) as exc:
                raise UserError(str(exc)) from None

    return run(go())


def _notifier(settings: Any, db: Any) -> Any:
    """A way to message admins in Teams, when this operator has the bot's identity."""
    from bot.outcomes import notifier_for
    from juno.bot_wiring import bot_config
    from juno.logs import get_logger

    config = bot_config(settings)
    return None if config is None else notifier_for(config, db, get_logger("juno.incident"))


async def _tell(
    notifier: Any, store: TenantStore, tenant: TenantRecord, incident: Incident, about: EventKind
) -> Told:
    from bot.admin_alerts import tell_incident

    recorded = await tell_incident(notifier, store, tenant, incident, about)
    return Told(recorded, tenant.name)


async def _affected_tenants(db: Any, incident_id: str) -> list[tuple[TenantRecord, Incident]]:
    found = []
    for tenant in await TenantRegistry(db).list_all():
        incident = await get_incident(TenantStore(db, tenant.tenant_id), incident_id)
        if incident is not None:
            found.append((tenant, incident))
    return found


def _report(told: list[Told], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps([t.incident.as_dict() for t in told], indent=2, ensure_ascii=False))
        return
    for entry in told:
        incident = entry.incident
        last = incident.timeline[-1]
        reached = (
            f"{last.told} of {last.admins} admins told in Teams"
            if last.told
            else "no admin could be told in Teams from here: `juno serve` keeps trying, and "
            "the incident waits on their admin desk; if it is urgent, tell the controller "
            "another way too"
        )
        deadline = incident.deadline
        clock = f"; their deadline toward the authority: {_when(deadline)}" if deadline else ""
        typer.echo(
            f"incident {incident.id} ({incident.status.value}) in {entry.tenant_name} "
            f"[{incident.tenant_id}]: {reached}{clock}"
        )


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@app.command("open")
def open_(
    summary: Annotated[str, typer.Option(help="What happened (nature of the breach).")],
    detected_at: Annotated[str, typer.Option(help="When it was detected, ISO 8601 with zone.")],
    consequences: Annotated[str, typer.Option(help="Likely consequences for the people.")],
    measures: Annotated[str, typer.Option(help="Measures taken or proposed.")],
    contact: Annotated[str, typer.Option(help="Contact point (DPO office, role mailbox).")],
    affected_: AffectedOpt = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a breach and tell every affected tenant's admins now."""
    shares = _shares(affected_)
    if not shares:
        raise UserError("name at least one affected tenant with --affected")
    when = parse_when(detected_at, "--detected-at")
    try:
        found = facts(
            summary=summary,
            detected_at=when,
            consequences=consequences,
            measures=measures,
            contact=contact,
        )
    except IncidentError as exc:
        raise UserError(str(exc)) from None

    async def work(settings: Any, db: Any) -> list[Told]:
        registry = TenantRegistry(db)
        tenants = [await registry.require(tid) for tid in shares]  # all known before writing
        incident_id = new_incident_id()
        notifier = _notifier(settings, db)
        told = []
        for tenant in tenants:
            store = TenantStore(db, tenant.tenant_id)
            incident = await open_incident(
                store, incident_id, found, shares[tenant.tenant_id], actor=_actor(by)
            )
            told.append(await _tell(notifier, store, tenant, incident, EventKind.OPENED))
        return told

    _report(_run(work), as_json)


@app.command("update")
def update(
    incident_id: IdOpt,
    summary: Annotated[str | None, typer.Option(help="What happened, corrected.")] = None,
    detected_at: Annotated[str | None, typer.Option(help="Detection time, corrected.")] = None,
    consequences: Annotated[str | None, typer.Option(help="Likely consequences.")] = None,
    measures: Annotated[str | None, typer.Option(help="Measures taken or proposed.")] = None,
    contact: Annotated[str | None, typer.Option(help="Contact point.")] = None,
    affected_: AffectedOpt = None,
    note: Annotated[str | None, typer.Option(help="What changed, for the timeline.")] = None,
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Correct or complete an incident; a tenant newly named with --affected joins it. Every
    affected tenant's admins are told."""
    shares = _shares(affected_)
    given = {
        "summary": summary,
        "consequences": consequences,
        "measures": measures,
        "contact": contact,
    }
    when = parse_when(detected_at, "--detected-at") if detected_at else None
    if not shares and when is None and all(v is None for v in given.values()):
        raise UserError("say what to change (e.g. --measures, --affected)")

    async def work(settings: Any, db: Any) -> list[Told]:
        current = await _affected_tenants(db, incident_id)
        if not current:
            raise UserError(f"no incident {incident_id!r}")
        base = current[0][1].facts
        merged = facts(
            summary=summary if summary is not None else base.summary,
            detected_at=when or base.detected_at,
            consequences=consequences if consequences is not None else base.consequences,
            measures=measures if measures is not None else base.measures,
            contact=contact if contact is not None else base.contact,
        )
        changes = _changed(base, merged)
        registry = TenantRegistry(db)
        newcomers = [await registry.require(tid) for tid in shares if tid not in _ids(current)]
        notifier = _notifier(settings, db)
        told = []
        for tenant, incident in current:
            store = TenantStore(db, tenant.tenant_id)
            share = shares.get(tenant.tenant_id)
            if not changes and (share is None or share == incident.affected):
                continue  # nothing new for this controller
            updated = await update_incident(
                store, incident_id, changes=changes, share=share, note=note, actor=_actor(by)
            )
            told.append(await _tell(notifier, store, tenant, updated, EventKind.UPDATED))
        for tenant in newcomers:
            store = TenantStore(db, tenant.tenant_id)
            opened = await open_incident(
                store, incident_id, merged, shares[tenant.tenant_id], actor=_actor(by)
            )
            told.append(await _tell(notifier, store, tenant, opened, EventKind.OPENED))
        if not told:
            raise UserError(f"nothing to change in incident {incident_id}")
        return told

    _report(_run(work), as_json)


def _ids(current: list[tuple[TenantRecord, Incident]]) -> set[str]:
    return {tenant.tenant_id for tenant, _ in current}


def _changed(base: Facts, merged: Facts) -> dict[str, Any]:
    return {
        name: getattr(merged, name)
        for name in ("summary", "detected_at", "consequences", "measures", "contact")
        if getattr(merged, name) != getattr(base, name)
    }


@app.command("close")
def close(
    incident_id: IdOpt,
    note: Annotated[str, typer.Option(help="How it ended (told to the controllers).")],
    by: ByOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close an incident; every affected tenant's admins are told."""

    async def work(settings: Any, db: Any) -> list[Told]:
        current = await _affected_tenants(db, incident_id)
        if not current:
            raise UserError(f"no incident {incident_id!r}")
        still_open = [(t, i) for t, i in current if i.status is not Status.CLOSED]
        if not still_open:
            raise UserError(f"incident {incident_id} is already closed")
        notifier = _notifier(settings, db)
        told = []
        for tenant, _ in still_open:  # a close interrupted half-way is finished, not refused
            store = TenantStore(db, tenant.tenant_id)
            closed = await close_incident(store, incident_id, note=note, actor=_actor(by))
            told.append(await _tell(notifier, store, tenant, closed, EventKind.CLOSED))
        return told

    _report(_run(work), as_json)


@app.command("show")
def show(incident_id: IdOpt, as_json: JsonOpt = False) -> None:
    """One incident in every affected tenant: the facts, each tenant's share and timeline."""

    async def work(_: Any, db: Any) -> list[tuple[TenantRecord, Incident]]:
        found = await _affected_tenants(db, incident_id)
        if not found:
            raise UserError(f"no incident {incident_id!r}")
        return found

    found: list[tuple[TenantRecord, Incident]] = _run(work)
    if as_json:
        body = [{**i.as_dict(), "tenant_name": t.name} for t, i in found]
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    first = found[0][1]
    typer.echo(f"incident {first.id}: {first.facts.summary}")
    typer.echo(f"  detected: {_when(first.facts.detected_at)}")
    for name in ("consequences", "measures", "contact"):
        typer.echo(f"  {name}: {getattr(first.facts, name)}")
    for tenant, incident in found:
        share = incident.affected
        typer.echo(f"{tenant.name} [{tenant.tenant_id}]: {incident.status.value}")
        typer.echo(
            f"  about {share.subjects_approx} people ({', '.join(share.subjects)}), "
            f"about {share.records_approx} records ({', '.join(share.records)})"
        )
        typer.echo(f"  their deadline toward the authority: {_when(incident.deadline)}")
        for event in incident.timeline:
            extra = f" {event.note}" if event.note else ""
            counts = f" ({event.told} of {event.admins} admins)" if event.admins is not None else ""
            typer.echo(f"  {_when(event.at)}  {event.kind.value}{extra}{counts}")


@app.command("list")
def list_(
    tenant_id: Annotated[
        str | None, typer.Option("--tenant-id", "--tenant", help="Only this tenant.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every incident per affected tenant, open first, with the controllers' deadlines."""
    only = parse_guid(tenant_id, "--tenant-id") if tenant_id else None

    async def work(_: Any, db: Any) -> list[tuple[str, Incident]]:
        registry = TenantRegistry(db)
        tenants = [await registry.require(only)] if only else await registry.list_all()
        rows = []
        for tenant in tenants:
            for incident in await incidents_of(TenantStore(db, tenant.tenant_id)):
                rows.append((tenant.name, incident))
        return rows

    rows: list[tuple[str, Incident]] = _run(work)
    if as_json:
        body = [{**i.as_dict(), "tenant_name": name} for name, i in rows]
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no incidents")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "status", "tenant", "detected", "notified", "deadline", "people", "records")
    for name, i in rows:
        table.add_row(
            i.id,
            i.status.value,
            name,
            _when(i.facts.detected_at),
            _when(i.notified_at),
            _when(i.deadline),
            str(i.affected.subjects_approx),
            str(i.affected.records_approx),
        )
    Console(width=160).print(table)
