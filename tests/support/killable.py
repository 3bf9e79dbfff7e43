"""A fork server that runs the real `juno` command in child processes a test can SIGKILL.

Start-up of a `juno` process (imports) costs more CPU than the work crash tests kill, and the
crash suites start dozens of them on a shared two-core machine. So this process imports the
CLI and what its commands load lazily once, says `READY`, and then, per request line (a JSON
list of `juno` arguments), forks a child that runs `juno` exactly as the installed entry point
would, with its stdin on /dev/null and its stdout and stderr in files the test named.

It answers `PID <pid>` once the child exists and `EXIT <pid> <wait status>` once it has
reaped it. While a child runs, a `kill` line makes it send SIGKILL to that child (its own
child, by its id, not yet reaped, so the id cannot have been reused). One child at a time.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import traceback

READY = "READY"


def _child(args: list[str], out: str, err: str) -> None:
    """Never returns: runs `juno <args>` and leaves with its exit code."""
    import juno.cli

    code = 1
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        sys.argv = ["juno", *args]
        try:
            juno.cli.main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:
                print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class Lines:
    """Lines from a file descriptor without Python's buffering, so select() tells the truth."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def ready(self, timeout: float) -> bool:
        return b"\n" in self.buffer or bool(select.select([self.fd], [], [], timeout)[0])

    def read(self) -> str | None:
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def serve() -> None:
    # What the children need, imported once here: the CLI, and what its commands load lazily.
    import graph_sync  # noqa: F401
    import juno.cli
    import juno.runtime  # noqa: F401

    requests = Lines(sys.stdin.fileno())
    say(READY)
    while (line := requests.read()) is not None:
        if line == "kill":
            continue  # an order that crossed its child's exit: that child is gone already
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request["args"], request["out"], request["err"])
        say(f"PID {pid}")
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                say(f"EXIT {pid} {status}")
                break
            if requests.ready(0.005):
                order = requests.read()
                if order is None or order == "kill":
                    os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    serve()
