"""`juno ropa`: the record of processing, rendered from the data map."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from juno.errors import UserError
from privacy.datamap import validate
from privacy.removal_modes import parse_mode
from privacy.ropa import (
    record_as_dict,
    record_as_markdown,
    record_for_tenant,
    tenant_record_as_markdown,
)


def ropa_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    mode: Annotated[
        str | None,
        typer.Option("--removal-mode", help="Show only what this removal mode does."),
    ] = None,
    tenant_id: Annotated[
        str | None,
        typer.Option("--tenant-id", "--tenant", help="As it applies to one tenant: mode in force."),
    ] = None,
) -> None:
    """Print the record of processing activities (GDPR Art. 30 / KVKK inventory)."""
    validate()
    try:
        removal_mode = parse_mode(mode) if mode else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if tenant_id is not None:
        if removal_mode is not None:
            raise UserError("--tenant shows the tenant's own mode; drop --removal-mode")
        _for_tenant(tenant_id, as_json)
        return
    if as_json:
        typer.echo(json.dumps(record_as_dict(mode=removal_mode), indent=2, ensure_ascii=False))
    else:
        typer.echo(record_as_markdown(mode=removal_mode), nl=False)


def _for_tenant(tenant_id: str, as_json: bool) -> None:
    from juno.cli.tenant import registered_tenant

    record = registered_tenant(tenant_id)
    if as_json:
        typer.echo(json.dumps(record_for_tenant(record), indent=2, ensure_ascii=False))
    else:
        typer.echo(tenant_record_as_markdown(record), nl=False)
