"""Secrets never reach a log line."""

from __future__ import annotations

import json
import logging

import pytest

from juno.logs import REDACTED, configure_logging, get_logger, redact_value


def test_uri_credentials_are_masked() -> None:
    assert redact_value("mongodb+srv://juno:hunter2@cluster0.example.net/db") == (
        f"mongodb+srv://{REDACTED}@cluster0.example.net/db"
    )
    assert redact_value("mongodb://127.0.0.1:27017") == "mongodb://127.0.0.1:27017"


def test_secret_fields_and_uris_are_redacted_in_json_logs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(fmt="json", level="INFO")
    get_logger("test").info(
        "connecting",
        client_secret="hunter2",
        authorization="Bearer eyJ.abc",
        uri="mongodb://admin:hunter2@db:27017",
        user_count=3,
    )
    logging.getLogger("aiohttp.access").warning("stdlib line")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert "hunter2" not in json.dumps(lines) and "eyJ" not in json.dumps(lines)
    event = lines[0]
    assert event["client_secret"] == REDACTED and event["authorization"] == REDACTED
    assert event["uri"] == f"mongodb://{REDACTED}@db:27017"
    assert event["user_count"] == 3
    assert lines[1]["event"] == "stdlib line" and lines[1]["level"] == "warning"
