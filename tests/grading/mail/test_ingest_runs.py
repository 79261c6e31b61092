"""``omr ingest`` as runs: the three local sources, a message vanishing mid-run, ``kill -9`` mid-ingest then a re-run
(each message exactly once), grading in the same run with the collecting unit, ``omr status`` per unit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from grading.cli import main
from grading.db.mail import entry_rows, message_rows
from grading.mail.parse import parse_message
from grading.mail.sources import Vanished, maildir_messages, open_source
from grading.store import Store
from samples.mail import write_mailbox

from test_ingest import ingest, make_contest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_the_three_local_sources_give_the_same_messages(tmp_path):
    keys = {}
    for fmt in ("maildir", "mbox", "eml"):
        truth = write_mailbox(tmp_path / fmt, n=12, seed=3, fmt=fmt, small=True)
        src = tmp_path / fmt / ("mailbox.mbox" if fmt == "mbox" else "mailbox")
        items = list(open_source(str(src)))
        assert [i.key for i in items] == [m["key"] for m in truth["messages"]]
        keys[fmt] = [parse_message(i).subject for i in items]
        if fmt == "maildir":                      # the delivery file's time
            assert [i.received_at for i in items] == [datetime.fromisoformat(m["received"])
                                                      for m in truth["messages"]]
    assert keys["maildir"] == keys["eml"] == keys["mbox"]


def test_a_maildir_message_moved_or_removed_mid_run(tmp_path):
    write_mailbox(tmp_path, n=5, seed=1, fmt="maildir", small=True)
    box = tmp_path / "mailbox"
    names = sorted(os.listdir(box / "new"))
    it = maildir_messages(box)
    first = next(it)
    os.rename(box / "new" / names[1], box / "cur" / (names[1] + ":2,S"))      # another client read it
    os.remove(box / "new" / names[2])                                          # another client deleted it
    rest = list(it)
    assert first.key == f"maildir:{names[0]}"
    assert [type(i).__name__ for i in rest] == ["RawMessage", "Vanished", "RawMessage", "RawMessage"]
    assert rest[0].key == f"maildir:{names[1]}"
    gone = rest[1]
    assert isinstance(gone, Vanished) and gone.key == f"maildir:{names[2]}" and "removed" in gone.error


def test_a_vanished_message_is_reported_and_nothing_else_is_lost(tmp_path, sqlite_url, monkeypatch, capsys):
    truth = write_mailbox(tmp_path, n=6, seed=2, fmt="maildir", small=True)
    box = tmp_path / "mailbox"
    victim = sorted(os.listdir(box / "new"))[3]
    real = maildir_messages

    def vanishing(folder):
        for n, item in enumerate(real(folder)):
            if n == 2:
                os.remove(box / "new" / victim)
            yield item

    monkeypatch.setattr("grading.mail.sources.maildir_messages", vanishing)
    contest = make_contest(tmp_path)
    assert ingest(contest, sqlite_url, box, "--no-grade") == 4
    out = capsys.readouterr().out
    assert f"thư biến mất khi đang đọc (maildir:{victim})" in out
    with Store.open(sqlite_url) as store:
        keys = {k for k, _, _ in message_rows(store)}
    unique = {m["key"] for m in truth["messages"] if not m.get("duplicate")} - {f"maildir:{victim}"}
    assert keys == unique


@pytest.mark.slow
def test_kill_9_mid_ingest_then_a_rerun_leaves_each_message_once(tmp_path, store_url):
    truth = write_mailbox(tmp_path, n=150, seed=5, fmt="maildir", small=True)
    contest = make_contest(tmp_path)
    args = [sys.executable, "-m", "grading.cli", "ingest", str(tmp_path / "mailbox"), "--contest", str(contest),
            "--db", store_url, "--unit", "Q.HK", "--no-grade", "--files", str(tmp_path / "files")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        seen = 0
        while seen < 20:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline
            time.sleep(0.02)
            try:
                with Store.open(store_url, read_only=True) as store:
                    seen = len(message_rows(store))
            except Exception:                    # noqa: BLE001 — the store is being made
                seen = 0
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
    with Store.open(store_url) as store:
        assert 20 <= len(message_rows(store)) < 150
    assert subprocess.run(args, env=env, capture_output=True).returncode == 0
    unique = [m for m in truth["messages"] if not m.get("duplicate")]
    with Store.open(store_url) as store:
        rows = message_rows(store, ("source_key", "hash"))
        with store.read_tx("t") as conn:
            raw = conn.execute(sa.text("SELECT count(*) FROM message_raw")).scalar()
            per_message = conn.execute(sa.text(
                "SELECT count(*) FROM entries GROUP BY message_id, seq HAVING count(*) > 1")).all()
        entries = entry_rows(store, ("state",))
    assert sorted(k for k, _ in rows) == sorted(m["key"] for m in unique)
    assert len({h for _, h in rows}) == len(rows) == raw and per_message == []
    assert len(entries) == sum(len(m["entries"]) for m in unique)


@pytest.mark.slow
def test_new_entries_are_graded_in_the_same_run_with_their_collecting_unit(tmp_path, sqlite_url, capsys):
    write_mailbox(tmp_path, n=4, seed=11, fmt="eml", small=False)
    contest = make_contest(tmp_path)
    code = ingest(contest, sqlite_url, tmp_path / "mailbox", "--workers", "1")
    assert code in (0, 4)
    with Store.open(sqlite_url) as store:
        states = [s for s, in entry_rows(store, ("state",))]
        with store.read_tx("t") as conn:
            subs = conn.execute(sa.text("SELECT unit, count(*) FROM submissions GROUP BY unit")).all()
            files = conn.execute(sa.text("SELECT count(DISTINCT content_hash) FROM entry_files "
                                         "WHERE kind IN ('jpeg','png','pdf','tiff','docx','odt')")).scalar()
    assert sorted(states) == ["graded"] * 4                 # the DOCX too, by the document reader
    assert subs == [("Q.HK", files)]
    assert main(["status", "--contest", str(contest), "--db", sqlite_url]) in (0, 3, 4)
    out = capsys.readouterr().out
    assert "Đơn vị" in out and "Q.HK" in out and "đã chấm" in out


@pytest.mark.slow
def test_the_demo_shows_a_mailbox_taken_in(tmp_path, capsys):
    from grading.demo import ingest_demo

    assert ingest_demo(tmp_path / "mail", main, n=16) == 0
    out = capsys.readouterr().out
    assert "Lần này: 16 thư trong hộp thư" in out and "Q.HK" in out
    assert (tmp_path / "mail" / "truth.json").is_file() and (tmp_path / "mail" / "results.sqlite").is_file()


@pytest.mark.slow
def test_entries_taken_in_without_grading_are_graded_later_from_the_stored_messages(tmp_path, sqlite_url):
    write_mailbox(tmp_path, n=3, seed=11, fmt="eml", small=False)
    contest = make_contest(tmp_path)
    files = tmp_path / "contest" / "out" / "entries"
    assert ingest(contest, sqlite_url, tmp_path / "mailbox", "--no-grade") == 0
    assert not files.exists()                         # nothing written: the raw messages hold the files
    with Store.open(sqlite_url) as store:
        assert sorted(s for s, in entry_rows(store, ("state",))) == ["pending"] * 3
    assert ingest(contest, sqlite_url, tmp_path / "mailbox") in (0, 4)
    with Store.open(sqlite_url) as store:
        assert sorted(s for s, in entry_rows(store, ("state",))) == ["graded"] * 3     # a DOCX among them
        with store.read_tx("t") as conn:
            hashes = set(conn.execute(sa.text("SELECT content_hash FROM submissions")).scalars())
    assert hashes and {p.name.split(".")[0] for p in files.iterdir()} >= hashes


@pytest.mark.slow
def test_entries_flagged_or_superseded_stay_out_of_the_ranking(tmp_path, store_url):
    from datetime import timedelta, timezone

    import pandas as pd

    from grading.contest import load_contest
    from grading.reports.export import results_table
    from samples.mail import message

    when = datetime(2026, 9, 5, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    sheets = sorted((ROOT / "samples/set-small/clean/sheets").glob("*.png"))
    folder = tmp_path / "eml"
    folder.mkdir()
    bodies = {"a": "Họ và tên: Nguyễn Văn An\nNgày sinh: 5/9/2007", "b": "em gửi bài"}       # b: identity pending
    for (name, body), sheet in zip(bodies.items(), sheets):
        (folder / f"{name}.eml").write_bytes(message(sender=f"{name}@example.vn", subject="Bài thi", body=body,
                                                     received=when, attachments=[(sheet.name, sheet.read_bytes(),
                                                                                  "image/png")]))
    contest = make_contest(tmp_path)
    assert ingest(contest, store_url, folder, files=tmp_path / "files") in (0, 3, 4)
    with Store.open(store_url) as store:
        assert [s for s, in entry_rows(store, ("state",))] == ["graded", "graded"]
        table = results_table(store, load_contest(contest))
    rows = [(None if rank is pd.NA else int(rank), why)
            for rank, why in table[table["pages"] > 0][["rank", "entry_flags"]].itertuples(index=False)]
    assert sorted(rows, key=str) == [(1, ""), (None, "identity_pending")]
