"""`juno chat` driven in a subprocess through a whole first-contact flow against `juno serve`
in dev mode, as a newcomer would after `make run`."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from storage.repositories import TenantRecord
from tests.support.processes import JUNO, base_env, free_port, wait_ready

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


class Driver:
    """`juno chat` in a subprocess, typed into line by line, waiting for what it prints."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [JUNO, "chat", "--tenant", TENANT, "--user", USER, "--locale", "en"],
            env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, stdout = self.proc.stdin, self.proc.stdout
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []

        def pump() -> None:
            for line in stdout:
                self.lines.put(line)

        threading.Thread(target=pump, daemon=True).start()

    def wait_for(self, text: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=60)
            except queue.Empty:
                raise AssertionError(f"no {text!r} in: {''.join(self.seen)[-2000:]}") from None
            self.seen.append(line)
            if text in line:
                return line

    def button(self, title: str) -> str:
        """Wait for a card button and return its number, as the user would read it."""
        line = self.wait_for(f"] {title}")
        return line.split("[", 1)[1].split("]", 1)[0]

    def type(self, *lines: str) -> None:
        self.stdin.write("".join(f"{line}\n" for line in lines))
        self.stdin.flush()

    def quit(self) -> int:
        self.type("")
        return self.proc.wait(timeout=60)


def test_chat_saves_an_export_the_user_accepts(dev_serve: dict[str, str], tmp_path: Path) -> None:
    """The export arrives after the turn (proactively, as in Teams) as a file offer; picking
    "save" uploads it the way Teams does, here into the current folder."""
    chat = Driver(dev_serve, tmp_path)
    chat.wait_for("I have read and understood")
    chat.type("export my data")
    chat.wait_for("Save it in this folder")
    chat.type("1")
    chat.wait_for("FILE juno-export-")
    assert chat.quit() == 0
    [saved] = list(tmp_path.glob("juno-export-*.zip"))
    with zipfile.ZipFile(saved) as archive:
        assert "data.json" in archive.namelist()


def test_chat_asks_for_a_cards_inputs(
    dev_serve: dict[str, str], mongo_uri: str, db_name: str, tmp_path: Path
) -> None:
    """A card with inputs (here the correction form) is filled in on the terminal: a choice
    by its number, text as typed, sent with the button like Teams does."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri, tz_aware=True)
    with client:
        client[db_name]["profiles"].insert_one(
            {"_id": f"{TENANT}:{USER}", "tkey": f"{TENANT}:{USER}", "tenant_id": TENANT,
             "user_id": USER, "display_name": "Deniz Demir", "given_name": "Deniz",
             "surname": "Demir", "department": "Finans"}
        )  # fmt: skip
        chat = Driver(dev_serve, tmp_path)
        chat.type(chat.button("I have read and understood"))
        chat.wait_for("privacy notice (version 1) is recorded")
        chat.type(chat.button("I accept"))  # the terms' card, sent again on its own
        chat.wait_for("you accepted the terms of use")
        chat.type("my profile")
        chat.type(chat.button("Suggest a correction"))
        chat.type(chat.button("Send request"), "2", "Hazine")  # field 2 = Department
        chat.wait_for("Your correction request r")
        assert chat.quit() == 0
        [request] = client[db_name]["dsr_requests"].find({"tenant_id": TENANT}).to_list()
    assert json.loads(request["details"]) == {"field": "department", "value": "Hazine"}


# --- What the terminal shows, without a server ----------------------------------------------


def test_chat_buttons_carry_only_the_inputs_they_take() -> None:
    """ "Sync now" on the admin desk must not ask for "Reason for a rejection": a button with
    `associatedInputs: none` sends (and asks for) no input; "Reject" still does."""
    from bot.cards.blocks import card_of, submit
    from juno.chat.render import FORM, render_activity

    desk = card_of(
        [
            {"type": "Input.Text", "id": "reason", "label": "Reason for a rejection"},
            {"type": "ActionSet", "actions": [submit("Sync now", "admin_sync", inputs=False)]},
            {"type": "ActionSet", "actions": [submit("Reject r1", "dsr_reject", id="r1")]},
        ]
    )
    shown = render_activity({"attachments": [{"content": desk}]}, 1)
    sync, reject = dict(shown.actions)["Sync now"], dict(shown.actions)["Reject r1"]
    assert FORM not in sync
    assert [f["id"] for f in reject[FORM]] == ["reason"]


def test_chat_lists_people_as_numbered_rows_and_capitalizes_turkish_right() -> None:
    from bot.cards.blocks import card_of
    from bot.cards.people import person_row
    from juno.chat.render import render_activity

    people = card_of(
        [
            {"type": "TextBlock", "text": "Neler yapabilirim", "weight": "Bolder"},
            person_row({"user_id": "u1", "display_name": "Işık İnce", "job_title": "Analist"}),
        ]
    )
    shown = render_activity({"attachments": [{"content": people}]}, 4, "tr")
    assert shown.lines[0] == "NELER YAPABİLİRİM"
    assert shown.lines[-1] == "  [4] Işık İnce · Analist"
    assert shown.actions == [("Işık İnce · Analist", {"juno": "person", "user_id": "u1"})]


async def test_chat_asks_in_the_chosen_language_with_readable_labels() -> None:
    import io

    from bot.cards.admin import publish_card
    from juno.chat.client import ChatSession
    from juno.chat.render import inputs_of

    answers = iter(["2", "metin", ""])

    async def read_line() -> str:
        return next(answers)

    out = io.StringIO()
    session = ChatSession(
        url="http://127.0.0.1:9", tenant=TENANT, user=USER, locale="tr", out=out,
        read_line=read_line,
    )  # fmt: skip
    values = await session._fill(inputs_of(publish_card("tr")["body"]))
    assert values == {"kind": "eula", "text_tr": "metin", "text_en": ""}
    printed = out.getvalue()
    assert "Hangi belge:" in printed and "kind:" not in printed
    assert "(geçerli)" in printed and "numara; Enter geçerliyi korur" in printed
    assert "Enter leaves it empty" not in printed


def test_chat_saves_files_privately_and_never_over_another(tmp_path: Path) -> None:
    from juno.chat.client import save_private

    first = save_private(tmp_path, "juno-export-20261201.zip", b"one")
    second = save_private(tmp_path, "../juno-export-20261201.zip", b"two")
    assert first.name == "juno-export-20261201.zip"
    assert second == tmp_path / "juno-export-20261201-2.zip"
    assert first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert {p.stat().st_mode & 0o777 for p in (first, second)} == {0o600}
