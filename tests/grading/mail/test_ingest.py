"""``omr ingest``: a generated mailbox taken in on SQLite and PostgreSQL — every message in exactly one state, as the
ground truth says; a second run adds nothing; late entries accepted (audited); receipts listed; bad input a
reason on its own message."""
from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from answer_keys import demo_contest
from grading.cli import main
from grading.db.audit import entries as audit_entries
from grading.db.mail import entry_rows, message_rows, raw_message, unsent_receipts
from grading.store import Store
from samples.mail import CONTEST_SETTINGS, UNITS_CSV, message, write_mailbox

N = 30


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("mail")
    return out, write_mailbox(out, n=N, seed=7, fmt="maildir", small=True)


def make_contest(tmp: Path, **settings) -> Path:
    contest = tmp / "contest"
    shutil.copytree(demo_contest(), contest)
    (contest / "units.csv").write_text(UNITS_CSV, encoding="utf-8")
    (contest / "contest.json").write_text(json.dumps({**CONTEST_SETTINGS, **settings}, ensure_ascii=False),
                                          encoding="utf-8")
    return contest


def ingest(contest: Path, url: str, source: Path | str, *extra: str, files: Path | None = None) -> int:
    args = ["ingest", str(source), "--contest", str(contest), "--db", url, "--unit", "Quận Hoàn Kiếm", *extra]
    if url.startswith("postgresql"):
        args += ["--files", str(files or contest / "files")]
    return main(args)


def test_a_mailbox_matches_its_ground_truth_and_a_second_run_adds_nothing(tmp_path, store_url, mailbox, capsys):
    box, truth = mailbox
    contest = make_contest(tmp_path)
    assert ingest(contest, store_url, box / "mailbox", "--no-grade") == 0
    first = capsys.readouterr().out
    assert f"Lần này: {N} thư trong hộp thư" in first
    unique = [m for m in truth["messages"] if not m.get("duplicate")]
    want_entries = Counter(e["state"] for m in unique for e in m["entries"])
    assert (f"Bài dự thi: {sum(want_entries.values())} — chờ chấm {want_entries['pending']} · đã chấm 0 · "
            f"nộp muộn {want_entries['late']} · bị thay thế {want_entries['superseded']}") in first
    assert f"Bài dự thi cần xem: nộp muộn {want_entries['late']}" in first
    with Store.open(store_url) as store:
        states = {k: s for k, s, _ in message_rows(store)}
        assert len(states) == len(unique)                    # exact duplicates stored once
        assert {m["key"]: m["state"] for m in unique} == states
        want = Counter(e["state"] for m in unique for e in m["entries"])
        got = entry_rows(store, ("state", "unit", "code"))
        assert Counter(s for s, _, _ in got) == want and {u for _, u, _ in got} == {"Q.HK"}
        assert all(c.startswith("BD-") and len(c) == 11 for _, _, c in got)
        key = unique[0]["key"]
        name = key.split(":", 1)[1]
        digest = next(h for k, h in message_rows(store, ("source_key", "hash")) if k == key)
        assert raw_message(store, digest) == (box / "mailbox" / "new" / name).read_bytes()
        with store.read_tx("t") as conn:
            counts = {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                      for t in ("messages", "message_raw", "entries", "entry_files", "entrants")}
    assert ingest(contest, store_url, box / "mailbox", "--no-grade") == 0
    again = capsys.readouterr().out
    assert f"0 thư mới · {N} đã có (bỏ qua)" in again
    with Store.open(store_url) as store, store.read_tx("t") as conn:
        assert {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in counts} == counts
    assert main(["status", "--contest", str(contest), "--db", store_url]) == 0
    status = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(status) if line.startswith("Đơn vị"))
    row = status[head + 1].split()
    m = Counter(m["state"] for m in unique)
    assert row[:5] == ["Q.HK", str(m["taken"]), str(m["no_entry"]), str(m["rejected"]), str(m["ignored"])]
    assert sum(map(int, row[1:5])) == len(unique)


def test_postgresql_needs_a_files_folder(tmp_path, pg_url, mailbox):
    contest = make_contest(tmp_path)
    args = ["ingest", str(mailbox[0] / "mailbox"), "--contest", str(contest), "--db", pg_url, "--unit", "Q.HK"]
    assert main(args) == 2


def test_forwarded_by_a_unit_keeps_the_first_time_from_anyone_else_the_outer_time(tmp_path, store_url, mailbox):
    box, truth = mailbox
    contest = make_contest(tmp_path)
    ingest(contest, store_url, box / "mailbox", "--no-grade")
    with Store.open(store_url) as store:
        by_key = {k: i for k, i in message_rows(store, ("source_key", "id"))}
        entries = {m: s for m, s in entry_rows(store, ("message_id", "state"))}
    kinds = {m["kind"]: m for m in truth["messages"]}
    assert entries[by_key[kinds["forward_unit"]["key"]]] in ("pending", "superseded")
    assert entries[by_key[kinds["forward_other"]["key"]]] == "late"
    assert entries[by_key[kinds["late"]["key"]]] == "late"


def test_deadline_override_and_accepting_a_late_entry(tmp_path, store_url, mailbox, capsys):
    box, _ = mailbox
    contest = make_contest(tmp_path)
    ingest(contest, store_url, box / "mailbox", "--no-grade", "--deadline", "2026-09-01T00:00")
    with Store.open(store_url) as store:
        late = [c for c, s in entry_rows(store, ("code", "state")) if s == "late"]
    assert len(late) >= N // 2                      # the on-time ones were sent from 1 September on
    code = late[0]
    url_args = ["--contest", str(contest), "--db", store_url]
    assert main(["entries", "accept", code.lower(), *url_args, "--who", "Bà Lan"]) == 0
    assert "accepted by Bà Lan" in capsys.readouterr().out
    with Store.open(store_url) as store:
        assert dict(entry_rows(store, ("code", "state")))[code] == "pending"
        (row,) = audit_entries(store, action="accept_entry")
        assert (row["who"], row["before"], row["after"]) == ("Bà Lan", {"state": "late"}, {"state": "pending"})
    assert main(["entries", "accept", code, *url_args, "--who", "Bà Lan"]) == 2      # not late any more
    assert main(["entries", "accept", "BD-NOTHERE", *url_args, "--who", "x"]) == 2


def test_receipts_are_recorded_for_people_only_and_listed_until_sent(tmp_path, store_url, mailbox, capsys):
    box, truth = mailbox
    contest = make_contest(tmp_path)
    ingest(contest, store_url, box / "mailbox", "--no-grade")
    capsys.readouterr()
    unique = [m for m in truth["messages"] if not m.get("duplicate")]
    with Store.open(store_url) as store:
        due = unsent_receipts(store)
        codes = dict(entry_rows(store, ("message_id", "code")))
        ids = dict(message_rows(store, ("hash", "id")))
    assert len(due) == sum(m["state"] != "ignored" for m in unique)
    taken = next(r for r in due if ids[r.message_hash] in codes)
    assert codes[ids[taken.message_hash]] in taken.body and "Bài dự thi đã nhận" in taken.body
    assert re.search(r": \d+ tệp, \d+ trang\n", taken.body)         # files and pages received
    assert any("Bài dự thi đến sau hạn chót" in r.body for r in due)
    assert taken.subject.startswith("Xác nhận đã nhận thư")
    empty = next(r for r in due if "không có tệp bài dự thi" in r.body)
    assert "Chưa nhận được bài dự thi nào" in empty.body
    assert ingest(contest, store_url, box / "mailbox", "--resend-receipts") == 0
    assert f"{len(due)} receipt(s) not sent yet" in capsys.readouterr().out
    assert ingest(contest, store_url, box / "mailbox", "--smtp", "smtp://127.0.0.1:2525") == 2      # no --reply
    assert ingest(contest, store_url, box / "mailbox", "--reply") == 2                              # no --smtp


def test_an_imap_source_needs_a_password_never_in_the_url(tmp_path, sqlite_url, monkeypatch, capsys):
    contest = make_contest(tmp_path)
    monkeypatch.delenv("OMR_IMAP_PASSWORD", raising=False)
    assert ingest(contest, sqlite_url, "imaps://lan@mail.example.vn/INBOX", "--no-grade") == 2
    assert "OMR_IMAP_PASSWORD" in capsys.readouterr().err
    assert ingest(contest, sqlite_url, "imaps://lan:secret@mail.example.vn/INBOX", "--no-grade") == 2


def test_bad_input_is_a_reason_on_its_own_message(tmp_path, store_url, capsys):
    from datetime import datetime, timedelta, timezone

    when = datetime(2026, 9, 5, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    jpeg = (Path(__file__).resolve().parents[3] / "samples/set-small/clean/sheets").glob("*.png")
    good = next(iter(sorted(jpeg))).read_bytes()
    folder = tmp_path / "eml"
    folder.mkdir()
    mails = {
        "a-good.eml": message(sender="an@example.vn", subject="Bài thi", body="Họ và tên: An\nNgày sinh: 1/1/2000",
                              received=when, attachments=[("a.png", good, "image/png")]),
        "b-malformed.eml": b"From: b@example.vn\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\nno parts\r\n",
        "c-lying.eml": message(sender="c@example.vn", subject="x", body="", received=when,
                               attachments=[("c.jpg", b"MZ\x90 program", "image/jpeg")]),
        "d-8bit.eml": "From: d@example.vn\r\nSubject: Bài thi\r\n\r\nkhong co tep\r\n".encode("cp1258"),
        "e-bounce.eml": message(sender="MAILER-DAEMON@mx.example.vn", subject="Undelivered", body="",
                                received=when),
        "f-ours.eml": message(sender="hoankiem@thi.hanoi.gov.vn", subject="Xác nhận", body="", received=when),
        "g-young.eml": message(sender="g@example.vn", subject="Bài thi", body="Họ tên: Bé Na\nNgày sinh: 7/9/2014",
                               received=when, attachments=[("g.png", good + b"g", "image/png")]),
        "h-nobody.eml": message(sender="h@example.vn", subject="Bài thi", body="gửi bài ạ", received=when,
                                attachments=[("h.png", good + b"h", "image/png")]),
        "i-named.eml": message(sender="i@example.vn", subject="Bài thi", body="gửi bài ạ", received=when,
                               attachments=[("Trần Văn Bình - 1.2.2001.png", good + b"i", "image/png")]),
        "j-no-time.eml": message(sender="j@example.vn", subject="Bài thi", body="Họ tên: Lò Văn J\nNgày sinh: "
                                 "2/2/2002", received=when, attachments=[("j.png", good + b"j", "image/png")]
                                 ).split(b"\r\n", 1)[1],           # no Received: header (an .eml saved by hand)
    }
    for name, data in mails.items():
        (folder / name).write_bytes(data)
    contest = make_contest(tmp_path)
    assert ingest(contest, store_url, folder, "--no-grade") == 4          # a message rejected
    with Store.open(store_url) as store:
        got = {k: (s, r) for k, s, r in message_rows(store)}
        reasons = dict(message_rows(store, ("source_key", "reason")))
        problems = dict(message_rows(store, ("source_key", "problems")))
    assert got.pop("eml:g-young.eml") == got.pop("eml:h-nobody.eml") == got.pop("eml:i-named.eml") == ("taken", None)
    assert got.pop("eml:j-no-time.eml") == ("taken", None)
    with Store.open(store_url) as store:
        flags = [[f["code"] for f in fl] for fl, in entry_rows(store, ("flags",))]
        named = entry_rows(store, ("identity", "entrant_id"))[-2]
    assert flags == [[], ["under_age"], ["identity_pending"], [], ["received_unknown"]]
    assert named[0] == {"name": "Trần Văn Bình", "date_of_birth": "2001-02-01"} and named[1].startswith("TS-")
    assert got == {"eml:a-good.eml": ("taken", None), "eml:b-malformed.eml": ("rejected", "malformed_mime"),
                   "eml:c-lying.eml": ("no_entry", "no_attachment"), "eml:d-8bit.eml": ("no_entry", "no_attachment"),
                   "eml:e-bounce.eml": ("ignored", "auto_reply"), "eml:f-ours.eml": ("ignored", "own_mail")}
    assert "Thư bị hỏng" in reasons["eml:b-malformed.eml"]
    assert [p["code"] for p in problems["eml:c-lying.eml"]] == ["unsupported_type"]
    assert [p["code"] for p in problems["eml:d-8bit.eml"]] == ["header_not_utf8"]


def test_a_class_zip_naming_its_students_makes_one_entry_each(tmp_path, store_url):
    import io
    import zipfile
    from datetime import datetime, timedelta, timezone

    scans = sorted((Path(__file__).resolve().parents[3] / "samples/set-small/scanner/sheets").glob("*.jpg"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("Lớp 9A/Nguyễn Văn An - 5.9.2010/trang1.jpg", scans[0].read_bytes())
        z.writestr("Lớp 9A/Nguyễn Văn An - 5.9.2010/trang2.jpg", scans[1].read_bytes())
        z.writestr("Lớp 9A/Lê Thị Chi - 1.2.2011/trang1.jpg", scans[2].read_bytes())
        z.writestr("Lớp 9A/danh sách lớp.jpg", scans[3].read_bytes())
    when = datetime(2026, 9, 5, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    folder = tmp_path / "eml"
    folder.mkdir()
    (folder / "lop.eml").write_bytes(message(
        sender="gv@example.vn", subject="Bài thi lớp 9A", body="Họ và tên: Cô Hoa\nĐiện thoại: 0912000111",
        received=when, attachments=[("Lớp 9A.zip", buf.getvalue(), "application/zip")]))
    contest = make_contest(tmp_path)
    assert ingest(contest, store_url, folder, "--no-grade") == 0
    with Store.open(store_url) as store:
        rows = entry_rows(store, ("seq", "identity", "state"))
        with store.read_tx("t") as conn:
            per_entry = conn.execute(sa.text("SELECT entry_id, count(*) FROM entry_files GROUP BY entry_id "
                                             "ORDER BY entry_id")).all()
    assert [(seq, ident.get("name"), st) for seq, ident, st in rows] == [
        (0, "Nguyễn Văn An", "pending"), (1, "Lê Thị Chi", "pending"), (2, "Cô Hoa", "pending")]
    assert [n for _, n in per_entry] == [2, 1, 1]


@pytest.mark.parametrize("keep", ["last", "first"])
def test_which_entry_of_one_person_counts_is_a_contest_rule_keyed_on_the_person(tmp_path, sqlite_url, keep):
    from datetime import datetime, timedelta, timezone

    hanoi = timezone(timedelta(hours=7))
    png = next(iter(sorted((Path(__file__).resolve().parents[3] / "samples/set-small/clean/sheets").glob("*.png"))))
    folder = tmp_path / "eml"
    folder.mkdir()
    people = [("a", "Họ và tên: Nguyễn Văn An\nNgày sinh: 5/9/2007\nĐiện thoại: 0912000111", 1),
              ("b", "Họ và tên: NGUYEN VAN AN\nNgày sinh: ngày 5 tháng 9 năm 2007", 3),     # the same person
              ("c", "Họ và tên: Trần Bình\nNgày sinh: 1/1/1990\nĐiện thoại: 0912 000 111", 2),  # another, same phone
              ("d", "Họ và tên: Nguyễn Văn An\nNgày sinh: 5/9/2007", 40)]                 # after the deadline
    for name, body, day_hours in people:
        when = datetime(2026, 9, 5, 8, 0, tzinfo=hanoi) + timedelta(hours=day_hours)
        (folder / f"{name}.eml").write_bytes(message(
            sender="truong@example.vn", subject="Bài thi", body=body, received=when,       # one school address
            attachments=[(f"{name}.png", png.read_bytes() + name.encode(), "image/png")]))
    contest = make_contest(tmp_path, keep_entry=keep)
    assert ingest(contest, sqlite_url, folder, "--no-grade") == 0
    with Store.open(sqlite_url) as store:
        rows = {Path(k).stem: None for k, _, _ in message_rows(store)}
        states = [s for s, in entry_rows(store, ("state",))]
        flags = [{f["code"] for f in fl} for fl, in entry_rows(store, ("flags",))]
    assert list(rows) == ["eml:a", "eml:b", "eml:c", "eml:d"]
    want = ["superseded", "pending"] if keep == "last" else ["pending", "superseded"]
    assert states == [*want, "pending", "late"]                    # the late one takes no part
    # An (every entry of his) and Bình share a phone: possibly one person, for the organisers to settle
    assert flags == [{"duplicate_participant"}] * 3 + [{"late", "duplicate_participant"}]


def test_the_committed_mailbox_matches_its_ground_truth(tmp_path, sqlite_url, capsys):
    folder = Path(__file__).resolve().parents[3] / "samples" / "mail-small"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    contest = make_contest(tmp_path)
    assert ingest(contest, sqlite_url, folder / "mailbox", "--no-grade") == 0
    unique = [m for m in truth["messages"] if not m.get("duplicate")]
    with Store.open(sqlite_url) as store:
        assert {k: s for k, s, _ in message_rows(store)} == {m["key"]: m["state"] for m in unique}
        got = Counter(s for s, _, _ in entry_rows(store, ("state", "unit", "code")))
    assert got == Counter(e["state"] for m in unique for e in m["entries"])
    assert len(truth["messages"]) == 24 and {m["kind"] for m in truth["messages"]} >= {
        "late", "resubmit", "auto", "bounce", "empty", "exact_dup", "forward_unit", "forward_other", "zip", "docx"}
