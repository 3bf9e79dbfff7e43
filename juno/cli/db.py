"""`juno db`: database maintenance."""

from __future__ import annotations

import typer

from juno.cli.common import load_settings, run
from storage import migrate

app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@app.command("migrate")
def migrate_command() -> None:
    """Create missing collections and indexes (also done at every start; safe to repeat)."""
    from juno.runtime import open_db

    settings = load_settings()

    async def go() -> None:
        db = await open_db(settings)
        try:
            created = await migrate(db.db)
            names = ", ".join(created) if created else "none"
            typer.echo(f"database {settings.db_name} on {db.server_name}: up to date")
            typer.echo(f"collections created now: {names}")
        finally:
            await db.close()

    run(go())
