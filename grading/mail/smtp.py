"""Send receipts over SMTP (stdlib ``smtplib``): one UTF-8 message per received message, recognisable as ours.

A receipt carries ``Auto-Submitted: auto-replied`` (RFC 3834: no one answers it automatically) and
``X-OMR-Receipt: <the received message's hash>``; ``is_our_receipt`` recognises both, so mail the contest sent
itself is never answered again. Its Message-ID is made from that hash: the same receipt sent twice (a crash
between sending and recording it) is the same message to the recipient's mail program.

``ReceiptSender`` keeps one connection for many receipts and reconnects once when the server dropped it. A
password comes from ``OMR_SMTP_PASSWORD`` (or a file), never from the URL.
"""
from __future__ import annotations

import base64
import re
import smtplib
import ssl
from collections.abc import Mapping
from pathlib import Path
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage, Message
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from urllib.parse import unquote, urlsplit

from omr.errors import BadArguments

from .raw import Receipt
from .remote import (CA_FILE_ENV, ConnectionLost, LoginFailed, MailServerError, ServerUnreachable, TlsUnavailable,
                     read_password, refuse_password_in_url, split_host_port, tls_context)

PASSWORD_ENV = "OMR_SMTP_PASSWORD"
RECEIPT_HEADER = "X-OMR-Receipt"
POLICY = SMTP.clone(max_line_length=100)      # "X-OMR-Receipt: <64 hex digits>" stays on one line


class ReceiptRefused(MailServerError):
    """The server refused this one receipt (a wrong address, a message it will not take); the others can go."""


@dataclass(frozen=True, slots=True)
class SmtpUrl:
    """``smtp://[user@]host[:port]`` (STARTTLS when offered; required to log in) or ``smtps://…`` (TLS at once)."""
    host: str
    port: int
    user: str | None = None
    implicit_tls: bool = False

    @classmethod
    def parse(cls, text: str) -> SmtpUrl:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise BadArguments(f"not an SMTP URL: {text!r} (expected smtp://HOST:PORT or smtps://USER@HOST)")
        userinfo, at, hostport = parts.netloc.rpartition("@")
        refuse_password_in_url(userinfo, scheme, PASSWORD_ENV)
        host, port = split_host_port(hostport, 465 if scheme == "smtps" else 25, scheme, text)
        return cls(host=host, port=port, user=unquote(userinfo) if at and userinfo else None,
                   implicit_tls=scheme == "smtps")

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}"


def is_our_receipt(headers: Message | Mapping[str, str]) -> bool:
    """True for a message the contest sent itself (a receipt): never answer it, never take it as an entry."""
    return any(str(name).lower() == RECEIPT_HEADER.lower() for name in headers.keys())


def receipt_message_id(receipt: Receipt, sender: str) -> str:
    """The receipt's Message-ID, the same every time for the same received message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "omr.invalid"
    return f"<omr-receipt.{receipt.message_hash[:40]}@{domain}>"


def build_receipt(receipt: Receipt, *, sender: str, message_id: str | None = None,
                  now: datetime | None = None) -> EmailMessage:
    """The receipt as an RFC 5322 message: UTF-8 subject and names encoded (RFC 2047), the body quoted-printable
    UTF-8, threaded under the received message."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = _one_line(receipt.to)
    msg["Subject"] = _one_line(receipt.subject)
    msg["Date"] = format_datetime(now or datetime.now(timezone.utc))
    msg["Message-ID"] = message_id or receipt_message_id(receipt, sender)
    parent = _msg_id(receipt.in_reply_to)
    if parent:
        msg["In-Reply-To"] = parent
        msg["References"] = parent
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"          # Exchange/Outlook: no out-of-office answer to a receipt
    msg[RECEIPT_HEADER] = receipt.message_hash
    msg.set_content(receipt.body, charset="utf-8", cte="quoted-printable")
    return msg


def send_receipt(url: SmtpUrl, receipt: Receipt, *, sender: str, password: str | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> str:
    """Send one receipt on a connection of its own; returns the Message-ID it set."""
    with ReceiptSender(url, sender=sender, password=password, ssl_context=ssl_context) as out:
        return out.send(receipt)


def open_sender(smtp_url: str, *, sender: str, password_file: str | Path | None = None,
                ca_file: str | Path | None = None, env: Mapping[str, str] | None = None) -> ReceiptSender:
    """The sender ``--reply --smtp URL`` names: a password (``OMR_SMTP_PASSWORD`` or ``password_file``) only when
    the URL names a user; trusting ``ca_file`` (or ``OMR_MAIL_CA_FILE``) too. Connects at the first receipt."""
    url = SmtpUrl.parse(smtp_url)
    password = read_password(PASSWORD_ENV, password_file, env=env, required=bool(url.user))
    return ReceiptSender(url, sender=sender, password=password, ssl_context=tls_context(ca_file, env=env))


class ReceiptSender:
    """One SMTP connection kept open for many receipts (opened at the first one, reopened once if dropped)."""

    def __init__(self, url: SmtpUrl, *, sender: str, password: str | None = None,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 60.0):
        if not parseaddr(sender)[1]:
            raise BadArguments(f"no e-mail address in the sender {sender!r}")
        if url.user and not password:
            raise BadArguments(f"the SMTP URL names the user {url.user!r}: put the password in {PASSWORD_ENV}")
        self.url, self.sender, self._password, self._timeout = url, sender, password, timeout
        self._ctx = ssl_context or ssl.create_default_context()
        self._smtp: smtplib.SMTP | None = None
        self.sent = 0

    def __enter__(self) -> ReceiptSender:
        return self

    @property
    def connected(self) -> bool:
        """A connection is open (a receipt sent on it may have reached the server even if the send fails)."""
        return self._smtp is not None

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def send(self, receipt: Receipt) -> str:
        """Send ``receipt``; returns its Message-ID. ``ReceiptRefused`` when the server will not take this one
        (the connection stays usable); ``ConnectionLost``/``ServerUnreachable`` when the server is gone."""
        to = parseaddr(_one_line(receipt.to))[1]
        if "@" not in to:
            raise ReceiptRefused(f"no address to send the receipt to in {receipt.to!r}")
        msg = build_receipt(receipt, sender=self.sender)
        data = msg.as_bytes()
        for attempt in (1, 2):
            smtp = self._connection()
            try:
                smtp.sendmail(parseaddr(self.sender)[1], [to], data)
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError,
                    smtplib.SMTPNotSupportedError) as exc:
                raise ReceiptRefused(f"the SMTP server {self.url.host} refused the receipt to {to}: "
                                     f"{_smtp_reason(exc)}") from exc
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException, OSError) as exc:
                self._drop()
                if attempt == 2:
                    raise ConnectionLost(f"the connection to the SMTP server {self.url} was lost while sending the "
                                         f"receipt to {to} ({_smtp_reason(exc)}), after {self.sent} receipts; the "
                                         "unsent ones are sent by a later run (--resend-receipts)") from exc
                continue
            self.sent += 1
            return str(msg["Message-ID"])
        raise AssertionError("unreachable")

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            self._smtp = self._connect()
        return self._smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.url.host}:{self.url.port}"
        try:
            if self.url.implicit_tls:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(self.url.host, self.url.port, context=self._ctx,
                                                      timeout=self._timeout)
            else:
                smtp = smtplib.SMTP(self.url.host, self.url.port, timeout=self._timeout)
            smtp.ehlo()
            if not self.url.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=self._ctx)
                smtp.ehlo()
            elif not self.url.implicit_tls and self.url.user:
                smtp.close()
                raise TlsUnavailable(f"the SMTP server {where} does not offer STARTTLS: the password would travel "
                                     "in clear; use smtps:// or enable TLS on the server")
        except ssl.SSLCertVerificationError as exc:
            raise ServerUnreachable(f"the TLS certificate of the SMTP server {where} is not trusted ("
                                    f"{exc.verify_message or exc}): give it with --ca-file or {CA_FILE_ENV}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ServerUnreachable(f"cannot reach the SMTP server {where}: {_smtp_reason(exc)}; check the host "
                                    "name and port, and that the server is running") from exc
        if self.url.user:
            self._login(smtp)
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        user, password = self.url.user or "", self._password or ""
        try:
            if "plain" in smtp.esmtp_features.get("auth", "").lower().split():    # UTF-8 (smtplib's is ASCII)
                token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
                code, resp = smtp.docmd("AUTH", "PLAIN " + token)
                if code != 235:
                    raise smtplib.SMTPAuthenticationError(code, resp)
            else:
                smtp.login(user, password)
        except (smtplib.SMTPAuthenticationError, UnicodeEncodeError, smtplib.SMTPNotSupportedError) as exc:
            smtp.close()
            raise LoginFailed(f"the SMTP server {self.url.host}:{self.url.port} refused the login of {user!r} "
                              f"({_smtp_reason(exc)}): check the user name and {PASSWORD_ENV}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            raise ConnectionLost(f"the connection to the SMTP server {self.url} was lost at login: "
                                 f"{_smtp_reason(exc)}") from exc


_MSG_ID = re.compile(r"<[^<>\s]+>")


def _msg_id(text: str) -> str:
    """The first ``<…>`` Message-ID in ``text`` (a header from outside: nothing else is copied over)."""
    m = _MSG_ID.search(text or "")
    return m.group(0) if m else ""


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def _smtp_reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{a}: {c} {m.decode(errors='replace')}" for a, (c, m) in exc.recipients.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {msg}"
    return str(exc) or type(exc).__name__
