"""`juno ropa`: the record of processing, rendered from the data map."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from juno.errors import UserError
from privacy.datamap import validate
from privacy.removal_modes import parse_mode
from privacy.ropa import record_as_dict, record_as_markdown


def ropa_command(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON.")] = False,
    mode: Annotated[
        str | None,
        typer.Option("--removal-mode", help="Show only what this removal mode does."),
    ] = None,
) -> None:
    """Print the record of processing activities (GDPR Art. 30 / KVKK inventory)."""
    validate()
    try:
        removal_mode = parse_mode(mode) if mode else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(record_as_dict(mode=removal_mode), indent=2, ensure_ascii=False))
    else:
        typer.echo(record_as_markdown(mode=removal_mode), nl=False)
