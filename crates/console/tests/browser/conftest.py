"""Fixtures of the console's browser tests (run them with scripts/console-test.sh).

- `server` (one per test module): a database `gh_console_<random>` created on the server of
  DATABASE_URL (its role needs CREATEDB), `gatehouse serve` on it (it migrates at start-up) on a
  free loopback port with a random master key; stopped, and the database dropped, at the end.
- `server_env` (one per test module): extra environment of that server, none unless the module
  overrides the fixture (test_sso.py turns single sign-on on with it).
- `api`: the JSON API of that server with the master key, to prepare data and check changes
  (`support.Api`).
- `browser` (one per run): Debian's Chromium (CONSOLE_CHROMIUM, else `chromium` on the PATH),
  launched by Playwright with `executable_path`: Playwright's own browser builds are never used.
- `page`: a fresh context and page; `new_page()` makes more (another person at once).
  Any JavaScript error or CSP violation on a page fails the test that saw it.
- `signed_in_admin`: a page signed in as `master` with the master key, through the login form.

The helpers (axe_check, shot, check_page, field, submit...) are in support.py.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from support import ROOT, Api, call, sign_in

GATEHOUSE_BIN = Path(os.environ.get("GATEHOUSE_BIN", ROOT / "target/debug/gatehouse"))
LOGS = Path(os.environ.get("CONSOLE_LOGS", ROOT / ".data/console-logs"))
# Browser flags for a machine whose only network is loopback and package registries: no
# background connections (they are refused by the dozen), no GPU, no first-run work.
CHROMIUM_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often give /dev/shm only 64 MiB, which Chromium outgrows: use /tmp instead.
    "--disable-dev-shm-usage",
]
START_TIMEOUT = 60.0
TIMEOUT_MS = 10_000

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Server:
    """A running `gatehouse serve` of this test module."""

    base: str
    master_key: str
    database: str
    log: Path

    def url(self, path: str) -> str:
        return self.base + path


def _psql(url: str, sql: str) -> None:
    """Runs `sql` on the server of `url` with psql (the PostgreSQL client scripts/db.sh and
    scripts/console-test.sh install)."""
    psql = shutil.which("psql")
    assert psql, "psql is needed to create the tests' databases (apt-get install postgresql-client)"
    done = subprocess.run(
        [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"psql {sql!r} failed: {done.stderr.strip()}"


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def _serving_address(log: Path, process: subprocess.Popen) -> str:
    """The address the server bound (it listens on port 0: no race for a free port), from its
    JSON log line "gatehouse is serving"."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("message") == "gatehouse is serving":
                return event["address"]
        if process.poll() is not None:
            break
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
    raise AssertionError(f"gatehouse serve did not start (exit {process.poll()}); its log:\n{tail}")


def _free_port() -> int:
    """A loopback port free right now. Another process may take it before the server binds it:
    the server then fails to start, and the fixture shows its log."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment of the module's `gatehouse serve`: none. A module overrides this fixture
    to configure its server (e.g. single sign-on). In a value, `{base}` stands for the server's own
    address, http://127.0.0.1:<port> (for PUBLIC_URL, which must be known before the start): the
    port is then picked here, rather than bound by the server on port 0."""
    return {}


@pytest.fixture(scope="module")
def server(request, server_env):
    admin_url = os.environ.get("DATABASE_URL")
    assert admin_url, "DATABASE_URL must name a PostgreSQL server whose role may CREATE DATABASE"
    assert GATEHOUSE_BIN.is_file(), f"no gatehouse binary at {GATEHOUSE_BIN} (set GATEHOUSE_BIN)"
    database = f"gh_console_{secrets.token_hex(6)}"
    _psql(admin_url, f"CREATE DATABASE {database}")
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / f"{request.module.__name__}.log"
    master_key = f"console-test-{secrets.token_hex(16)}"
    listen = "127.0.0.1:0"
    extra = dict(server_env)
    if any("{base}" in value for value in extra.values()):
        listen = f"127.0.0.1:{_free_port()}"
        extra = {name: value.replace("{base}", f"http://{listen}") for name, value in extra.items()}
    # Sign-on is each module's choice (`server_env`), never the shell's.
    inherited = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OIDC_") and name != "PUBLIC_URL"
    }
    environment = {
        **inherited,
        "DATABASE_URL": _with_database(admin_url, database),
        "DATABASE_POOL_SIZE": "4",
        "MASTER_KEY": master_key,
        "LISTEN_ADDR": listen,
        "HTTP_WORKERS": "2",
        "LOG_FORMAT": "json",
        "RUST_LOG": "warn,gatehouse=info",
        **extra,
    }
    process = None
    try:
        with log.open("w") as output:
            process = subprocess.Popen(
                [str(GATEHOUSE_BIN), "serve"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        base = f"http://{_serving_address(log, process)}"
        deadline = time.monotonic() + START_TIMEOUT
        while call(base, "GET", "/health").status != 200:
            assert time.monotonic() < deadline, f"{base}/health never answered 200; see {log}"
            time.sleep(0.1)
        yield Server(base=base, master_key=master_key, database=database, log=log)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        _psql(admin_url, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture(scope="module")
def api(server) -> Api:
    return Api(server.base, server.master_key)


@pytest.fixture(scope="session")
def browser():
    executable = os.environ.get("CONSOLE_CHROMIUM") or shutil.which("chromium")
    assert executable, "Debian's chromium is needed (apt-get install chromium)"
    arguments = list(CHROMIUM_ARGS)
    if os.geteuid() == 0:
        # Chromium's sandbox refuses to run as root.
        arguments.append("--no-sandbox")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=arguments)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, server):
    """Makes a page in a context of its own (cookies, colour scheme light, UTC); any JavaScript
    error or CSP violation on it fails the test."""
    contexts, problems = [], []

    def make(**options):
        context = browser.new_context(
            base_url=server.base,
            color_scheme="light",
            timezone_id="UTC",
            locale="en-US",
            viewport={"width": 1280, "height": 800},
            **options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "pageerror", lambda error: problems.append(f"JavaScript error on {page.url}: {error}")
        )
        page.on(
            "console",
            lambda message: (
                problems.append(f"{message.type} on {page.url}: {message.text}")
                if message.type == "error" and "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "the browser reported:\n  " + "\n  ".join(problems)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def signed_in_admin(page, server):
    """A page signed in as `master` with the master key, through the login form."""
    sign_in(page, server.base, "master", server.master_key)
    return page
