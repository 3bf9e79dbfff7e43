"""`make e2e`: JUNO in Microsoft's Teams client emulator, the Microsoft 365 Agents Playground,
driven in headless Chromium (tests/e2e/walk.js) against `juno serve` in dev mode on the demo
tenant. Installs what it needs (Debian `chromium`, npm `playwright-core` and
`@microsoft/m365agentsplayground` into var/e2e/node), keeps everything on 127.0.0.1 (the
Playground is preloaded with tests/e2e/loopback.js, its telemetry off; the browser refuses every
other host), saves a screenshot per step under var/e2e/ and exits 1 when any check fails.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
OUT = REPO / "var" / "e2e"
NODE_DIR = OUT / "node"
NPM_SPECS = ("playwright-core@1", "@microsoft/m365agentsplayground@0.2")
PLAYGROUND_CLI = NODE_DIR / "node_modules" / "@microsoft" / "m365agentsplayground" / "cli.js"
JUNO = REPO / ".venv" / "bin" / "juno"

DEMO_TENANT_ID = "0000de00-0000-4000-8000-00000000de00"
# The Playground's current user: Tuğba Işık, HR director and the demo tenant's admin
# (graph_sync/demo.py), and five colleagues from the demo directory (it takes exactly five).
CURRENT_USER = ("tugba", "Tuğba Işık", "9c45c1a0-b340-4c21-a342-02d88db1cec0")
USERS = (
    ("ayse", "Ayşe Yılmaz", "ad381067-9514-4bc6-add0-70132c19dd6f"),
    ("oguz", "Oğuz Işık", "e98c5884-857c-406b-b9a2-1be1355cca5d"),
    ("tolga", "Tolga Güneş", "b7decc0c-5d96-4f7f-a65b-eda9cf0c26ef"),
    ("ufuk", "Ufuk Yıldız", "53a2f2b6-33f5-4288-87f0-cbd41ff13534"),
    ("gokhan", "Gökhan Şimşek", "683447c1-0cc8-4f11-9d4e-abbd1fcfb980"),
)


def say(text: str) -> None:
    print(f"e2e: {text}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get") is None:
        sys.exit("e2e: no chromium and no apt-get: install Chromium and put it on PATH")
    say("installing Debian's chromium (apt-get install chromium)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=env, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True)
        subprocess.run(install, env=env, check=True)
    found = shutil.which("chromium")
    if not found:
        sys.exit("e2e: apt-get installed chromium but it is not on PATH")
    return found


def node_packages() -> None:
    if PLAYGROUND_CLI.is_file() and (NODE_DIR / "node_modules" / "playwright-core").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("e2e: npm is required (Node.js) to install the Agents Playground")
    say(f"npm install {' '.join(NPM_SPECS)} into {NODE_DIR.relative_to(REPO)}")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    # --ignore-scripts: playwright-core's install hook would download a browser build of its
    # own; Debian's chromium is used instead.
    subprocess.run(
        [npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund",
         "--ignore-scripts", "--loglevel=error", *NPM_SPECS],
        check=True,
        timeout=600,
    )  # fmt: skip


def playground_config(folder: Path) -> None:
    """`.m365agentsplayground.yml`: who the Playground's user is and which tenant they are in."""

    def person(key: str, name: str, oid: str, indent: str) -> str:
        given, surname = name.split(" ", 1)
        mail = f"{key}@juno-demo.example"
        return (
            f"{indent}id: 29:{key}\n{indent}name: {name}\n{indent}userPrincipleName: {mail}\n"
            f"{indent}aadObjectId: {oid}\n{indent}givenName: {given}\n"
            f"{indent}surname: {surname}\n{indent}email: {mail}\n"
        )

    users = "".join("  - " + person(*u, "    ")[4:] for u in USERS)
    text = (
        'version: "0.1.1"\n'
        f"tenantId: {DEMO_TENANT_ID}\n"
        "bot:\n  id: 28:juno-e2e\n  name: JUNO\n"
        f"currentUser:\n{person(*CURRENT_USER, '  ')}"
        f"users:\n{users}"
        "personalChat:\n  id: a:juno-e2e-personal\n"
        "groupChat:\n  id: 19:juno-e2e-group\n  name: Group Chat\n"
        "team:\n  id: 19:juno-e2e-team\n  name: My Team\n"
        "  aadGroupId: 00000000-0000-0000-0000-000000000031\n"
        "  channels:\n    - id: 19:juno-e2e-channel\n      name: Announcements\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ".m365agentsplayground.yml").write_text(text, encoding="utf-8")


def wait_http(url: str, proc: subprocess.Popen[Any], within: float, what: str) -> None:
    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc.poll() is not None:
            sys.exit(f"e2e: {what} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit(f"e2e: {what} did not answer {url} within {within:.0f} s")


def stop(proc: subprocess.Popen[Any] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def main() -> int:
    started = time.monotonic()
    browser = chromium()
    node_packages()
    installed = time.monotonic()
    for old in OUT.glob("*.png"):
        old.unlink()
    data = OUT / "data"
    shutil.rmtree(data, ignore_errors=True)
    bot_port, playground_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUNO_", "MONGODB_"))}
    env.update(
        JUNO_BOT_DEV_MODE="1",
        JUNO_HOST="127.0.0.1",
        JUNO_PORT=str(bot_port),
        JUNO_DATA_DIR=str(data),
        JUNO_LOG_FORMAT="json",
    )
    serve_log = (OUT / "serve.log").open("w")
    serve: subprocess.Popen[Any] | None = None
    playground: subprocess.Popen[Any] | None = None
    try:
        serve = subprocess.Popen([str(JUNO), "serve"], env=env, stdout=serve_log, stderr=serve_log)
        wait_http(f"http://127.0.0.1:{bot_port}/readyz", serve, 180, "juno serve")
        folder = OUT / "playground"
        playground_config(folder)
        pg_env = {
            **os.environ,
            "TEAMSAPPTESTER_BROWSER": "none",
            "NODE_OPTIONS": f"--require {HERE / 'loopback.js'}",
        }
        playground = subprocess.Popen(
            ["node", str(PLAYGROUND_CLI), "-p", str(playground_port), "-e",
             f"http://127.0.0.1:{bot_port}/api/messages", "-c", "msteams",
             "--disable-telemetry"],
            cwd=folder, env=pg_env, stdout=(OUT / "playground.log").open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(f"http://127.0.0.1:{playground_port}/", playground, 60, "the Playground")
        ready = time.monotonic()
        config = {
            "modules": str(NODE_DIR / "node_modules"),
            "chromium": browser,
            "playground": f"http://127.0.0.1:{playground_port}/",
            "out": str(OUT),
            "activity": {
                "recipient": {"id": "28:juno-e2e", "name": "JUNO"},
                "conversation": {
                    "id": "a:juno-e2e-personal",
                    "conversationType": "personal",
                    "tenantId": DEMO_TENANT_ID,
                },
                "from": {"id": f"29:{CURRENT_USER[0]}", "aadObjectId": CURRENT_USER[2]},
            },
        }
        (OUT / "config.json").write_text(json.dumps(config))
        walk = subprocess.run(
            ["node", str(HERE / "walk.js"), str(OUT / "config.json")],
            capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        walked = time.monotonic()
    finally:
        stop(playground)
        stop(serve)
        serve_log.close()
    lines = [x for x in walk.stdout.splitlines() if x.startswith("E2E-REPORT ")]
    if not lines:
        print(walk.stdout[-3000:], walk.stderr[-3000:], sep="\n")
        return 1
    report = json.loads(lines[-1].removeprefix("E2E-REPORT "))
    log = (OUT / "serve.log").read_text(errors="replace")
    report["serve_log_clean"] = "Traceback" not in log and '"turn failed"' not in log
    gone = [
        line
        for line in log.splitlines()
        if "a:juno-e2e-gone" in line
        or ('"reply not delivered"' in line or '"proactive message failed"' in line)
    ]
    report["gone_chat_log"] = gone
    report["seconds"] = {
        "install": round(installed - started, 1),
        "start": round(ready - installed, 1),
        "walk": round(walked - ready, 1),
        "total": round(walked - started, 1),
    }
    (OUT / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    failed = 0
    for step in report["steps"]:
        bad = [c for c in step["checks"] if not c["ok"]]
        failed += len(bad)
        mark = "FAIL" if bad else "ok  "
        print(f"{mark} {step['name']} ({len(step['checks'])} checks) -> {step['screenshot']}")
        for check in bad:
            print(f"     ✗ {check['what']}: {str(check.get('detail'))[:600]}")
    if report.get("error"):
        print(f"error: {report['error'][:2000]}")
        failed += 1
    if not report["serve_log_clean"]:
        print("FAIL juno serve logged a traceback or a failed turn (var/e2e/serve.log)")
        failed += 1
    gone = report["gone_chat_log"]
    warned = [x for x in gone if '"level": "warning"' in x]
    if len(gone) != 1 or len(warned) != 1:
        print("FAIL a reply into a chat that no longer exists should log one warning; got:")
        print("\n".join(f"     {line[:300]}" for line in gone))
        failed += 1
    else:
        print("ok   a chat that no longer exists: one warning, no traceback")
    if report.get("blocked"):
        say(f"refused non-loopback hosts: {', '.join(report['blocked'])}")
    seconds = report["seconds"]
    say(
        f"{sum(len(s['checks']) for s in report['steps'])} checks, {failed} failed; "
        f"{seconds['total']} s (install {seconds['install']}, start {seconds['start']}, "
        f"walk {seconds['walk']}); screenshots in {OUT.relative_to(REPO)}/"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
