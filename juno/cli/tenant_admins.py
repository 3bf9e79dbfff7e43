"""`juno tenant admins`: the tenant admin role, with the date each admin got it."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any

import typer

from juno.cli.common import load_settings, run
from juno.cli.tenant import TenantIdOpt, parse_guid
from juno.errors import UserError
from privacy.access import AccessError, grant_admin, revoke_admin
from storage.repositories import TenantNotFound, TenantRecord, TenantRegistry

app = typer.Typer(help="Tenant admins (who gets admin cards in Teams).", no_args_is_help=True)
UserOpt = Annotated[str, typer.Option("--user", help="The admin's Entra object id (GUID).")]


def _go(work: Any) -> TenantRecord:
    from juno.runtime import database

    settings = load_settings()

    async def go() -> TenantRecord:
        async with database(settings) as db:
            try:
                record: TenantRecord = await work(db.db)
                return record
            except (TenantNotFound, AccessError) as exc:
                raise UserError(str(exc)) from None

    result: TenantRecord = run(go())
    return result


@app.command("add")
def add(tenant_id: TenantIdOpt, user: UserOpt) -> None:
    """Grant the admin role (dated today)."""
    tid, uid = parse_guid(tenant_id, "--tenant-id"), parse_guid(user, "--user")
    _go(lambda db: grant_admin(db, tid, uid))
    typer.echo(f"{uid} is now an admin of tenant {tid}")


@app.command("remove")
def remove(tenant_id: TenantIdOpt, user: UserOpt) -> None:
    """Revoke the admin role."""
    tid, uid = parse_guid(tenant_id, "--tenant-id"), parse_guid(user, "--user")
    _go(lambda db: revoke_admin(db, tid, uid))
    typer.echo(f"{uid} is no longer an admin of tenant {tid}")


@app.command("list")
def list_(tenant_id: TenantIdOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List admins and since when they hold the role."""
    tid = parse_guid(tenant_id, "--tenant-id")
    record = _go(lambda db: TenantRegistry(db).require(tid))
    if as_json:
        typer.echo(json.dumps([g.model_dump(mode="json") for g in record.admins], indent=2))
        return
    if not record.admins:
        typer.echo(f"tenant {tid} has no admins")
    for grant in record.admins:
        since = grant.since.astimezone(UTC).strftime("%Y-%m-%d") if grant.since else "unknown"
        typer.echo(f"{grant.user_id}  since {since}")
