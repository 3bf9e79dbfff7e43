"""`juno chat` driven in a subprocess through a whole first-contact flow against `juno serve`
in dev mode, as a newcomer would after `make run`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from storage.repositories import TenantRecord
from tests.conftest import JUNO, base_env, free_port, wait_ready

TENANT = "d3300000-0000-4000-8000-000000000001"
USER = "d3300000-0000-4000-8000-0000000000aa"


@pytest.fixture
def dev_serve(mongo_uri: str, db_name: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """`juno serve` in dev mode (as `make run` starts it) with one tenant; yields its env."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    with client:
        record = TenantRecord(tenant_id=TENANT, name="Demo", default_locale="en")
        client[db_name]["tenants"].insert_one(record.to_document())
    port = free_port()
    env = base_env(
        MONGODB_URI=mongo_uri, JUNO_DB_NAME=db_name, JUNO_PORT=str(port), JUNO_BOT_DEV_MODE="1"
    )
    serve = subprocess.Popen(
        [JUNO, "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", serve)
        yield env
    finally:
        serve.terminate()
        serve.communicate(timeout=30)


def test_chat_walks_through_first_contact(dev_serve: dict[str, str], tmp_path: Path) -> None:
    env = dev_serve
    # 1 = acknowledge the notice; then the EULA card is re-sent alone, so 1 = accept.
    script = "hello\n1\n1\nmy consents\nnonsense words\n\n"
    chat = subprocess.run(
        [JUNO, "chat", "--tenant", TENANT, "--user", USER, "--locale", "en"],
        env=env, cwd=tmp_path, input=script, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "PRIVACY NOTICE (VERSION 1)" in out
    assert "[1] I have read and understood" in out
    assert "[2] I accept" in out and "[3] I decline" in out
    assert "Before I can help with that" in out
    assert "your acknowledgement of the privacy notice (version 1) is recorded" in out
    assert "you accepted the terms of use (version 1)" in out
    assert "YOUR CONSENT RECORD" in out
    assert "terms of use v1 accepted" in out and "privacy notice v1 acknowledged" in out
    assert 'I found no one for "nonsense words"' in out
    assert out.index("is recorded") < out.index("you accepted") < out.index("YOUR CONSENT")


def test_chat_explains_a_missing_server(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(JUNO_PORT=str(port))
    chat = subprocess.run(
        [JUNO, "chat", "--tenant", TENANT], env=env, cwd=tmp_path, input="hi\n",
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert chat.returncode == 1
    assert chat.stderr.strip() == (
        f"error: cannot reach http://127.0.0.1:{port}: is `juno serve` running?"
    )


def test_chat_saves_an_export_the_user_accepts(dev_serve: dict[str, str], tmp_path: Path) -> None:
    """The export arrives after the turn (proactively, as in Teams) as a file offer; picking
    "save" uploads it the way Teams does, here into the current folder."""
    import queue
    import threading
    import zipfile

    env = dev_serve
    lines: queue.Queue[str] = queue.Queue()

    def wait_for(text: str) -> None:
        while text not in lines.get(timeout=60):
            pass

    chat = subprocess.Popen(
        [JUNO, "chat", "--tenant", TENANT, "--user", USER, "--locale", "en"],
        env=env, cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert chat.stdin is not None and chat.stdout is not None
    stdout = chat.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    wait_for("I have read and understood")
    chat.stdin.write("export my data\n")
    chat.stdin.flush()
    wait_for("Save it in this folder")
    chat.stdin.write("1\n")
    chat.stdin.flush()
    wait_for("FILE juno-export-")
    chat.stdin.write("\n")
    chat.stdin.flush()
    assert chat.wait(timeout=60) == 0
    [saved] = list(tmp_path.glob("juno-export-*.zip"))
    with zipfile.ZipFile(saved) as archive:
        assert "data.json" in archive.namelist()
