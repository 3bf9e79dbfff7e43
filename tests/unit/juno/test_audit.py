"""`make audit` (scripts/audit.py): recorded exceptions expire, findings are one line each, and a
vulnerability service that cannot be reached fails the audit in one line, not a traceback. The
audit against the real service needs the network, so it runs in CI as `make audit`, not here."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from scripts.audit import REPO, UNAUDITED, findings_from_report, load_exceptions
from tests.support.processes import free_port

TODAY = date(2026, 11, 25)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "audit-exceptions.toml"
    path.write_text(text, encoding="utf-8")
    return path


def entry(id_: str, recorded: str = "2026-11-01", review_by: str = "2027-01-01") -> str:
    return (
        f'[[exception]]\nid = "{id_}"\npackage = "example"\nreason = "not reachable from us"\n'
        f"recorded = {recorded}\nreview_by = {review_by}\n"
    )


def test_exceptions_in_force_expired_and_malformed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        entry("GHSA-aaaa-bbbb-cccc")
        + entry(UNAUDITED)
        + entry("PYSEC-2026-1", recorded="2026-01-01", review_by="2026-11-24")
        + entry("PYSEC-2026-2", recorded="2026-11-01", review_by="2026-10-01")
        + entry("PYSEC-2026-3", review_by='"soon"')
        + '[[exception]]\nid = "PYSEC-2026-4"\npackage = "example"\n',
    )
    in_force, problems = load_exceptions(path, TODAY)
    assert [e.id for e in in_force] == ["GHSA-aaaa-bbbb-cccc", UNAUDITED]
    assert in_force[0].review_by == date(2027, 1, 1)
    assert problems == [
        "EXPIRED PYSEC-2026-1 for example: review was due 2026-11-24 (recorded 2026-01-01); "
        "re-check it and renew or remove it",
        "EXCEPTION #4 in audit-exceptions.toml: review_by 2026-10-01 is before recorded 2026-11-01",
        "EXCEPTION #5 in audit-exceptions.toml: recorded and review_by must be TOML dates "
        "(2026-11-25)",
        "EXCEPTION #6 in audit-exceptions.toml: missing reason, recorded, review_by",
    ]
    # Due today is still in force: the review date is the last day it applies.
    assert load_exceptions(write(tmp_path, entry("X", review_by="2026-11-25")), TODAY)[1] == []
    assert load_exceptions(tmp_path / "absent.toml", TODAY) == ([], [])
    assert "not valid TOML" in load_exceptions(write(tmp_path, "[[exception"), TODAY)[1][0]


def test_the_repository_exceptions_file_is_valid() -> None:
    # As of a day before any entry was recorded: well formed. Expiry is `make audit`'s to report.
    _, problems = load_exceptions(REPO / "audit-exceptions.toml", date(2000, 1, 1))
    assert problems == []


def test_findings_are_one_line_each() -> None:
    report = {
        "dependencies": [
            {"name": "juno-teams", "skip_reason": "distribution marked as editable"},
            {
                "name": "Some_Pkg",
                "skip_reason": "Dependency not found on PyPI and could not be "
                "audited: some-pkg (1.0)",
            },
            {"name": "ok", "version": "2.0", "vulns": []},
            {
                "name": "bad",
                "version": "1.2",
                "vulns": [
                    {
                        "id": "GHSA-xxxx-yyyy-zzzz",
                        "fix_versions": ["1.2.1", "1.3"],
                        "aliases": ["CVE-2026-0001"],
                        "description": "A crafted\nheader " + "makes it loop " * 20,
                    }
                ],
            },
        ]
    }
    found, skipped = findings_from_report(report)
    assert skipped == ["some-pkg"]  # our own editable package is not a gap
    [line] = [f.line() for f in found]
    assert "\n" not in line and len(line) < 220
    assert line.startswith(
        "VULNERABLE bad 1.2: GHSA-xxxx-yyyy-zzzz (CVE-2026-0001); fixed in 1.2.1, 1.3; "
        "A crafted header makes it loop"
    )
    assert line.endswith("...")


def test_unreachable_service_fails_in_one_line(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **os.environ,
        "HTTPS_PROXY": closed,
        "HTTP_PROXY": closed,
        "https_proxy": closed,
        "http_proxy": closed,
        "NO_PROXY": "",
        "no_proxy": "",
        "PIP_CACHE_DIR": str(tmp_path / "cache"),  # no cached answers from the service
    }
    exceptions = write(
        tmp_path, entry("PYSEC-2026-9", recorded="2026-01-01", review_by="2026-02-01")
    )
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "audit.py"), "--exceptions", str(exceptions)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout
    assert lines[0].startswith("EXPIRED PYSEC-2026-9 for example: review was due 2026-02-01")
    assert lines[1].startswith("audit: FAILED: vulnerability service unreachable: ")
    assert "Traceback" not in proc.stdout + proc.stderr
