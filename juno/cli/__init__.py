"""The `juno` command: the operators' tool. Tenant admins never need it (they use Teams)."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from juno.cli import (
    access_review,
    chat,
    db,
    dsr,
    graph,
    incident,
    manifest,
    processor,
    retention,
    ropa,
    serve,
    sync,
    tenant,
    tenant_admins,
    tenant_lifecycle,
    tenant_removal,
)
from juno.errors import OperationError, UserError
from juno.logs import redact_value
from storage import StorageError

app = typer.Typer(
    name="juno",
    help="JUNO for Teams: operate the directory bot (serve, tenants, database, privacy records).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


# The subcommands, registered once; none of them imports this package back.
app.command("serve")(serve.serve_command)
app.command("chat")(chat.chat_command)
app.command("sync")(sync.sync_command)
app.command("ropa")(ropa.ropa_command)
app.add_typer(db.app, name="db")
app.add_typer(tenant.app, name="tenant")
# Data-subject rights and retention.
tenant.app.add_typer(tenant_admins.app, name="admins")
tenant.app.add_typer(tenant_removal.app, name="removal")
tenant.app.command("export")(tenant_lifecycle.export_command)
tenant.app.command("purge")(tenant_lifecycle.purge_command)
app.add_typer(dsr.app, name="dsr")
app.add_typer(retention.app, name="retention")
app.command("access-review")(access_review.access_review_command)
# Processor duties: incidents, sub-processors, the security summary.
app.add_typer(incident.app, name="incident")
app.command("subprocessors")(processor.subprocessors_command)
app.command("security-summary")(processor.security_summary_command)
app.add_typer(manifest.app, name="manifest")
app.add_typer(graph.app, name="graph")


def main() -> None:
    try:
        app(standalone_mode=True)
    except (UserError, OperationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # A bug, not bad input: one line for the operator, the traceback only when asked for.
        if os.environ.get("JUNO_DEBUG"):
            traceback.print_exc()
        print(
            f"error: unexpected {type(exc).__name__}: {redact_value(str(exc))[:300]} "
            "(set JUNO_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
