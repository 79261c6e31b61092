"""Reading a mailbox over IMAP, against a real Dovecot on loopback (see ``mail_servers``)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from grading.mail.imap import (ImapCursor, ImapMailbox, ImapScan, ImapUrl, _batches, decode_mailbox_name,
                               is_imap_url, open_mailbox,
                               encode_mailbox_name,
                               parse_internaldate, uid_of)
from grading.mail.remote import (ConnectionLost, LoginFailed, MailboxMissing, ServerUnreachable, TlsUnavailable,
                                 read_password, tls_context)
from mail_servers import DovecotServer, client_context, free_port
from omr.errors import BadArguments, ExitCode

HANOI = timezone(timedelta(hours=7))


def message(n: int, *, date: str = "Mon, 01 Jan 2024 08:00:00 +0700") -> bytes:
    """A small message whose Date: (the sender's claim) differs from the time the server got it."""
    return (f"From: =?utf-8?b?{'VHLGsOG7nW5nIFRIQ1M='}?= <school{n}@example.org>\r\n"
            f"To: entries@example.org\r\nSubject: =?utf-8?b?QsOgaSBk4buxIHRoaQ==?= {n}\r\n"
            f"Date: {date}\r\nMessage-ID: <m{n}@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"Bài dự thi số {n}\r\n").encode()


def read_all(url: str, password: str, ca: Path, cursor: ImapCursor | None = None, **kw):
    with ImapMailbox(ImapUrl.parse(url), password, ssl_context=client_context(ca), **kw) as box:
        scan = box.scan(cursor)
        got = list(box.messages(scan))
        after = box.confirm(got)
    return scan, got, after


# --- URLs, dates, passwords (no server) ---------------------------------------------------------------------
def test_url_forms_and_the_password_never_in_it():
    u = ImapUrl.parse("imaps://unit%40example.org@mail.example.org/B%C3%A0i%20thi")
    assert (u.user, u.host, u.port, u.mailbox, u.implicit_tls) == ("unit@example.org", "mail.example.org", 993,
                                                                   "Bài thi", True)
    assert str(u) == "imaps://unit@example.org@mail.example.org:993/Bài thi"
    plain = ImapUrl.parse("imap://quan1@example.org@127.0.0.1:1143")
    assert (plain.user, plain.port, plain.mailbox, plain.implicit_tls) == ("quan1@example.org", 1143, "INBOX", False)
    with pytest.raises(BadArguments, match="password in the imaps URL is refused.*OMR_IMAP_PASSWORD"):
        ImapUrl.parse("imaps://unit:secret@mail.example.org/INBOX")
    with pytest.raises(BadArguments, match="no user name"):
        ImapUrl.parse("imaps://mail.example.org/INBOX")
    with pytest.raises(BadArguments, match="bad port"):
        ImapUrl.parse("imaps://u@mail.example.org:99999/INBOX")
    with pytest.raises(BadArguments, match="not an IMAP URL"):
        ImapUrl.parse("http://u@mail.example.org/")


def test_internaldate_is_timezone_aware_whatever_the_locale():
    assert parse_internaldate(" 6-Sep-2026 17:00:00 +0700") == datetime(2026, 9, 6, 17, 0, tzinfo=HANOI)
    assert parse_internaldate("16-sep-2026 09:59:59 -0130").utcoffset() == -timedelta(hours=1, minutes=30)


def test_mailbox_names_in_modified_utf7():
    assert encode_mailbox_name("INBOX") == "INBOX"
    assert encode_mailbox_name("Bài thi") == "B&AOA-i thi"
    assert encode_mailbox_name("A&B") == "A&-B"
    assert encode_mailbox_name("Dự thi") == "D&HvE- thi"
    for name in ("INBOX", "Bài thi", "A&B", "Dự thi — Quận Ba Đình"):
        assert decode_mailbox_name(encode_mailbox_name(name)) == name


def test_password_from_file_or_environment_never_guessed(tmp_path: Path):
    f = tmp_path / "pw"
    f.write_text("mật khẩu\nignored\n", encoding="utf-8")
    assert read_password("OMR_IMAP_PASSWORD", f, env={"OMR_IMAP_PASSWORD": "other"}) == "mật khẩu"
    assert read_password("OMR_IMAP_PASSWORD", None, env={"OMR_IMAP_PASSWORD": "env-pw"}) == "env-pw"
    assert read_password("OMR_SMTP_PASSWORD", None, env={}, required=False) is None
    with pytest.raises(BadArguments, match="OMR_IMAP_PASSWORD or give --password-file"):
        read_password("OMR_IMAP_PASSWORD", None, env={})
    with pytest.raises(BadArguments, match="cannot read the certificate file"):
        tls_context(tmp_path / "missing.pem")


def test_batches_bound_count_and_bytes():
    scan = ImapScan(uidvalidity=1, uids=(1, 2, 3, 4, 5), sizes=(10, 10, 50, 10, 10))
    assert list(_batches(scan, 2, 1000)) == [[1, 2], [3, 4], [5]]
    assert list(_batches(scan, 50, 30)) == [[1, 2], [3], [4, 5]]      # a message larger than the bound goes alone


# --- a real Dovecot ---------------------------------------------------------------------------------------
def test_fetch_everything_then_only_new_mail(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    t0 = datetime(2026, 9, 6, 16, 58, 30, tzinfo=HANOI)
    sent = [message(i) for i in range(3)]
    uids = [dovecot.append(user, m, when=t0 + timedelta(seconds=i)) for i, m in enumerate(sent)]
    scan, got, cursor = read_all(dovecot.url(user), password, dovecot.ca_file)
    assert [m.data for m in got] == sent                              # the bytes exactly as stored
    assert [m.key for m in got] == [f"imap:{scan.uidvalidity}:{u}" for u in uids]
    assert [uid_of(m) for m in got] == uids and not scan.restarted and scan.note == ""
    assert [m.received_at for m in got] == [t0 + timedelta(seconds=i) for i in range(3)]   # INTERNALDATE, not Date:
    assert all(m.received_at.utcoffset() is not None for m in got)
    assert got[0].source == f"imaps://{user}@127.0.0.1:{dovecot.tls_port}/INBOX"
    assert cursor == ImapCursor(scan.uidvalidity, uids[-1])

    new = [message(10), message(11)]
    more = [dovecot.append(user, m, when=t0 + timedelta(minutes=5)) for m in new]
    scan2, got2, cursor2 = read_all(dovecot.url(user), password, dovecot.ca_file, cursor)
    assert [m.data for m in got2] == new and scan2.uids == tuple(more)
    assert cursor2 == ImapCursor(scan.uidvalidity, more[-1])
    scan3, got3, cursor3 = read_all(dovecot.url(user), password, dovecot.ca_file, cursor2)
    assert got3 == [] and scan3.uids == () and cursor3 == cursor2    # "n:*" past the end answers nothing new


def test_nothing_marked_read_unless_asked_and_only_once_stored(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    when = datetime(2026, 9, 1, 9, 0, tzinfo=HANOI)
    uids = [dovecot.append(user, message(i), when=when) for i in range(3)]
    read_all(dovecot.url(user), password, dovecot.ca_file)
    assert all(r"\Seen" not in f for f in dovecot.flags(user).values())         # BODY.PEEK, read-only mailbox

    with ImapMailbox(ImapUrl.parse(dovecot.url(user)), password, mark_seen=True,
                     ssl_context=client_context(dovecot.ca_file)) as box:
        got = list(box.messages(box.scan(None)))
        assert all(r"\Seen" not in f for f in dovecot.flags(user).values())     # fetched is not stored yet
        cursor = box.confirm(got[:2])                                           # the caller stored two
    flags = dovecot.flags(user)
    assert [r"\Seen" in flags[u] for u in uids] == [True, True, False]
    assert cursor.last_uid == uids[1]


def test_starttls_url_and_a_utf8_password(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    assert not password.isascii()
    dovecot.append(user, message(1), when=datetime(2026, 9, 2, 10, 0, tzinfo=HANOI))
    scan, got, _ = read_all(dovecot.url(user, implicit_tls=False), password, dovecot.ca_file)
    assert len(got) == 1 and got[0].source.startswith("imap://")


def test_changed_uidvalidity_starts_again_from_the_first_message(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    box_name = encode_mailbox_name("Bài thi")
    conn = dovecot.client(user)
    assert conn.create(f'"{box_name}"')[0] == "OK"
    conn.logout()
    when = datetime(2026, 9, 3, 8, 0, tzinfo=HANOI)
    for i in range(2):
        dovecot.append(user, message(i), when=when, mailbox=box_name)
    url = dovecot.url(user, "Bài thi")
    scan, got, cursor = read_all(url, password, dovecot.ca_file)
    assert len(got) == 2 and cursor.last_uid == 2

    conn = dovecot.client(user)                                   # the mailbox is recreated (a restore, a move)
    assert conn.delete(f'"{box_name}"')[0] == "OK" and conn.create(f'"{box_name}"')[0] == "OK"
    conn.logout()
    for i in (0, 1, 5):
        dovecot.append(user, message(i), when=when, mailbox=box_name)
    scan2, got2, cursor2 = read_all(url, password, dovecot.ca_file, cursor)
    assert scan2.uidvalidity != scan.uidvalidity and scan2.restarted
    assert f"UIDVALIDITY changed from {scan.uidvalidity} to {scan2.uidvalidity}" in scan2.note
    assert [m.data for m in got2] == [message(0), message(1), message(5)]       # the caller de-duplicates by hash
    assert cursor2 == ImapCursor(scan2.uidvalidity, 3)


def test_wrong_password_is_said_with_exit_code_12(dovecot: DovecotServer, imap_user):
    user, _ = imap_user
    with pytest.raises(LoginFailed, match=rf"refused the login of '{user}' \(\[AUTHENTICATIONFAILED\] "
                       "Authentication failed.\\).*OMR_IMAP_PASSWORD") as ei:
        read_all(dovecot.url(user), "wrong", dovecot.ca_file)
    assert ei.value.exit_code is ExitCode.MAILBOX == 12


def test_missing_mailbox_names_the_ones_there(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    conn = dovecot.client(user)
    assert conn.create('"' + encode_mailbox_name("Bài thi") + '"')[0] == "OK"
    conn.logout()
    with pytest.raises(MailboxMissing, match="no mailbox 'Entries2026'.*mailboxes there: Bài thi, INBOX$") as ei:
        read_all(dovecot.url(user, "Entries2026"), password, dovecot.ca_file)
    assert ei.value.exit_code == ExitCode.MAILBOX


def test_unreachable_host_and_untrusted_certificate(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    with pytest.raises(ServerUnreachable, match=r"cannot reach the IMAP server 127\.0\.0\.1:\d+"):
        read_all(f"imaps://{user}@127.0.0.1:{free_port()}/INBOX", password, dovecot.ca_file)
    with pytest.raises(ServerUnreachable, match="certificate .* is not trusted.*--ca-file"):
        with ImapMailbox(ImapUrl.parse(dovecot.url(user)), password, ssl_context=tls_context(env={})):
            pass
    ctx = tls_context(env={"OMR_MAIL_CA_FILE": str(dovecot.ca_file)})          # the variable trusts it
    with ImapMailbox(ImapUrl.parse(dovecot.url(user)), password, ssl_context=ctx) as box:
        assert box.scan(None).uids == ()


def test_server_stopped_mid_run_keeps_what_was_taken(tmp_path: Path):
    server = DovecotServer()
    try:
        server.start()
        user, password = server.add_user()
        sent = [message(i) for i in range(5)]
        for m in sent:
            server.append(user, m, when=datetime(2026, 9, 4, 8, 0, tzinfo=HANOI))
        taken = []
        with pytest.raises(ConnectionLost, match="lost while fetching messages .*after 2 messages.*run the same"):
            with ImapMailbox(ImapUrl.parse(server.url(user)), password, batch_messages=2,
                             ssl_context=client_context(server.ca_file)) as box:
                for m in box.messages(box.scan(None)):
                    taken.append(m)
                    cursor = box.confirm([m])
                    server.stop()                     # the first batch (2 messages) was already fetched
        assert [m.data for m in taken] == sent[:2] and cursor.last_uid == 2
        assert ConnectionLost("x").exit_code == ExitCode.MAILBOX
    finally:
        server.remove()


def test_plain_imap_without_starttls_is_refused():
    server = DovecotServer(tls=False)
    try:
        server.start()
        user, password = server.add_user()
        with pytest.raises(TlsUnavailable, match="does not offer STARTTLS.*imaps://"):
            read_all(server.url(user, implicit_tls=False), password, server.ca_file)
    finally:
        server.remove()


def test_mailbox_deleted_mid_run_keeps_what_was_taken(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    name = encode_mailbox_name("Bài thi")
    conn = dovecot.client(user)
    assert conn.create(f'"{name}"')[0] == "OK"
    conn.logout()
    sent = [message(i) for i in range(4)]
    for m in sent:
        dovecot.append(user, m, when=datetime(2026, 9, 5, 8, 0, tzinfo=HANOI), mailbox=name)
    taken = []
    with pytest.raises(ConnectionLost, match="after 2 messages") as ei:
        with ImapMailbox(ImapUrl.parse(dovecot.url(user, "Bài thi")), password, batch_messages=2,
                         ssl_context=client_context(dovecot.ca_file)) as box:
            for m in box.messages(box.scan(None)):
                taken.append(m)
                if len(taken) == 1:
                    other = dovecot.client(user)
                    assert other.delete(f'"{name}"')[0] == "OK"
                    other.logout()
    assert [m.data for m in taken] == sent[:2] and ei.value.exit_code == ExitCode.MAILBOX


def test_a_missing_dovecot_fails_with_what_to_install(tmp_path: Path):
    with pytest.raises(pytest.fail.Exception, match="Dovecot is not installed .*apt-get install dovecot-imapd"):
        DovecotServer(binary=tmp_path / "no-dovecot")


def test_open_mailbox_from_what_omr_ingest_is_given(dovecot: DovecotServer, imap_user, tmp_path: Path):
    user, password = imap_user
    dovecot.append(user, message(7), when=datetime(2026, 9, 6, 16, 59, 59, tzinfo=HANOI))
    assert is_imap_url(dovecot.url(user)) and is_imap_url(" IMAP://u@h/INBOX") and not is_imap_url("/srv/mail")
    env = {"OMR_IMAP_PASSWORD": password, "OMR_MAIL_CA_FILE": str(dovecot.ca_file)}
    with open_mailbox(dovecot.url(user), env=env) as box:
        assert [m.data for m in box.messages(box.scan(None))] == [message(7)]
    pw_file = tmp_path / "imap-password"
    pw_file.write_text(password + "\n", encoding="utf-8")
    with open_mailbox(dovecot.url(user, implicit_tls=False), password_file=pw_file, ca_file=dovecot.ca_file,
                      mark_seen=True, env={}) as box:
        box.confirm(list(box.messages(box.scan(None))))
    assert list(dovecot.flags(user).values()) == [{"\\Seen"}]
    with pytest.raises(BadArguments, match="no password"):
        open_mailbox(dovecot.url(user), env={})


def test_never_expunges_a_message_marked_deleted(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    when = datetime(2026, 9, 6, 9, 0, tzinfo=HANOI)
    uids = [dovecot.append(user, message(1), when=when, flags="\\Deleted"), dovecot.append(user, message(2), when=when)]
    for mark_seen in (False, True):
        with ImapMailbox(ImapUrl.parse(dovecot.url(user)), password, mark_seen=mark_seen,
                         ssl_context=client_context(dovecot.ca_file)) as box:
            assert [m.data for m in box.messages(box.scan(None))] == [message(1), message(2)]
            box.confirm([])
    assert sorted(dovecot.flags(user)) == uids                    # LOGOUT only: no CLOSE, no EXPUNGE


def test_maildir_delivery_time_becomes_the_internaldate(dovecot: DovecotServer, imap_user):
    user, password = imap_user
    times = [datetime(2026, 9, 6, 16, 59, 58, tzinfo=HANOI), datetime(2026, 9, 6, 17, 0, 1, tzinfo=HANOI)]
    for i, when in enumerate(times):
        dovecot.deliver(user, message(i), when=when, name=f"{i}.omr-test")
    scan, got, _ = read_all(dovecot.url(user), password, dovecot.ca_file)
    assert [m.data for m in got] == [message(0), message(1)] and [m.received_at for m in got] == times
