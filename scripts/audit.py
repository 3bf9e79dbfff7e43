"""`make audit`: known vulnerabilities in the packages installed in this virtualenv.

pip-audit does the auditing, with `--ignore-vuln` for each exception recorded in
audit-exceptions.toml that is still in force. Three things it does not do, and this script does:

- An exception carries a reason, the date it was recorded and a date by which it must be
  reviewed. Past that date it no longer silences anything and the audit fails, so an accepted
  risk cannot be forgotten.
- pip-audit's PyPI service reads `/pypi/NAME/VERSION/json`. Where that endpoint is not served
  (a PyPI mirror or proxy that serves only the project pages, as on our build machines) it
  reports every package as "not found", audits nothing and still exits 0 with "No known
  vulnerabilities found". Those packages are checked here against the project page
  `/pypi/NAME/json`, whose vulnerability list describes the latest release: a package installed
  at the latest release is audited exactly, one held below it cannot be, and fails the audit
  as UNAUDITED rather than passing unseen.
- Every finding is one line, and a service that cannot be reached is one line too, not a
  traceback.

Exit status: 0 when nothing is wrong, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parent.parent
EXCEPTIONS = REPO / "audit-exceptions.toml"
PYPI = "https://pypi.org/pypi"
TIMEOUT = 20
# An exception with this id accepts that a package held below its latest release cannot be
# audited where only PyPI's project pages are reachable.
UNAUDITED = "UNAUDITED"
_FIELDS = ("id", "package", "reason", "recorded", "review_by")


class AuditError(Exception):
    """The audit could not be carried out; the message is the one line to print."""


@dataclass(frozen=True)
class Accepted:
    id: str
    package: str
    reason: str
    recorded: date
    review_by: date


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    id: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]
    summary: str

    def line(self) -> str:
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        fix = f"fixed in {', '.join(self.fixed_in)}" if self.fixed_in else "no fixed release"
        return f"VULNERABLE {self.package} {self.version}: {self.id}{also}; {fix}; {self.summary}"


def load_exceptions(path: Path, today: date) -> tuple[list[Accepted], list[str]]:
    """Exceptions in force, and one line per entry that is malformed or past its review."""
    if not path.exists():
        return [], []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [], [f"EXCEPTIONS {path.name}: not valid TOML ({exc})"]
    entries = data.get("exception", [])
    if not isinstance(entries, list):
        return [], [f"EXCEPTIONS {path.name}: use [[exception]] tables"]
    in_force: list[Accepted] = []
    problems: list[str] = []
    for n, entry in enumerate(entries, 1):
        where = f"EXCEPTION #{n} in {path.name}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not a table")
            continue
        missing = [f for f in _FIELDS if not entry.get(f)]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        recorded, review_by = entry["recorded"], entry["review_by"]
        if not isinstance(recorded, date) or not isinstance(review_by, date):
            problems.append(f"{where}: recorded and review_by must be TOML dates (2026-11-25)")
            continue
        if review_by < recorded:
            problems.append(f"{where}: review_by {review_by} is before recorded {recorded}")
            continue
        accepted = Accepted(
            str(entry["id"]), str(entry["package"]), str(entry["reason"]), recorded, review_by
        )
        if review_by < today:
            problems.append(
                f"EXPIRED {accepted.id} for {accepted.package}: review was due {review_by} "
                f"(recorded {recorded}); re-check it and renew or remove it"
            )
            continue
        in_force.append(accepted)
    return in_force, problems


def run_pip_audit(ignore: Iterable[str]) -> dict[str, Any]:
    """pip-audit's JSON report for this interpreter's environment."""
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--skip-editable",
        "--progress-spinner=off",
        "--format=json",
        "--desc=on",
        "--aliases=on",
        f"--timeout={TIMEOUT}",
    ]
    command += [f"--ignore-vuln={i}" for i in ignore]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AuditError(f"pip-audit could not run: {exc}") from None
    try:
        report: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        raise AuditError(_failure(proc.stderr)) from None
    return report


def _failure(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    last = last if len(last) <= 200 else last[:197] + "..."
    if last.startswith("requests.exceptions."):
        return f"vulnerability service unreachable: {last.removeprefix('requests.exceptions.')}"
    return f"pip-audit failed: {last}"


def _summary(vuln: dict[str, Any]) -> str:
    text = str(vuln.get("summary") or vuln.get("description") or vuln.get("details") or "")
    text = " ".join(text.split())
    return text if len(text) <= 120 else text[:117] + "..."


def findings_from_report(report: dict[str, Any]) -> tuple[list[Finding], list[str]]:
    """Findings pip-audit made, and the packages it could not audit (our own editable one
    excluded)."""
    found: list[Finding] = []
    skipped: list[str] = []
    for dep in report.get("dependencies", []):
        reason = dep.get("skip_reason")
        if reason:
            if "editable" not in reason:
                skipped.append(canonicalize_name(dep["name"]))
            continue
        for vuln in dep.get("vulns", []):
            found.append(
                Finding(
                    dep["name"],
                    dep["version"],
                    vuln["id"],
                    tuple(vuln.get("aliases") or ()),
                    tuple(vuln.get("fix_versions") or ()),
                    _summary(vuln),
                )
            )
    return found, skipped


def project_page(name: str) -> dict[str, Any] | None:
    """PyPI's page for a project, or None when PyPI has no such project (installed from
    elsewhere)."""
    url = f"{PYPI}/{name}/json"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:  # noqa: S310 - fixed https
            page: dict[str, Any] = json.load(resp)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise AuditError(f"PyPI vulnerability data unreachable ({url}: HTTP {exc.code})") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise AuditError(f"PyPI vulnerability data unreachable ({url}: {reason})") from None
    return page


def check_against_project_pages(
    installed: dict[str, str], names: Sequence[str], ignore: set[str]
) -> tuple[list[Finding], list[str], int]:
    """Audit the named packages from PyPI's project pages; returns findings, UNAUDITED lines
    for packages whose installed version is not the latest release (unless excepted), and how
    many packages were audited."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = list(pool.map(project_page, names))
    found: list[Finding] = []
    unaudited: list[str] = []
    audited = 0
    for name, page in zip(names, pages, strict=True):
        seen: set[str] = set()
        version = installed[name]
        if page is None:
            if f"{UNAUDITED}:{name}" not in ignore:
                unaudited.append(f"UNAUDITED {name} {version}: not on PyPI, so not audited")
            continue
        latest = str(page.get("info", {}).get("version", ""))
        if not _same_version(version, latest):
            if f"{UNAUDITED}:{name}" not in ignore:
                unaudited.append(
                    f"UNAUDITED {name} {version}: PyPI here only describes the latest release "
                    f"({latest}); upgrade it or record an {UNAUDITED} exception"
                )
            continue
        audited += 1
        for vuln in page.get("vulnerabilities") or []:
            ids = {str(vuln.get("id")), *map(str, vuln.get("aliases") or ())}
            # PyPI lists one advisory once per database (PYSEC, GHSA), each naming the other.
            if vuln.get("withdrawn") or ids & ignore or ids & seen:
                continue
            seen |= ids
            found.append(
                Finding(
                    name,
                    version,
                    str(vuln.get("id")),
                    tuple(vuln.get("aliases") or ()),
                    tuple(vuln.get("fixed_in") or ()),
                    _summary(vuln),
                )
            )
    return found, unaudited, audited


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def installed_packages() -> dict[str, str]:
    return {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in importlib.metadata.distributions()
        if d.metadata["Name"]
    }


def audit(in_force: Sequence[Accepted]) -> tuple[list[str], str, bool]:
    """Every finding's line, the closing line, and whether nothing was found."""
    vuln_ids = [e.id for e in in_force if e.id != UNAUDITED]
    ignore = set(vuln_ids) | {f"{UNAUDITED}:{canonicalize_name(e.package)}" for e in in_force}
    report = run_pip_audit(vuln_ids)
    found, skipped = findings_from_report(report)
    audited = sum(1 for d in report.get("dependencies", []) if not d.get("skip_reason"))
    installed = installed_packages()
    unknown = [n for n in skipped if n not in installed]
    if unknown:
        raise AuditError(f"pip-audit named packages not installed here: {', '.join(unknown)}")
    more, unaudited, from_pages = check_against_project_pages(installed, skipped, ignore)
    found += more
    closing = (
        f"{audited + from_pages} packages checked ({audited} by pip-audit's service, "
        f"{from_pages} from PyPI project pages), {len(found)} vulnerabilities, "
        f"{len(unaudited)} unaudited, {len(in_force)} exceptions in force"
    )
    return [f.line() for f in found] + unaudited, closing, not (found or unaudited)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exceptions", type=Path, default=EXCEPTIONS)
    args = parser.parse_args(argv)
    in_force, problems = load_exceptions(args.exceptions, date.today())
    for line in problems:
        print(line)
    try:
        lines, closing, ok = audit(in_force)
    except AuditError as exc:
        print(f"audit: FAILED: {exc}")
        return 1
    for line in lines:
        print(line)
    for e in in_force:
        print(f"ACCEPTED {e.id} for {e.package} until {e.review_by}: {e.reason}")
    ok = ok and not problems
    print(f"audit: {'passed' if ok else 'FAILED'}: {closing}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
