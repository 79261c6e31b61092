"""Fixtures for the grading tests: layouts, keys, and a throwaway PostgreSQL 15 cluster.

The cluster is started once per session in a temp dir (owned by the ``postgres`` user when the tests run as
root, since postgres refuses to run as root), listens on 127.0.0.1 on a free port with trust auth, and is
stopped and deleted at the end. Missing binaries FAIL the PostgreSQL tests: install them with
``apt-get install postgresql`` (or point ``OMR_PG_BIN`` at a bin folder holding initdb and pg_ctl).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

from grading_support import DEMO, small_layout_dict
from omr.layout import Layout, layout_from_dict, load_layout

def _pg_bin() -> Path:
    """OMR_PG_BIN, else the newest Debian PostgreSQL server installed (/usr/lib/postgresql/<major>/bin)."""
    if os.environ.get("OMR_PG_BIN"):
        return Path(os.environ["OMR_PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]) if
                   p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()


@pytest.fixture(scope="session")
def demo_layout() -> Layout:
    return load_layout(DEMO)


@pytest.fixture(scope="session")
def small_layout() -> Layout:
    return layout_from_dict(small_layout_dict())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """URL of a fresh PostgreSQL cluster's maintenance database (``postgresql://postgres@127.0.0.1:P/postgres``)."""
    initdb, pg_ctl = PG_BIN / "initdb", PG_BIN / "pg_ctl"
    if not (initdb.is_file() and pg_ctl.is_file()):
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found in {PG_BIN}: install them with "
                    "`apt-get install postgresql`, or set OMR_PG_BIN to their folder", pytrace=False)
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="omr-pg-"))   # not under pytest's 0700 tmp tree: postgres must reach it
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail("tests run as root but there is no `postgres` user to run the server as; "
                        "install the postgresql package (it creates the user)", pytrace=False)
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log = root / "data", root / "server.log"
    port = _free_port()

    def run(cmd: list[str], what: str) -> None:
        res = subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            extra = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            pytest.fail(f"{what} failed ({res.returncode}): {res.stderr.strip()[-2000:]}\n{extra}", pytrace=False)

    started = False
    try:
        run([str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
             "--no-sync"], "initdb")
        opts = (f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=120")
        run([str(pg_ctl), "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"], "pg_ctl start")
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(prefix + [str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A new, empty database in the session's cluster, as a plain ``postgresql://`` URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'contest' / 'out' / 'results.sqlite'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store test runs on SQLite (a temp file) and on the real PostgreSQL cluster."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(scope="session")
def dovecot():
    """A Dovecot IMAP server for the whole session (see ``mail_servers``); tests add their own users."""
    from mail_servers import DovecotServer

    server = DovecotServer()
    try:
        yield server.start()
    finally:
        server.remove()


@pytest.fixture
def imap_user(dovecot) -> tuple[str, str]:
    """A fresh mailbox user (name, password) on the session's Dovecot."""
    return dovecot.add_user()


@pytest.fixture
def smtp_server(tmp_path: Path):
    """An aiosmtpd server on loopback offering STARTTLS; ``.messages`` holds what it received."""
    from mail_servers import SmtpServer

    server = SmtpServer(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, through Playwright (never ``playwright install``), for one test module."""
    from playwright.sync_api import sync_playwright

    from web_support import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
