"""Pieces the benchmark scripts share: a database server in its own process, so the figures keep
the database's CPU apart from ours, and `juno serve` in its own process with a fake Bot
Connector and signed tokens (tests/support/bot_harness.py), so the bot is measured as Teams reaches it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.support.bot_harness import BOT_APP_ID, BOT_SECRET, Peers
from tests.support.processes import free_port, wait_ready

REPO = Path(__file__).resolve().parent.parent
JUNO = str(Path(sys.executable).with_name("juno"))
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process now (VmRSS), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def juno_serve(
    peers: Peers, uri: str, db_name: str, *, stderr: IO[str] | int = subprocess.DEVNULL
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`juno serve` against `uri`/`db_name`, trusting the peers' signing key and talking to
    their connector and token authority; yields its base URL and process once it is ready."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "MONGODB_URI": uri,
            "JUNO_DB_NAME": db_name,
            "JUNO_PORT": str(port),
            "JUNO_LOG_LEVEL": "WARNING",
            "JUNO_BOT_APP_ID": BOT_APP_ID,
            "JUNO_BOT_APP_SECRET": BOT_SECRET,
            "JUNO_BOT_OPENID_METADATA_URL": peers.metadata_url,
            "JUNO_BOT_VALIDATE_SERVICE_URL": "0",
            "JUNO_AUTHORITY_HOST": peers.authority_host,
            "REQUESTS_CA_BUNDLE": peers.ca_file(f"{tmp}/ca.pem"),
        }
        serve = subprocess.Popen([JUNO, "serve"], env=env, cwd=tmp, stderr=stderr, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, serve)
            yield base, serve
        finally:
            serve.terminate()
            serve.wait(30)
