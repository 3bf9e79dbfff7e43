"""`juno serve` as a real process: probes answer, SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.processes import JUNO, base_env, free_port


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - loopback test URL
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def start(env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [JUNO, "serve"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def wait_healthy(port: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early: {proc.stderr.read() if proc.stderr else ''}")
        try:
            status, _ = get(f"http://127.0.0.1:{port}/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("serve did not become healthy")


def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err


def test_serve_probes_and_graceful_stop(mongo_uri: str, db_name: str, tmp_path: Path) -> None:
    port = free_port()
    env = base_env(MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name, JUNO_PORT=str(port))
    proc = start(env, tmp_path)
    try:
        wait_healthy(port, proc)
        assert get(f"http://127.0.0.1:{port}/healthz") == (
            200,
            {"status": "ok", "database": "reachable"},
        )
        assert get(f"http://127.0.0.1:{port}/readyz") == (200, {"status": "ready"})
    finally:
        code, err = stop(proc)
    assert code == 0, err
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    messages = [e["event"] for e in events]
    assert "juno serving" in messages and "stopped" in messages
    assert all("level" in e and "timestamp" in e for e in events)
    assert "Traceback" not in err


def test_serve_on_embedded_defaults(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(JUNO_PORT=str(port), JUNO_DATA_DIR=str(tmp_path / "var"))
    proc = start(env, tmp_path)
    try:
        wait_healthy(port, proc)
        assert (tmp_path / "var" / "embedded-mongo.json").exists()
    finally:
        code, err = stop(proc)
    assert code == 0, err
    assert "using the embedded database" in err
    assert (tmp_path / "var" / "juno.sqlite3").exists()
    assert not (tmp_path / "var" / "embedded-mongo.json").exists()


def test_busy_port_is_one_readable_line(mongo_uri: str, db_name: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = base_env(MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name, JUNO_PORT=str(port))
        proc = subprocess.run(
            [JUNO, "serve"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines()[-1].startswith(f"error: cannot listen on 127.0.0.1:{port}")
    )
    assert "Traceback" not in proc.stderr


def test_metrics_count_requests_and_database_commands(
    mongo_uri: str, db_name: str, tmp_path: Path
) -> None:
    port = free_port()
    env = base_env(MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name, JUNO_PORT=str(port))
    proc = start(env, tmp_path)
    try:
        wait_healthy(port, proc)
        for _ in range(3):
            get(f"http://127.0.0.1:{port}/healthz")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    finally:
        stop(proc)
    values = dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert int(values['juno_http_requests_total{path="/healthz",status="200"}']) >= 4
    assert int(values["juno_db_commands_total"]) >= 4  # a ping per probe, plus start-up
