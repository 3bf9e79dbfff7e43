"""`juno access-review`: who holds tenant admin rights and since when; record a review; flag
tenants not reviewed for 90 days."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from juno.cli.common import load_settings, run
from juno.cli.tenant import parse_guid
from juno.errors import UserError
from privacy.access import AccessError, ReviewStatus, record_review, review_status
from storage.repositories import TenantNotFound, TenantStore


def _date(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d") if value else "unknown"


def access_review_command(
    tenant_id: Annotated[
        str | None, typer.Option("--tenant-id", "--tenant", help="One tenant in detail.")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Record that the admin list was reviewed.")
    ] = False,
    reviewer: Annotated[str | None, typer.Option(help="Who reviewed (with --record).")] = None,
    note: Annotated[str | None, typer.Option(help="Optional note (with --record).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
) -> None:
    """List tenant admins and access reviews; reviews older than 90 days are flagged."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id") if tenant_id else None
    if record and (tid is None or not (reviewer or "").strip()):
        raise UserError("--record needs --tenant and --reviewer NAME")
    if not record and (reviewer or note):
        raise UserError("--reviewer and --note go with --record")
    settings = load_settings()

    async def go() -> list[ReviewStatus]:
        async with database(settings) as db:
            try:
                if record and tid is not None:
                    await record_review(TenantStore(db.db, tid), reviewer=reviewer or "", note=note)
                return await review_status(db.db, tenant_id=tid)
            except (TenantNotFound, AccessError) as exc:
                raise UserError(str(exc)) from None

    statuses: list[ReviewStatus] = run(go())
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in statuses], indent=2))
        return
    if record:
        typer.echo(f"access review of tenant {tid} recorded")
    console = Console(width=140)
    if tid is None:
        table = Table("", "tenant id", "name", "admins", "last review", "reviewer")
        for s in statuses:
            table.add_row(
                "REVIEW DUE" if s.overdue else "",
                s.tenant_id,
                s.name,
                str(len(s.admins)),
                _date(s.last.reviewed_at) if s.last else "never",
                s.last.reviewer if s.last else "",
            )
        console.print(table)
        return
    [s] = statuses
    last = f"{_date(s.last.reviewed_at)} by {s.last.reviewer}" if s.last else "never"
    flag = " — REVIEW DUE (older than 90 days)" if s.overdue else ""
    typer.echo(f"{s.name} ({s.tenant_id}): last access review {last}{flag}")
    if not s.admins:
        typer.echo("no tenant admins")
        return
    table = Table("admin (Entra object id)", "since")
    for grant in s.admins:
        table.add_row(grant.user_id, _date(grant.since))
    console.print(table)
