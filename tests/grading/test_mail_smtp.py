"""Receipts over SMTP, against a real aiosmtpd server on loopback (see ``mail_servers``)."""
from __future__ import annotations

import email
from datetime import datetime, timezone
from email.policy import default
from pathlib import Path

import pytest

from grading.mail.raw import Receipt
from grading.mail.remote import ConnectionLost, LoginFailed, ServerUnreachable, TlsUnavailable
from grading.mail.smtp import (ReceiptRefused, open_sender, ReceiptSender, SmtpUrl, build_receipt, is_our_receipt,
                               receipt_message_id, send_receipt)
from mail_servers import SmtpServer, client_context, free_port
from omr.errors import BadArguments, ExitCode

SENDER = "Ban Tổ chức Cuộc thi <cuocthi@example.org>"
BODY = ("Kính gửi Trường THCS Nguyễn Trãi,\n\nBan Tổ chức đã nhận bài dự thi của quý trường:\n"
        "  - DT-0042: bai_thi.pdf (3 trang)\n\nTrân trọng.\n")


def receipt(n: int = 1, to: str = "Trường THCS Nguyễn Trãi <thcs.nguyentrai@example.org>") -> Receipt:
    return Receipt(message_hash=f"{n:02d}" + "ab" * 31, to=to, subject="Re: Bài dự thi — Quận Ba Đình",
                   body=BODY, in_reply_to=f"  <entry-{n}@school.example.org>  ")


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=default)


def test_smtp_urls_and_no_password_in_them():
    assert SmtpUrl.parse("smtp://127.0.0.1:2525") == SmtpUrl("127.0.0.1", 2525, None, False)
    u = SmtpUrl.parse("smtps://cuocthi%40example.org@mail.example.org")
    assert (u.host, u.port, u.user, u.implicit_tls) == ("mail.example.org", 465, "cuocthi@example.org", True)
    assert str(u) == "smtps://cuocthi@example.org@mail.example.org:465"
    with pytest.raises(BadArguments, match="password in the smtp URL is refused.*OMR_SMTP_PASSWORD"):
        SmtpUrl.parse("smtp://u:pw@mail.example.org:587")
    with pytest.raises(BadArguments, match="put the password in OMR_SMTP_PASSWORD"):
        ReceiptSender(SmtpUrl.parse("smtp://u@mail.example.org:587"), sender=SENDER)


def test_receipt_message_is_utf8_threaded_and_marked_as_ours():
    r = receipt()
    raw = build_receipt(r, sender=SENDER, now=datetime(2026, 9, 6, 10, 0, tzinfo=timezone.utc)).as_bytes()
    assert raw.isascii()                                         # encoded words and quoted-printable only
    assert b"=?utf-8?" in next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject: "))
    msg = parsed(raw)
    assert msg["Subject"] == "Re: Bài dự thi — Quận Ba Đình"
    assert msg["To"].addresses[0].display_name == "Trường THCS Nguyễn Trãi"
    assert msg["In-Reply-To"] == msg["References"] == "<entry-1@school.example.org>"
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-OMR-Receipt"] == r.message_hash
    assert msg["Message-ID"] == receipt_message_id(r, SENDER) == f"<omr-receipt.{r.message_hash[:40]}@example.org>"
    assert msg.get_content().replace("\r\n", "\n") == BODY
    assert is_our_receipt(msg) and is_our_receipt({"x-omr-receipt": "1"})
    assert not is_our_receipt(parsed(b"From: a@b\r\nSubject: x\r\n\r\nhi\r\n")) and not is_our_receipt({})


def test_header_injection_from_the_received_message_is_not_copied():
    r = Receipt(message_hash="f" * 64, to="a@example.org\r\nBcc: victim@example.org", subject="Re: x\r\nBcc: v@x",
                body="ok", in_reply_to="<id@x>\r\nBcc: v@x")
    msg = parsed(build_receipt(r, sender=SENDER).as_bytes())
    assert msg["Bcc"] is None and msg["In-Reply-To"] == "<id@x>"


def test_receipts_delivered_over_starttls_on_one_connection(smtp_server: SmtpServer):
    url = SmtpUrl.parse(smtp_server.url)
    with ReceiptSender(url, sender=SENDER, ssl_context=client_context(smtp_server.ca_file)) as out:
        ids = [out.send(receipt(n)) for n in (1, 2, 3)]
        assert out.sent == 3
    assert [m.tls for m in smtp_server.messages] == [True, True, True]        # STARTTLS, offered and used
    assert [m.rcpt_tos for m in smtp_server.messages] == [("thcs.nguyentrai@example.org",)] * 3
    assert {m.mail_from for m in smtp_server.messages} == {"cuocthi@example.org"}
    got = [parsed(m.data) for m in smtp_server.messages]
    assert [g["Message-ID"] for g in got] == ids
    assert all(g["Subject"] == "Re: Bài dự thi — Quận Ba Đình" for g in got)
    assert all(g.get_content().replace("\r\n", "\n") == BODY for g in got)
    assert [g["X-OMR-Receipt"] for g in got] == [receipt(n).message_hash for n in (1, 2, 3)]
    assert all(is_our_receipt(g) for g in got)


def test_plain_smtp_without_starttls_sends_but_never_logs_in_in_clear(tmp_path: Path):
    server = SmtpServer(tmp_path, starttls=False).start()
    try:
        send_receipt(SmtpUrl.parse(server.url), receipt(), sender=SENDER)
        assert [m.tls for m in server.messages] == [False]
        url = SmtpUrl.parse(f"smtp://cuocthi@127.0.0.1:{server.port}")
        with pytest.raises(TlsUnavailable, match="does not offer STARTTLS"):
            send_receipt(url, receipt(), sender=SENDER, password="x")
    finally:
        server.stop()


def test_login_over_tls_with_a_utf8_password_and_a_wrong_one(tmp_path: Path):
    server = SmtpServer(tmp_path, users={"cuocthi@example.org": "mật-khẩu"}).start()
    ctx = client_context(server.ca_file)
    try:
        url = SmtpUrl.parse(f"smtp://cuocthi%40example.org@127.0.0.1:{server.port}")
        send_receipt(url, receipt(), sender=SENDER, password="mật-khẩu", ssl_context=ctx)
        assert [(m.user, m.tls) for m in server.messages] == [("cuocthi@example.org", True)]
        with pytest.raises(LoginFailed, match="refused the login of 'cuocthi@example.org'") as ei:
            send_receipt(url, receipt(), sender=SENDER, password="sai", ssl_context=ctx)
        assert ei.value.exit_code == ExitCode.MAILBOX
    finally:
        server.stop()


def test_implicit_tls(tmp_path: Path):
    server = SmtpServer(tmp_path, implicit_tls=True).start()
    try:
        send_receipt(SmtpUrl.parse(server.url), receipt(), sender=SENDER,
                     ssl_context=client_context(server.ca_file))
        assert [m.tls for m in server.messages] == [True]
    finally:
        server.stop()


def test_a_refused_address_fails_that_receipt_only(smtp_server: SmtpServer):
    smtp_server.refuse.add("nobody@example.org")
    with ReceiptSender(SmtpUrl.parse(smtp_server.url), sender=SENDER,
                       ssl_context=client_context(smtp_server.ca_file)) as out:
        with pytest.raises(ReceiptRefused, match="refused the receipt to nobody@example.org: .*550"):
            out.send(receipt(1, to="nobody@example.org"))
        with pytest.raises(ReceiptRefused, match="no address"):
            out.send(receipt(2, to="Trường học"))
        out.send(receipt(3))
    assert [m.rcpt_tos for m in smtp_server.messages] == [("thcs.nguyentrai@example.org",)]


def test_reconnects_when_the_server_dropped_the_connection(tmp_path: Path):
    server = SmtpServer(tmp_path).start()
    ctx = client_context(server.ca_file)
    try:
        with ReceiptSender(SmtpUrl.parse(server.url), sender=SENDER, ssl_context=ctx) as out:
            out.send(receipt(1))
            server.stop()                                    # every open connection goes with it
            server.start()
            out.send(receipt(2))                             # the dead connection is replaced
            server.stop()
            with pytest.raises((ConnectionLost, ServerUnreachable), match="SMTP server") as ei:
                out.send(receipt(3))
            assert ei.value.exit_code == ExitCode.MAILBOX
        assert [parsed(m.data)["X-OMR-Receipt"] for m in server.messages] == [receipt(1).message_hash,
                                                                             receipt(2).message_hash]
    finally:
        server.stop()


def test_unreachable_and_untrusted(smtp_server: SmtpServer):
    with pytest.raises(ServerUnreachable, match=r"cannot reach the SMTP server 127\.0\.0\.1:\d+"):
        send_receipt(SmtpUrl.parse(f"smtp://127.0.0.1:{free_port()}"), receipt(), sender=SENDER)
    with pytest.raises(ServerUnreachable, match="not trusted.*--ca-file"):
        send_receipt(SmtpUrl.parse(smtp_server.url), receipt(), sender=SENDER)
    assert smtp_server.messages == []


def test_open_sender_from_what_omr_ingest_is_given(tmp_path: Path):
    server = SmtpServer(tmp_path, users={"cuocthi@example.org": "mật-khẩu"}).start()
    try:
        env = {"OMR_SMTP_PASSWORD": "mật-khẩu", "OMR_MAIL_CA_FILE": str(server.ca_file)}
        with open_sender(f"smtp://cuocthi%40example.org@127.0.0.1:{server.port}", sender=SENDER, env=env) as out:
            out.send(receipt())
        with open_sender(f"smtp://127.0.0.1:{server.port}", sender=SENDER, ca_file=server.ca_file, env={}) as out:
            out.send(receipt(2))                     # no user named: no password needed
        assert [m.user for m in server.messages] == ["cuocthi@example.org", None]
        with pytest.raises(BadArguments, match="OMR_SMTP_PASSWORD"):
            open_sender(f"smtp://cuocthi@127.0.0.1:{server.port}", sender=SENDER, env={})
    finally:
        server.stop()
