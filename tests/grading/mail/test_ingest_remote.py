"""``omr ingest imaps://…`` and ``--reply --smtp`` end to end, against a real Dovecot and a real SMTP server on
loopback: a re-run takes only new mail, ``--mark-seen`` marks only what was stored, one receipt per new message
(none to an auto-reply, none again on a re-run), an SMTP server down leaves receipts listed and sent later, a
receipt we sent delivered back to the mailbox is ignored, and an attempt never confirmed is not sent again
without ``--force``."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from grading.cli import main
from grading.db.mail import mail_cursor, mark_receipt_sending, message_rows, unsent_receipts
from grading.store import Store
from samples.mail import generate, message

from test_ingest import make_contest

ROOT = Path(__file__).resolve().parents[3]
HANOI = timezone(timedelta(hours=7))
T0 = datetime(2026, 9, 5, 9, 0, tzinfo=HANOI)
FROM = "hoankiem@thi.hanoi.gov.vn"          # the unit's mailbox in samples.mail's units.csv


def entry(n: int, *, headers: dict[str, str] | None = None, sender: str = "") -> bytes:
    """A person's message with one file (a PDF), or an auto-reply with ``headers``."""
    return message(sender=sender or f"hocsinh{n}@example.vn", subject=f"Bài dự thi số {n}",
                   body=f"Họ và tên: Nguyễn Văn An {n}\nNgày sinh: 5/9/2007\n", received=T0 + timedelta(minutes=n),
                   attachments=[(f"bài {n}.pdf", b"%PDF-1.4\n%" + bytes([n]) * 2000 + b"\n%%EOF\n",
                                 "application/pdf")], headers=headers, sender_name=f"Nguyễn Văn An {n}")


@pytest.fixture
def ca_bundle(tmp_path: Path, dovecot, smtp_server) -> Path:
    """Both test servers' own certificates in one file (OMR_MAIL_CA_FILE)."""
    path = tmp_path / "ca.pem"
    path.write_bytes(Path(dovecot.ca_file).read_bytes() + Path(smtp_server.ca_file).read_bytes())
    return path


def omr(contest: Path, db: str, source: str, *extra: str, password: str, ca: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "grading.cli", "ingest", source, "--contest", str(contest), "--db", db,
            "--unit", "Q.HK", "--no-grade", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMR_IMAP_PASSWORD": password, "OMR_MAIL_CA_FILE": str(ca)}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)


def receipts_of(smtp_server) -> list:
    return [message_from_bytes(m.data, policy=policy.default) for m in smtp_server.messages]


@pytest.mark.slow
def test_imap_reruns_take_only_new_mail_and_each_new_message_gets_one_receipt(tmp_path, dovecot, imap_user,
                                                                               smtp_server, ca_bundle):
    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    mails = [entry(1), entry(2), entry(3, headers={"Auto-Submitted": "auto-replied"})]
    for i, m in enumerate(mails):
        dovecot.append(user, m, when=T0 + timedelta(minutes=i))
    url = dovecot.url(user)
    reply = ("--reply", "--smtp", smtp_server.url)

    first = omr(contest, db, url, *reply, password=password, ca=ca_bundle)
    assert first.returncode == 0, first.stderr
    assert "Lần này: 3 thư trong hộp thư · 3 thư mới" in first.stdout
    assert "Thư xác nhận: đã gửi 2" in first.stdout
    got = receipts_of(smtp_server)
    assert len(got) == 2                                             # none to the auto-reply
    with Store.open(db) as store:
        rows = {mid: (h, state) for h, mid, state in message_rows(store, ("hash", "message_id", "state"))}
        assert unsent_receipts(store) == []
        cursor = mail_cursor(store, f"imaps://{user}@127.0.0.1:{dovecot.tls_port}/INBOX")
    assert sorted(s for _, s in rows.values()) == ["ignored", "taken", "taken"]
    for r, original in zip(got, mails[:2]):
        parent = message_from_bytes(original, policy=policy.default)
        assert r["In-Reply-To"] == parent["Message-ID"]
        assert r["X-OMR-Receipt"] == rows[parent["Message-ID"]][0]
        assert r["Subject"] == f"Xác nhận đã nhận thư: {parent['Subject']}"
        assert r["To"] == parent["From"].addresses[0].addr_spec and r["From"] == FROM
        assert r["Auto-Submitted"] == "auto-replied"
        body = r.get_content()
        assert "Ban Tổ chức" in body and "Mã bài dự thi BD-" in body and "1 tệp" in body
    assert cursor is not None and cursor[1] == 3
    assert all(r"\Seen" not in f for f in dovecot.flags(user).values())      # without --mark-seen: unchanged

    again = omr(contest, db, url, *reply, password=password, ca=ca_bundle)
    assert again.returncode == 0, again.stderr
    assert "Lần này: 0 thư trong hộp thư" in again.stdout and len(smtp_server.messages) == 2

    dovecot.append(user, entry(4), when=T0 + timedelta(hours=1))
    third = omr(contest, db, url, *reply, password=password, ca=ca_bundle)
    assert third.returncode == 0, third.stderr
    assert "Lần này: 1 thư trong hộp thư · 1 thư mới" in third.stdout
    assert len(smtp_server.messages) == 3 and receipts_of(smtp_server)[2]["Subject"].endswith("Bài dự thi số 4")

    # a receipt we sent, delivered back into the mailbox (a forwarding rule, a copy to ourselves): ignored
    dovecot.append(user, smtp_server.messages[0].data, when=T0 + timedelta(hours=2))
    fourth = omr(contest, db, url, *reply, password=password, ca=ca_bundle)
    assert fourth.returncode == 0, fourth.stderr
    assert "thư tự động 1" in fourth.stdout and len(smtp_server.messages) == 3
    with Store.open(db) as store:
        last = message_rows(store, ("state", "reason_code"))[-1]
    assert last == ("ignored", "own_mail")


@pytest.mark.slow
def test_smtp_down_leaves_receipts_listed_then_sent_later(tmp_path, dovecot, imap_user, smtp_server, ca_bundle):
    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    for i in range(3):
        dovecot.append(user, entry(10 + i), when=T0 + timedelta(minutes=i))
    smtp_server.stop()
    run = omr(contest, db, dovecot.url(user), "--reply", "--smtp", smtp_server.url, password=password, ca=ca_bundle)
    assert run.returncode == 12, run.stderr                          # after the summary: the receipts not sent
    assert "3 thư mới" in run.stdout and "Thư xác nhận: đã gửi 0 · chưa gửi 3" in run.stdout
    assert "cannot reach the SMTP server" in run.stderr
    with Store.open(db) as store:
        assert len(message_rows(store)) == 3 and len(unsent_receipts(store)) == 3

    listed = omr(contest, db, dovecot.url(user), "--resend-receipts", password=password, ca=ca_bundle)
    assert listed.returncode == 0 and "3 receipt(s) not sent yet" in listed.stdout
    assert "không chắc" not in listed.stdout

    smtp_server.start()
    sent = omr(contest, db, dovecot.url(user), "--resend-receipts", "--smtp", smtp_server.url, password=password,
               ca=ca_bundle)
    assert sent.returncode == 0, sent.stderr
    assert len(smtp_server.messages) == 3 and "Thư xác nhận: đã gửi 3" in sent.stdout
    with Store.open(db) as store:
        assert unsent_receipts(store) == []
    again = omr(contest, db, dovecot.url(user), "--resend-receipts", "--smtp", smtp_server.url, password=password,
                ca=ca_bundle)
    assert again.returncode == 0 and len(smtp_server.messages) == 3 and "0 receipt(s) not sent yet" in again.stdout


@pytest.mark.slow
def test_an_attempt_never_confirmed_is_listed_and_sent_again_only_with_force(tmp_path, dovecot, imap_user,
                                                                            smtp_server, ca_bundle):
    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    for i in range(2):
        dovecot.append(user, entry(20 + i), when=T0 + timedelta(minutes=i))
    assert omr(contest, db, dovecot.url(user), password=password, ca=ca_bundle).returncode == 0
    with Store.open(db) as store:
        first, second = unsent_receipts(store)
        assert mark_receipt_sending(store, first.message_hash)          # as a run killed while sending it leaves it
        assert not mark_receipt_sending(store, first.message_hash)      # and never twice
    resend = ("--resend-receipts", "--smtp", smtp_server.url)
    run = omr(contest, db, dovecot.url(user), *resend, password=password, ca=ca_bundle)
    assert run.returncode == 0, run.stderr
    assert f"{first.message_hash[:12]}  {first.to}" in run.stdout and "không chắc đã gửi" in run.stdout
    assert [m["X-OMR-Receipt"] for m in receipts_of(smtp_server)] == [second.message_hash]
    forced = omr(contest, db, dovecot.url(user), *resend, "--force", password=password, ca=ca_bundle)
    assert forced.returncode == 0, forced.stderr
    assert [m["X-OMR-Receipt"] for m in receipts_of(smtp_server)] == [second.message_hash, first.message_hash]


def test_mark_seen_marks_only_the_messages_stored(tmp_path, dovecot, imap_user, monkeypatch, capsys):
    """The store fails at the third message: the two stored are marked read, the rest are not, and the next run
    starts after them."""
    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    uids = [dovecot.append(user, entry(30 + i), when=T0 + timedelta(minutes=i)) for i in range(5)]
    monkeypatch.setenv("OMR_IMAP_PASSWORD", password)
    monkeypatch.setenv("OMR_MAIL_CA_FILE", str(dovecot.ca_file))
    import grading.db.mail as dbmail

    real, calls = dbmail.record_message, []

    def failing(store, m):
        calls.append(m.hash)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(store, m)

    monkeypatch.setattr(dbmail, "record_message", failing)
    args = ["ingest", dovecot.url(user), "--contest", str(contest), "--db", db, "--unit", "Q.HK", "--no-grade",
            "--mark-seen"]
    with pytest.raises(OSError, match="disk full"):
        main(args)
    flags = dovecot.flags(user)
    assert [r"\Seen" in flags[u] for u in uids] == [True, True, False, False, False]
    monkeypatch.setattr(dbmail, "record_message", real)
    capsys.readouterr()
    assert main(args) == 0
    assert "Lần này: 3 thư trong hộp thư · 3 thư mới" in capsys.readouterr().out
    assert all(r"\Seen" in f for f in dovecot.flags(user).values())


@pytest.mark.slow
def test_a_generated_mailbox_over_imap_matches_the_local_run(tmp_path, dovecot, imap_user):
    """The realistic mix delivered to Dovecot: every message in the state its ground truth says."""
    user, password = imap_user
    msgs = generate(12, seed=4, small=True)
    for data, truth in msgs:
        dovecot.append(user, data, when=datetime.fromisoformat(truth["received"]))
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    run = omr(contest, db, dovecot.url(user), password=password, ca=dovecot.ca_file)
    assert run.returncode == 0, run.stderr
    with Store.open(db) as store:
        states = sorted(s for s, in message_rows(store, ("state",)))
    assert states == sorted(t["state"] for _, t in msgs if not t.get("duplicate"))
    assert f"Lần này: {len(msgs)} thư trong hộp thư" in run.stdout


def test_imap_errors_exit_12_with_the_message(tmp_path, dovecot, imap_user, monkeypatch, capsys):
    user, _password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    monkeypatch.setenv("OMR_MAIL_CA_FILE", str(dovecot.ca_file))
    args = ["ingest", dovecot.url(user), "--contest", str(contest), "--db", db, "--unit", "Q.HK", "--no-grade"]
    monkeypatch.delenv("OMR_IMAP_PASSWORD", raising=False)
    assert main(args) == 2 and "OMR_IMAP_PASSWORD" in capsys.readouterr().err
    monkeypatch.setenv("OMR_IMAP_PASSWORD", "sai mật khẩu")
    assert main(args) == 12 and "refused the login" in capsys.readouterr().err
    monkeypatch.setenv("OMR_IMAP_PASSWORD", _password)
    missing = ["ingest", dovecot.url(user, "Không có"), *args[2:]]
    assert main(missing) == 12 and "there is no mailbox" in capsys.readouterr().err


def test_a_changed_uidvalidity_falls_back_to_content_hashes(tmp_path, dovecot, imap_user, monkeypatch, capsys):
    from grading.mail.imap import encode_mailbox_name

    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    monkeypatch.setenv("OMR_IMAP_PASSWORD", password)
    monkeypatch.setenv("OMR_MAIL_CA_FILE", str(dovecot.ca_file))
    name = encode_mailbox_name("Bài thi")
    conn = dovecot.client(user)
    assert conn.create(f'"{name}"')[0] == "OK"
    conn.logout()
    mails = [entry(i) for i in (40, 41, 42)]                  # the same bytes each time they are delivered
    for m in mails[:2]:
        dovecot.append(user, m, when=T0, mailbox=name)
    url = dovecot.url(user, "Bài thi")
    args = ["ingest", url, "--contest", str(contest), "--db", db, "--unit", "Q.HK", "--no-grade"]
    assert main(args) == 0
    with Store.open(db) as store:
        before = mail_cursor(store, f"imaps://{user}@127.0.0.1:{dovecot.tls_port}/Bài thi")
    assert before is not None and before[1] == 2
    conn = dovecot.client(user)                               # the mailbox restored: new UIDVALIDITY, UIDs from 1
    assert conn.delete(f'"{name}"')[0] == "OK" and conn.create(f'"{name}"')[0] == "OK"
    conn.logout()
    for m in mails:
        dovecot.append(user, m, when=T0, mailbox=name)
    capsys.readouterr()
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "UIDVALIDITY changed" in err
    assert "Lần này: 3 thư trong hộp thư · 1 thư mới · 2 đã có (bỏ qua)" in out
    with Store.open(db) as store:
        after = mail_cursor(store, f"imaps://{user}@127.0.0.1:{dovecot.tls_port}/Bài thi")
        assert len(message_rows(store)) == 3
    assert after is not None and after[0] != before[0] and after[1] == 3


def test_the_mailbox_going_away_mid_run_keeps_what_was_taken_and_exits_12(tmp_path, monkeypatch, capsys):
    from mail_servers import DovecotServer

    server = DovecotServer()
    try:
        server.start()
        user, password = server.add_user()
        for i in range(5):
            server.append(user, entry(50 + i), when=T0 + timedelta(minutes=i))
        contest = make_contest(tmp_path)
        db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
        monkeypatch.setenv("OMR_IMAP_PASSWORD", password)
        monkeypatch.setenv("OMR_MAIL_CA_FILE", str(server.ca_file))
        import grading.db.mail as dbmail

        real, calls = dbmail.record_message, []

        def then_stop(store, m):
            calls.append(m.hash)
            done = real(store, m)
            if len(calls) == 2:
                server.stop()                  # the 2nd message is stored; marking it read finds no server
            return done

        monkeypatch.setattr(dbmail, "record_message", then_stop)
        args = ["ingest", server.url(user), "--contest", str(contest), "--db", db, "--unit", "Q.HK", "--no-grade",
                "--mark-seen"]
        assert main(args) == 12
        out, err = capsys.readouterr()
        assert "Lần này: 2 thư trong hộp thư · 2 thư mới" in out and "was lost while marking messages" in err
        with Store.open(db) as store:
            assert len(message_rows(store)) == 2
        monkeypatch.setattr(dbmail, "record_message", real)
        server.start()
        assert main(args) == 0
        assert "Lần này: 4 thư trong hộp thư · 3 thư mới · 1 đã có" in capsys.readouterr().out
        assert all(r"\Seen" in f for f in server.flags(user).values())
    finally:
        server.remove()


def test_cursor_and_receipt_attempts_in_both_stores(tmp_path, store_url):
    from grading.db.mail import MessageRow, clear_receipt_sending, mark_receipt_sent, record_message, save_mail_cursor

    with Store.open(store_url) as store:
        assert mail_cursor(store, "imaps://a@h:993/INBOX") is None
        save_mail_cursor(store, "imaps://a@h:993/INBOX", 7, 10)
        save_mail_cursor(store, "imaps://a@h:993/INBOX", 7, 12)
        save_mail_cursor(store, "imaps://b@h:993/INBOX", 3, 1)
        assert mail_cursor(store, "imaps://a@h:993/INBOX") == (7, 12)
        assert mail_cursor(store, "imaps://b@h:993/INBOX") == (3, 1)
        for h, to in (("a" * 64, "an@example.vn"), ("b" * 64, None)):
            record_message(store, MessageRow(hash=h, data=b"x", source="s", source_key=h[:4], received_at=T0,
                                             state="no_entry" if to else "ignored", unit="Q.HK", receipt_to=to,
                                             receipt_subject="Xác nhận", receipt_body="Kính gửi"))
        assert not mark_receipt_sending(store, "b" * 64)                  # none due to an ignored message
        assert mark_receipt_sending(store, "a" * 64) and not mark_receipt_sending(store, "a" * 64)
        (due,) = unsent_receipts(store)
        assert due.attempted_at is not None
        assert mark_receipt_sending(store, "a" * 64, force=True)          # --force: once more, knowingly
        clear_receipt_sending(store, "a" * 64)                            # refused: certainly not sent
        assert unsent_receipts(store)[0].attempted_at is None
        assert mark_receipt_sending(store, "a" * 64) and mark_receipt_sent(store, "a" * 64)
        assert unsent_receipts(store) == [] and not mark_receipt_sending(store, "a" * 64, force=True)


def test_a_receipt_refused_stays_due_and_the_others_go(tmp_path, dovecot, imap_user, smtp_server, ca_bundle,
                                                        monkeypatch, capsys):
    user, password = imap_user
    contest = make_contest(tmp_path)
    db = f"sqlite:///{tmp_path / 'out' / 'results.sqlite'}"
    monkeypatch.setenv("OMR_IMAP_PASSWORD", password)
    monkeypatch.setenv("OMR_MAIL_CA_FILE", str(ca_bundle))
    for i in (60, 61, 62):
        dovecot.append(user, entry(i), when=T0)
    smtp_server.refuse.add("hocsinh61@example.vn")
    args = ["ingest", dovecot.url(user), "--contest", str(contest), "--db", db, "--unit", "Q.HK", "--no-grade",
            "--reply", "--smtp", smtp_server.url, "--from", "cuocthi@thi.hanoi.gov.vn"]
    assert main(args) == 12
    out, err = capsys.readouterr()
    assert "Thư xác nhận: đã gửi 2 · máy chủ từ chối 1" in out and "refused 1 receipt" in err
    assert [m.rcpt_tos for m in smtp_server.messages] == [("hocsinh60@example.vn",), ("hocsinh62@example.vn",)]
    assert {m.mail_from for m in smtp_server.messages} == {"cuocthi@thi.hanoi.gov.vn"}
    with Store.open(db) as store:
        (left,) = unsent_receipts(store)
    assert left.to == "hocsinh61@example.vn" and left.attempted_at is None      # certainly not sent: due again
