"""Running the real `juno` entry point and `juno serve` as subprocesses: environment, ports,
readiness, one-line errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
JUNO = str(Path(sys.executable).with_name("juno"))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs the real `juno` entry point in a subprocess against the test database."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, timeout: float = 120) -> CliResult:
        proc = subprocess.run(
            [JUNO, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNO_", "MONGODB_"))}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(base_url: str, proc: subprocess.Popen[str], within: float = 60) -> None:
    """Poll /readyz of a `juno serve` subprocess until it answers 200."""
    import time
    import urllib.request

    deadline = time.monotonic() + within
    while True:
        try:
            urllib.request.urlopen(f"{base_url}/readyz", timeout=2).close()  # noqa: S310
            return
        except OSError:
            if proc.poll() is not None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"juno serve exited: {err}") from None
            if time.monotonic() > deadline:
                raise AssertionError("juno serve did not become ready") from None
            time.sleep(0.2)


def one_line(text: str) -> str:
    """A CLI's answer to bad input: exactly one readable line, never a traceback."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {text!r}"
    assert "Traceback" not in text
    return lines[0]
