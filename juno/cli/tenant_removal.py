"""`juno tenant removal`: what removing a user does in one tenant, i.e. the removal mode the
contract names plus per-category overrides (`user.behavior=delete`, ...)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from juno.cli.common import load_settings, run
from juno.cli.tenant import TenantIdOpt, parse_guid, registered_tenant
from juno.errors import UserError
from privacy.policy import override_problems, parse_override
from privacy.removal_modes import parse_mode
from privacy.ropa import record_for_tenant
from storage.repositories import TenantNotFound, TenantRecord, TenantRegistry

app = typer.Typer(help="Removal mode and per-category overrides of a tenant.", no_args_is_help=True)


def _print(record: TenantRecord, as_json: bool) -> None:
    data = record_for_tenant(record)
    rows = {
        s["collection"]: s["on_user_removal"]
        for s in data["stores"]
        if "in_force" in s["on_user_removal"]
    }
    if as_json:
        typer.echo(json.dumps({"tenant": data["tenant"], "stores": rows}, indent=2))
        return
    tenant = data["tenant"]
    overrides = ", ".join(f"{k}={v}" for k, v in tenant["removal_overrides"].items())
    typer.echo(f"removal mode: {tenant['removal_mode']}; overrides: {overrides or 'none'}")
    for store, what in rows.items():
        typer.echo(f"  {store}: {what['in_force']} ({what['decided_by']})")


@app.command("show")
def show(tenant_id: TenantIdOpt, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What removing a user does in this tenant, store by store."""
    _print(registered_tenant(tenant_id), as_json)


@app.command("set")
def set_(
    tenant_id: TenantIdOpt,
    mode: Annotated[str | None, typer.Option("--mode", help="The contract's preset.")] = None,
    override: Annotated[
        list[str] | None,
        typer.Option(help="CATEGORY=STRATEGY, e.g. user.behavior=delete (repeatable)."),
    ] = None,
    clear_overrides: Annotated[bool, typer.Option(help="Drop all overrides first.")] = False,
) -> None:
    """Change the removal mode and/or overrides (only what is given changes)."""
    from juno.runtime import database

    tid = parse_guid(tenant_id, "--tenant-id")
    try:
        preset = parse_mode(mode).value if mode else None
        pairs = dict(parse_override(o) for o in override or [])
    except ValueError as exc:
        raise UserError(str(exc)) from None
    problems = override_problems(pairs)
    if problems:
        raise UserError(problems[0])
    if preset is None and not pairs and not clear_overrides:
        raise UserError("nothing to change: give --mode, --override or --clear-overrides")
    settings = load_settings()

    async def go() -> TenantRecord:
        async with database(settings) as db:
            registry = TenantRegistry(db.db)
            try:
                current = await registry.require(tid)
            except TenantNotFound as exc:
                raise UserError(str(exc)) from None
            merged = {} if clear_overrides else dict(current.removal_overrides)
            merged.update(pairs)
            changes: dict[str, object] = {"removal_overrides": merged}
            if preset:
                changes["removal_mode"] = preset
            return await registry.update(tid, changes)

    _print(run(go()), False)
