"""`juno tenant`: the customer tenant registry."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from juno.cli.common import load_settings, run
from juno.errors import UserError
from privacy.consent import LegalDocument
from privacy.removal_modes import DEFAULT_REMOVAL_MODE, parse_mode
from storage.collections import Coll
from storage.repositories import (
    ControllerDetails,
    GraphCredentials,
    TenantExists,
    TenantNotFound,
    TenantRecord,
    TenantRegistry,
    TenantStore,
)

app = typer.Typer(help="Register and configure customer tenants.", no_args_is_help=True)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

TenantIdOpt = Annotated[
    str, typer.Option("--tenant-id", "--tenant", help="Entra tenant id (GUID).")
]


def parse_guid(value: str, what: str) -> str:
    """Entra ids are GUIDs; accept any case/braces, store the canonical lower-case form."""
    try:
        parsed = uuid.UUID(value.strip())
    except (ValueError, AttributeError):
        raise UserError(
            f"{what} must be a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47, got {value!r}"
        ) from None
    return str(parsed)


def registered_tenant(tenant_id: str) -> TenantRecord:
    """The tenant's registry entry, or one readable error line if it is not registered."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    settings = load_settings()

    async def go() -> TenantRecord:
        async with database(settings) as db:
            try:
                return await TenantRegistry(db.db).require(tid)
            except TenantNotFound as exc:
                raise UserError(str(exc)) from None

    record: TenantRecord = run(go())
    return record


def _graph_credentials(
    client_id: str | None, secret_env: str | None, certificate: Path | None
) -> GraphCredentials | None:
    if client_id is None:
        if secret_env or certificate:
            raise UserError("--client-secret-env/--certificate need --client-id")
        return None
    if bool(secret_env) == bool(certificate):
        raise UserError("give exactly one of --client-secret-env VAR or --certificate PATH")
    if secret_env and not _ENV_NAME.match(secret_env):
        raise UserError(
            f"--client-secret-env takes the NAME of an environment variable, got {secret_env!r}"
        )
    if certificate and not certificate.is_file():
        raise UserError(f"certificate file {certificate} does not exist")
    return GraphCredentials(
        client_id=parse_guid(client_id, "--client-id"),
        client_secret_env=secret_env,
        certificate_path=str(certificate.resolve()) if certificate else None,
    )


def _public(record: TenantRecord) -> dict[str, Any]:
    return record.model_dump(mode="json")


@app.command("add")
def add(
    tenant_id: TenantIdOpt,
    name: Annotated[str, typer.Option("--name", help="Customer's display name.")],
    client_id: Annotated[
        str | None, typer.Option(help="Entra app (client) id for Graph; default JUNO_GRAPH_APP_ID.")
    ] = None,
    client_secret_env: Annotated[
        str | None, typer.Option(help="Name of the env var holding the client secret.")
    ] = None,
    certificate: Annotated[
        Path | None, typer.Option(help="PEM file with the app's certificate and private key.")
    ] = None,
    removal_mode: Annotated[str, typer.Option(help="What removing a user does.")] = str(
        DEFAULT_REMOVAL_MODE
    ),
    locale: Annotated[str, typer.Option(help="Default language: tr or en.")] = "tr",
    admin: Annotated[
        list[str] | None, typer.Option(help="Entra object id of a tenant admin (repeatable).")
    ] = None,
) -> None:
    """Register a customer tenant."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    if not name.strip():
        raise UserError("--name must not be empty")
    if locale not in ("tr", "en"):
        raise UserError(f"--locale must be tr or en, got {locale!r}")
    try:
        mode = parse_mode(removal_mode)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    settings = load_settings()
    if client_id is None and settings.graph_app_id:
        # Our multi-tenant directory app (docs/install.md): the customer consents to it.
        client_id = settings.graph_app_id
        if not client_secret_env and not certificate:
            certificate = settings.graph_cert_path
            client_secret_env = None if certificate else settings.graph_client_secret_env
    record = TenantRecord(
        tenant_id=tid,
        name=name.strip(),
        removal_mode=mode.value,
        default_locale=locale,
        graph=_graph_credentials(client_id, client_secret_env, certificate),
    )
    record.admins = record.with_admins([parse_guid(a, "--admin") for a in admin or []])

    async def go() -> None:
        async with database(settings) as db:
            try:
                await TenantRegistry(db.db).add(record)
            except TenantExists as exc:
                raise UserError(str(exc)) from None

    run(go())
    typer.echo(f"tenant {tid} ({record.name}) registered")
    if record.graph is None:
        typer.echo("no Graph credentials yet: add them with `juno tenant set` before syncing")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List registered tenants."""
    from juno.runtime import database

    settings = load_settings()

    async def go() -> list[TenantRecord]:
        async with database(settings) as db:
            return await TenantRegistry(db.db).list_all()

    records: list[TenantRecord] = run(go())
    if as_json:
        typer.echo(json.dumps([_public(r) for r in records], indent=2))
        return
    table = Table("tenant id", "name", "enabled", "removal mode", "graph")
    for r in records:
        table.add_row(
            r.tenant_id,
            r.name,
            "yes" if r.enabled else "no",
            r.removal_mode,
            "configured" if r.graph else ("demo" if r.demo else "missing"),
        )
    Console().print(table)


@app.command("show")
def show(tenant_id: TenantIdOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show one tenant: settings, and how many records each store holds for it."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    settings = load_settings()

    async def go() -> tuple[TenantRecord | None, dict[str, int], dict[str, Any], Any]:
        from graph_sync import StateStore
        from graph_sync.subscriptions import SubscriptionStore
        from privacy.tenant_purge import remaining

        async with database(settings) as db:
            record = await TenantRegistry(db.db).get(tid)
            # The same count the purge proves itself with: every store of the data map.
            held = await remaining(TenantStore(db.db, tid))
            counts = {**held.records, Coll.DESTRUCTION_LOG.value: held.log_entries}
            state = await StateStore(db.db, tid).load()
            sync = {
                "last_run": state.last_run,
                "runs_recorded": len(state.runs),
                "lease_holder": state.lease_holder,
                "lease_until": state.lease_until,
                "delta_link_saved": state.delta_link is not None,
            }
            subscription = await SubscriptionStore(db.db, tid).view()
            return record, counts, sync, subscription

    record, counts, sync, subscription = run(go())
    if record is None:
        _show_unregistered(tid, counts, as_json)
        return
    if as_json:
        body = {
            "tenant": _public(record),
            "records": counts,
            "sync": sync,
            "subscription": subscription.to_dict() if subscription else None,
        }
        typer.echo(json.dumps(body, indent=2, default=str))
        return
    console = Console()
    table = Table("setting", "value", title=f"{record.name} ({record.tenant_id})")
    for key, value in _public(record).items():
        table.add_row(key, json.dumps(value) if not isinstance(value, str) else value)
    console.print(table)
    counts_table = Table("store", "records", title="records held")
    for coll in Coll:
        if coll.value in counts:
            counts_table.add_row(coll.value, str(counts[coll.value]))
    console.print(counts_table)
    sync_table = Table("sync", "value", title="directory sync")
    last = sync["last_run"] or {}
    for key in ("status", "started_at", "finished_at", "created", "updated", "hidden", "removed",
                "pages", "seconds", "error"):  # fmt: skip
        if last.get(key) is not None:
            sync_table.add_row(key, str(last[key]))
    if not last:
        sync_table.add_row("last run", "never")
    if sync["lease_holder"]:
        sync_table.add_row("lease", f"{sync['lease_holder']} until {sync['lease_until']}")
    if subscription is not None:  # Graph change notifications (juno graph subscriptions)
        sync_table.add_row("notifications", subscription.status)
        sync_table.add_row("subscription expires", str(subscription.expires_at or "-"))
        sync_table.add_row("last notification", str(subscription.last_notification_at or "-"))
    console.print(sync_table)


def _show_unregistered(tid: str, counts: dict[str, int], as_json: bool) -> None:
    """After a purge only the destruction log remains; saying so (exit 0) is the proof."""
    log_entries = counts.get(Coll.DESTRUCTION_LOG.value, 0)
    leftover = sum(n for name, n in counts.items() if name != Coll.DESTRUCTION_LOG.value)
    if leftover or not log_entries:
        raise UserError(f"tenant {tid} is not registered ({leftover} records held for it)")
    if as_json:
        typer.echo(json.dumps({"tenant": None, "records": counts}, indent=2))
        return
    typer.echo(
        f"tenant {tid} is not registered and no records are held for it; "
        f"{log_entries} destruction-log entries are kept as proof"
    )


@app.command("set")
def set_(
    tenant_id: TenantIdOpt,
    name: Annotated[str | None, typer.Option()] = None,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled")] = None,
    removal_mode: Annotated[str | None, typer.Option()] = None,
    kpi_retention_days: Annotated[int | None, typer.Option()] = None,
    kpi_min_users: Annotated[
        int | None,
        typer.Option(help="k-anonymity: fewer people on a day and its usage total is dropped."),
    ] = None,
    sync_interval_minutes: Annotated[int | None, typer.Option()] = None,
    locale: Annotated[str | None, typer.Option()] = None,
    client_id: Annotated[str | None, typer.Option()] = None,
    client_secret_env: Annotated[str | None, typer.Option()] = None,
    certificate: Annotated[Path | None, typer.Option()] = None,
    add_admin: Annotated[list[str] | None, typer.Option()] = None,
    remove_admin: Annotated[list[str] | None, typer.Option()] = None,
    controller_name: Annotated[
        str | None, typer.Option(help="The controller's legal name (KVKK Art. 10).")
    ] = None,
    controller_address: Annotated[str | None, typer.Option(help="Its address.")] = None,
    controller_email: Annotated[str | None, typer.Option(help="Its contact e-mail.")] = None,
    dpo_contact: Annotated[
        str | None, typer.Option(help="Data protection contact person / DPO.")
    ] = None,
    verbis_id: Annotated[str | None, typer.Option(help="VERBİS registry number.")] = None,
    representative: Annotated[
        str | None, typer.Option(help="Representative (controllers established abroad).")
    ] = None,
    legal_basis: Annotated[
        list[str] | None,
        typer.Option(help="STORE=BASIS where the law leaves a choice, e.g. profiles=contract."),
    ] = None,
    republish_notice: Annotated[
        bool,
        typer.Option(
            "--republish-notice",
            help="Allow a longer KPI window than the notice in force promises (publishes a "
            "new notice version; users are asked again).",
        ),
    ] = False,
) -> None:
    """Change a tenant's settings; only the options given change. A change the privacy notice
    states (controller details, legal bases, KPI window) publishes the derived notice as a new
    version."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    changes: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise UserError("--name must not be empty")
        changes["name"] = name.strip()
    if enabled is not None:
        changes["enabled"] = enabled
    if removal_mode is not None:
        try:
            changes["removal_mode"] = parse_mode(removal_mode).value
        except ValueError as exc:
            raise UserError(str(exc)) from None
    if kpi_retention_days is not None:
        changes["kpi_retention_days"] = kpi_retention_days
    if kpi_min_users is not None:
        changes["kpi_min_users"] = kpi_min_users
    if sync_interval_minutes is not None:
        changes["sync_interval_minutes"] = sync_interval_minutes
    if locale is not None:
        if locale not in ("tr", "en"):
            raise UserError(f"--locale must be tr or en, got {locale!r}")
        changes["default_locale"] = locale
    if client_id or client_secret_env or certificate:
        changes["graph"] = _graph_credentials(client_id, client_secret_env, certificate)
    adds = [parse_guid(a, "--add-admin") for a in add_admin or []]
    removes = {parse_guid(a, "--remove-admin") for a in remove_admin or []}
    controller = {
        k: v
        for k, v in {
            "legal_name": controller_name,
            "address": controller_address,
            "email": controller_email,
            "dpo_contact": dpo_contact,
            "verbis_id": verbis_id,
            "representative": representative,
        }.items()
        if v is not None
    }
    bases = _legal_bases(legal_basis or [])
    if not changes and not adds and not removes and not controller and not bases:
        raise UserError("nothing to change: give at least one option (see --help)")
    settings = load_settings()

    async def go() -> tuple[TenantRecord, LegalDocument | None]:
        from juno.legal import deployment_subprocessors
        from privacy.notice import NoticeRuleError, check_change, republish_if_changed

        async with database(settings) as db:
            registry = TenantRegistry(db.db)
            store = TenantStore(db.db, tid)
            try:
                current = await registry.require(tid)
                if adds or removes:
                    changes["admins"] = current.with_admins(adds, removes)
                if controller:
                    changes["controller"] = _controller(current, controller)
                if bases:
                    changes["legal_bases"] = {**current.legal_bases, **bases}
                await check_change(store, changes, republish=republish_notice)
                record = await registry.update(tid, changes)
            except (TenantNotFound, NoticeRuleError) as exc:
                raise UserError(str(exc)) from None
            except ValidationError as exc:
                raise UserError(_invalid(exc)) from None
            published = await republish_if_changed(
                store,
                record,
                published_by=None,
                subprocessors=deployment_subprocessors(settings),
            )
            return record, published

    record, published = run(go())
    named = sorted({*changes, *(["admins"] if adds or removes else [])})
    typer.echo(f"tenant {tid} updated: {', '.join(named)}")
    if published is not None:
        typer.echo(
            f"privacy notice version {published.version} published from the new settings; "
            "users are asked to read it on their next contact"
        )
    if record.enabled is False:
        typer.echo("the tenant is disabled: its users get a polite refusal and no data")


def _invalid(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    return f"invalid {prefix}{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def _controller(current: TenantRecord, given: dict[str, str]) -> ControllerDetails:
    """The entered details over the stored ones; an empty value clears an optional one."""
    before = current.controller.model_dump() if current.controller else {}
    try:
        return ControllerDetails.model_validate(
            {**before, **{k: v or None for k, v in given.items()}}
        )
    except ValidationError as exc:
        raise UserError(_invalid(exc, "controller.")) from None


def _legal_bases(pairs: list[str]) -> dict[str, str]:
    from privacy.datamap import check_legal_bases

    found: dict[str, str] = {}
    for pair in pairs:
        store, sep, basis = pair.partition("=")
        if not sep or not store.strip() or not basis.strip():
            raise UserError(f"--legal-basis takes STORE=BASIS, got {pair!r}")
        found[store.strip()] = basis.strip()
    try:
        check_legal_bases(found)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return found


@app.command("consent-url")
def consent_url(
    tenant_id: TenantIdOpt,
    client_id: Annotated[
        str | None, typer.Option(help="App id; defaults to the tenant's Graph client id.")
    ] = None,
    redirect_uri: Annotated[str | None, typer.Option(help="Where Entra returns after.")] = None,
) -> None:
    """Print the admin-consent link a tenant admin opens to grant Graph User.Read.All to the
    directory app (the tenant's, else JUNO_GRAPH_APP_ID)."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    settings = load_settings()
    cid = parse_guid(client_id, "--client-id") if client_id else None
    if cid is None:

        async def go() -> TenantRecord | None:
            async with database(settings) as db:
                return await TenantRegistry(db.db).get(tid)

        record = run(go())
        if record is not None and record.graph is not None:
            cid = record.graph.client_id
        elif settings.graph_app_id:  # our directory app, before the tenant is registered
            cid = parse_guid(settings.graph_app_id, "JUNO_GRAPH_APP_ID")
        else:
            raise UserError(
                "give --client-id, set JUNO_GRAPH_APP_ID, or register the tenant with "
                "--client-id first"
            )
    from bot.cards.admin import admin_consent_url  # the admin card offers the same link

    typer.echo(admin_consent_url(settings.authority_host, tid, cid, redirect_uri))
