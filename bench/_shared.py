"""Pieces the benchmark scripts share: a database server in its own process, so the figures keep
the database's CPU apart from ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_DB_SERVER = (
    "import sys\n"
    "from storage.embedded import EmbeddedMongo\n"
    "s = EmbeddedMongo(engine='memory'); print(s.start(), flush=True)\n"
    "sys.stdin.read()\n"
)
EMBEDDED_NAME = "embedded mongoeco wire server (memory engine, separate process)"


def start_embedded_db() -> tuple[subprocess.Popen[str], str]:
    """Start the embedded memory engine in a child process; returns it and its URI."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _DB_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()
