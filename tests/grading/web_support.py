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
import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():       # this Starlette would rather have httpx2; the httpx it has works the same
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient  # noqa: F401  (the tests import it from here)

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
    r = client.post("/password", data={"csrf": csrf(form.text), "current_password": one_time, "new_password": new,
                                       "again": new})
    assert r.status_code == 303, r.text[:300]


def rows(url: str, sql: str, **params) -> list[tuple]:
    with Store.open(url) as store, store.read_tx("test query") as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


# -- a graded contest built from synthetic readings (no images): for queue, admin and concurrency tests ------
def demo_contest(folder: Path, roster: list[tuple[str, str, str]] | None = None) -> Path:
    """A contest folder with the demo layout and keys (and a ``roster.csv`` of (id, name, unit) when given)."""
    from grading_support import DEMO

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("layout.json", "keys.json"):
        (folder / name).write_bytes((DEMO / name).read_bytes())
    if roster is not None:
        lines = ["participant_id,name,unit", *(",".join(r) for r in roster)]
        (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    return folder


def demo_answers(version: str = "101") -> dict[str, str]:
    """The right answer of every question of a demo key version."""
    from grading.keys import load_keys
    from grading_support import DEMO
    from omr.layout import load_layout

    key = load_keys(DEMO / "keys.json", load_layout(DEMO)).get(version)
    return {it.question: it.accept_text()[0] for it in key.items}


def faint_reading(source: str, participant: str | None, faint: tuple[str, ...] = (), *, version: str = "101",
                  participant_flag: bool = False):
    """What ``omr read`` says of a demo sheet marked with every right answer (version 101) where the questions
    ``faint`` were marked too lightly: read as blank and flagged ``ambiguous_mark`` with their fills; with
    ``participant_flag`` the id is unreadable (``participant`` None and a flag on the id)."""
    from omr.records import Flag, SheetReading, Status

    answers = demo_answers(version)
    fl = []
    for q in faint:
        right = "ABCD".index(answers[q])
        answers[q] = ""
        fl.append(Flag(target="question", key=q, reason="ambiguous_mark",
                       message=f"question {q}: a mark between blank and filled; check it",
                       confidence=0.35, values=tuple(0.31 if i == right else 0.04 for i in range(4))))
    if participant_flag:
        fl.append(Flag(target="participant", key=None, reason="unreadable_id",
                       message="the participant id could not be read (no QR code, ID bubbles unclear)",
                       confidence=0.0))
        participant = None
    return SheetReading(source=source, page=1, layout="demo-a4-100", status=Status.FLAGGED if fl else Status.OK,
                        participant=participant, version=version, answers=answers, flags=tuple(fl),
                        participant_bubbles=participant, version_bubbles=version)


def record_faint_sheets(store: Store, contest: Path, n: int, faint: tuple[str, ...], *, start: int = 0,
                        unit: str | None = None) -> list[int]:
    """Record ``n`` sheets (participants ``start+1`` … as 6-digit ids) with ``faint`` questions flagged;
    returns their flag ids in order."""
    import hashlib

    from grading.keys import load_keys
    from omr.layout import load_layout

    keys = load_keys(contest / "keys.json", load_layout(contest / "layout.json"))
    for i in range(start + 1, start + n + 1):
        src = f"/scans/{i:06d}.jpg"
        store.record_submission(src, hashlib.sha256(src.encode()).hexdigest(), 1000,
                                [faint_reading(src, f"{i:06d}", faint)], keys, unit=unit)
    with store.read_tx("flag ids") as conn:
        return [int(r[0]) for r in conn.execute(sa.text(
            "SELECT f.id FROM flags f JOIN pages p ON p.id = f.page_id WHERE p.participant >= :a "
            "AND p.participant <= :b ORDER BY f.id"), {"a": f"{start + 1:06d}", "b": f"{start + n:06d}"})]


def wait_until(page, js: str, timeout: float = 15.0) -> None:
    """Wait until the expression ``js`` is true in the page. The app's Content-Security-Policy forbids eval, which
    Playwright's ``wait_for_function`` uses; ``evaluate`` goes through the DevTools protocol and is allowed."""
    end = time.monotonic() + timeout
    while not page.evaluate(f"() => Boolean({js})"):
        if time.monotonic() > end:
            raise AssertionError(f"not true after {timeout} s in {page.url}: {js}")
        page.wait_for_timeout(50)
