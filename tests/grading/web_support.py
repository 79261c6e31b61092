"""Helpers for tests of the judges' web app: a live ``omr review`` on a free loopback port, logging in over
HTTP, reading the CSRF token, and the Chromium settings (Debian's /usr/bin/chromium through Playwright)."""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from grading.store import Store
from grading_support import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
NEW_PASSWORD = "mat-khau-moi-2026"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def live_server(contest: Path, log: Path, *extra: str) -> Iterator[str]:
    """``omr review --contest CONTEST [extra...]`` on a free port; yields its base URL, stops it after."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "grading.cli", "review", "--contest", str(contest),
                                   "--host", "127.0.0.1", "--port", str(port), *extra], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"omr review did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def login(client: httpx.Client, name: str, password: str) -> httpx.Response:
    page = client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "csrf": csrf(page.text)})


def login_and_change_password(client: httpx.Client, name: str, one_time: str,
                              new: str = NEW_PASSWORD) -> None:
    """First login with the one-time password, then the forced password change; the client is ready."""
    r = login(client, name, one_time)
    assert r.status_code == 303 and r.headers["location"] == "/password", r.text[:300]
    form = client.get("/password")
    r = client.post("/password", data={"csrf": csrf(form.text), "new_password": new, "again": new})
    assert r.status_code == 303, r.text[:300]


def rows(url: str, sql: str, **params) -> list[tuple]:
    with Store.open(url) as store, store.read_tx("test query") as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]
