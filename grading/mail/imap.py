"""Read a mailbox over IMAP (stdlib ``imaplib``), UID by UID, without ever deleting or changing a message.

The caller drives it so that a crash never loses mail and never marks an unstored message as read::

    with ImapMailbox(url, password, mark_seen=False, ssl_context=tls_context(ca)) as box:
        scan = box.scan(cursor)                 # which UIDs are new since the stored cursor
        for message in box.messages(scan):      # RawMessage, in UID order, fetched in bounded batches
            store(message)
            cursor = box.confirm([message])     # marks it \\Seen (only with mark_seen); the cursor to store

Messages are fetched with ``BODY.PEEK[]`` (the server sets no flag) and, without ``mark_seen``, the mailbox is
opened read-only (``EXAMINE``). A changed UIDVALIDITY (the mailbox was recreated or restored) starts again from
the first message: the caller recognises the ones it has by their content hash.
"""
from __future__ import annotations

import base64
import imaplib
import re
import ssl
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from omr.errors import BadArguments

from .raw import RawMessage
from .remote import (ConnectionLost, LoginFailed, MailboxMissing, MailServerError, ServerUnreachable,
                     TlsUnavailable, read_password, refuse_password_in_url, split_host_port, tls_context)

PASSWORD_ENV = "OMR_IMAP_PASSWORD"
BATCH_MESSAGES = 50                  # at most this many messages per UID FETCH …
BATCH_BYTES = 32 * 1024 * 1024       # … and at most this many bytes (a single larger message is a batch alone)


@dataclass(frozen=True, slots=True)
class ImapUrl:
    """``imaps://user@host[:port]/MAILBOX`` (TLS from the start) or ``imap://…`` (STARTTLS, required)."""
    user: str
    host: str
    port: int
    mailbox: str = "INBOX"
    implicit_tls: bool = True

    @classmethod
    def parse(cls, text: str) -> ImapUrl:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme not in ("imap", "imaps"):
            raise BadArguments(f"not an IMAP URL: {text!r} (expected imaps://USER@HOST/MAILBOX)")
        userinfo, at, hostport = parts.netloc.rpartition("@")
        refuse_password_in_url(userinfo, scheme, PASSWORD_ENV)
        if not at or not userinfo:
            raise BadArguments(f"no user name in {text!r}: write it as {scheme}://USER@HOST/MAILBOX")
        host, port = split_host_port(hostport, 993 if scheme == "imaps" else 143, scheme, text)
        mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(user=unquote(userinfo), host=host, port=port, mailbox=mailbox, implicit_tls=scheme == "imaps")

    def __str__(self) -> str:
        """The URL as people name the mailbox (never with a password)."""
        scheme = "imaps" if self.implicit_tls else "imap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{self.user}@{host}:{self.port}/{self.mailbox}"


@dataclass(frozen=True, slots=True)
class ImapCursor:
    """Where a mailbox was read up to: every UID ≤ ``last_uid`` of this UIDVALIDITY is stored."""
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class ImapScan:
    """What one run will fetch: the new UIDs (with their sizes), in order."""
    uidvalidity: int
    uids: tuple[int, ...]
    sizes: tuple[int, ...]
    restarted: bool = False          # the stored cursor belonged to another UIDVALIDITY: reading from UID 1
    note: str = ""                   # for people: why the run starts from the first message again

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)


class ImapMailbox:
    """One connection to one mailbox. Use as a context manager; never deletes, never expunges."""

    def __init__(self, url: ImapUrl, password: str, *, mark_seen: bool = False,
                 ssl_context: ssl.SSLContext | None = None, timeout: float = 120.0,
                 batch_messages: int = BATCH_MESSAGES, batch_bytes: int = BATCH_BYTES):
        self.url, self.mark_seen = url, mark_seen
        self._password, self._ctx, self._timeout = password, ssl_context or ssl.create_default_context(), timeout
        self._batch_messages, self._batch_bytes = max(1, batch_messages), max(1, batch_bytes)
        self._conn: imaplib.IMAP4 | None = None
        self._uidvalidity = 0
        self._last_uid = 0
        self.delivered = 0            # messages handed to the caller so far in this connection

    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        conn = self._connect()
        try:
            self._login(conn)
            self._select(conn)
        except BaseException:
            _shutdown(conn)
            raise
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                _shutdown(conn)

    def scan(self, cursor: ImapCursor | None) -> ImapScan:
        """The messages after ``cursor`` (all of them with no cursor, or when the UIDVALIDITY changed)."""
        restarted = cursor is not None and cursor.uidvalidity != self._uidvalidity
        start = 1 if cursor is None or restarted else cursor.last_uid + 1
        self._last_uid = 0 if cursor is None or restarted else cursor.last_uid
        with self._guard("listing the new messages"):
            typ, data = self._require().uid("FETCH", f"{start}:*", "(UID RFC822.SIZE)")
        _check(typ, data, f"listing the messages of {self.url}")
        found: dict[int, int] = {}
        for head, _body in _records(data):
            uid, size = _int(_UID, head), _int(_SIZE, head)
            if uid is not None and uid >= start:          # "n:*" also answers the last message when n is past it
                found[uid] = size or 0
        uids = tuple(sorted(found))
        note = ""
        if restarted:
            note = (f"{self.url}: UIDVALIDITY changed from {cursor.uidvalidity} to {self._uidvalidity} (the mailbox "
                    f"was recreated or restored): reading all {len(uids)} messages again; those already taken are "
                    "recognised by their content")
        return ImapScan(uidvalidity=self._uidvalidity, uids=uids, sizes=tuple(found[u] for u in uids),
                        restarted=restarted, note=note)

    def messages(self, scan: ImapScan) -> Iterator[RawMessage]:
        """Each message of ``scan`` as the server stored it, with its INTERNALDATE; fetched in batches so that
        memory stays bounded. A message removed meanwhile by another client is skipped."""
        for batch in _batches(scan, self._batch_messages, self._batch_bytes):
            with self._guard("fetching messages"):
                typ, data = self._require().uid("FETCH", ",".join(map(str, batch)), "(UID INTERNALDATE BODY.PEEK[])")
            _check(typ, data, f"fetching messages from {self.url}")
            got: dict[int, RawMessage] = {}
            for head, body in _records(data):
                uid = _int(_UID, head)
                date = _INTERNALDATE.search(head)
                if uid is None or body is None or uid not in batch:
                    continue                              # an unsolicited FETCH (another client's flag change)
                got[uid] = RawMessage(data=body, key=f"imap:{scan.uidvalidity}:{uid}", source=str(self.url),
                                      received_at=parse_internaldate(date.group(1).decode()) if date else None)
            for uid in batch:
                if uid in got:
                    self.delivered += 1
                    yield got.pop(uid)

    def confirm(self, messages: Sequence[RawMessage]) -> ImapCursor:
        """Call after ``messages`` are stored: marks them ``\\Seen`` when asked to (one UID STORE), and returns
        the cursor to store. Confirm in the order the messages came."""
        uids = [uid_of(m) for m in messages]
        if self.mark_seen and uids:
            with self._guard("marking messages as read"):
                typ, data = self._require().uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", r"(\Seen)")
            _check(typ, data, f"marking messages as read in {self.url}")
        self._last_uid = max([self._last_uid, *uids])
        return ImapCursor(self._uidvalidity, self._last_uid)

    # --- connection -------------------------------------------------------------------------------------
    def _connect(self) -> imaplib.IMAP4:
        where = f"{self.url.host}:{self.url.port}"
        try:
            if self.url.implicit_tls:
                return imaplib.IMAP4_SSL(self.url.host, self.url.port, ssl_context=self._ctx, timeout=self._timeout)
            conn = imaplib.IMAP4(self.url.host, self.url.port, timeout=self._timeout)
        except ssl.SSLCertVerificationError as exc:
            raise ServerUnreachable(_untrusted(where, exc)) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            raise ServerUnreachable(f"cannot reach the IMAP server {where}: {_reason(exc)}; check the host name and "
                                    "port, and that the server is running") from exc
        if "STARTTLS" not in conn.capabilities:
            _shutdown(conn)
            raise TlsUnavailable(f"the IMAP server {where} does not offer STARTTLS: the password would travel in "
                                 "clear; use imaps:// (port 993) or enable TLS on the server")
        try:
            conn.starttls(ssl_context=self._ctx)
        except ssl.SSLCertVerificationError as exc:
            _shutdown(conn)
            raise ServerUnreachable(_untrusted(where, exc)) from exc
        except (OSError, imaplib.IMAP4.error) as exc:
            _shutdown(conn)
            raise ServerUnreachable(f"STARTTLS with the IMAP server {where} failed: {_reason(exc)}") from exc
        return conn

    def _login(self, conn: imaplib.IMAP4) -> None:
        user, password = self.url.user, self._password
        try:
            if "AUTH=PLAIN" in conn.capabilities:         # UTF-8 user names and passwords (LOGIN is ASCII only)
                conn.authenticate("PLAIN", lambda _challenge: b"\0" + user.encode() + b"\0" + password.encode())
            else:
                conn.login(user, password)
        except imaplib.IMAP4.abort as exc:
            raise ConnectionLost(f"the IMAP server {self.url.host} closed the connection at login: "
                                 f"{_reason(exc)}") from exc
        except (imaplib.IMAP4.error, UnicodeEncodeError) as exc:
            raise LoginFailed(f"the IMAP server {self.url.host}:{self.url.port} refused the login of {user!r} "
                              f"({_reason(exc)}): check the user name and the password (environment variable "
                              f"{PASSWORD_ENV} or --password-file)") from exc
        except OSError as exc:
            raise ConnectionLost(f"the connection to {self.url.host} was lost at login: {_reason(exc)}") from exc

    def _select(self, conn: imaplib.IMAP4) -> None:
        name = _quote(encode_mailbox_name(self.url.mailbox))
        try:
            typ, data = conn.select(name, readonly=not self.mark_seen)
            if typ != "OK":
                raise MailboxMissing(f"there is no mailbox {self.url.mailbox!r} for {self.url.user} on "
                                     f"{self.url.host} ({_text(data)}); mailboxes there: {_list_names(conn)}")
            _typ, values = conn.response("UIDVALIDITY")
        except (imaplib.IMAP4.abort, OSError) as exc:
            raise ConnectionLost(f"the connection to {self.url.host} was lost opening {self.url.mailbox!r}: "
                                 f"{_reason(exc)}") from exc
        if not values or values[0] is None:
            raise MailServerError(f"the IMAP server {self.url.host} gave no UIDVALIDITY for {self.url.mailbox!r}: "
                                  "it cannot be read incrementally")
        self._uidvalidity = int(values[0])

    def _require(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise RuntimeError("ImapMailbox used outside its `with` block")
        return self._conn

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        """A connection that drops becomes ``ConnectionLost``, saying how much was already handed over."""
        try:
            yield
        except (imaplib.IMAP4.abort, OSError) as exc:
            conn, self._conn = self._conn, None
            if conn is not None:
                _shutdown(conn)
            raise ConnectionLost(
                f"the connection to {self.url} was lost while {doing} ({_reason(exc)}), after {self.delivered} "
                "messages: those are kept; run the same command again to take the rest") from exc


def is_imap_url(text: str) -> bool:
    """Whether an ``omr ingest`` SOURCE names an IMAP mailbox (else a Maildir, mbox or folder path)."""
    return text.strip().lower().startswith(("imap://", "imaps://"))


def open_mailbox(source: str, *, password_file: str | Path | None = None, ca_file: str | Path | None = None,
                 mark_seen: bool = False, env: Mapping[str, str] | None = None) -> ImapMailbox:
    """The mailbox ``omr ingest SOURCE`` names, its password from ``--password-file`` or ``OMR_IMAP_PASSWORD``,
    trusting ``--ca-file`` (or ``OMR_MAIL_CA_FILE``) too; connected by ``with``. Errors in the arguments (a
    password in the URL, none anywhere, an unreadable file) are raised here, before any connection."""
    url = ImapUrl.parse(source)
    password = read_password(PASSWORD_ENV, password_file, env=env) or ""
    return ImapMailbox(url, password, mark_seen=mark_seen, ssl_context=tls_context(ca_file, env=env))


# --- protocol helpers ---------------------------------------------------------------------------------------
_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'\bINTERNALDATE "([^"]+)"')
_NEW_RECORD = re.compile(rb"^\d+ \(")
_DATE = re.compile(r"\s*(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\s*")
_MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), 1)}


def parse_internaldate(text: str) -> datetime:
    """IMAP ``INTERNALDATE`` ("06-Sep-2024 17:00:00 +0700") → a timezone-aware datetime (locale-independent)."""
    m = _DATE.fullmatch(text)
    if not m or m.group(2).lower() not in _MONTHS:
        raise MailServerError(f"the IMAP server sent an INTERNALDATE that is not one: {text!r}")
    day, mon, year, hh, mm, ss, sign, oh, om = m.groups()
    offset = timedelta(hours=int(oh), minutes=int(om)) * (-1 if sign == "-" else 1)
    return datetime(int(year), _MONTHS[mon.lower()], int(day), int(hh), int(mm), int(ss), tzinfo=timezone(offset))


def uid_of(message: RawMessage) -> int:
    """The UID in an IMAP message's key ``imap:<uidvalidity>:<uid>``."""
    kind, _, rest = message.key.partition(":")
    if kind != "imap":
        raise ValueError(f"not an IMAP message: {message.key!r}")
    return int(rest.rpartition(":")[2])


def encode_mailbox_name(name: str) -> str:
    """A mailbox name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): "Bài thi" → "B&AOA-i thi"."""
    out, pending = [], []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def decode_mailbox_name(name: str) -> str:
    """IMAP's modified UTF-7 → text ("B&AOA-i thi" → "Bài thi"); a malformed name is returned as it is."""
    def one(m: re.Match[str]) -> str:
        if not m.group(1):
            return "&"
        b64 = m.group(1).replace(",", "/")
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be")
    try:
        return re.sub(r"&([A-Za-z0-9+,]*)-", one, name)
    except (ValueError, UnicodeDecodeError):
        return name


def _records(data: list) -> list[tuple[bytes, bytes | None]]:
    """imaplib's FETCH answer → (the response's text around the literal, the literal or None), one per message."""
    out: list[list] = []
    for part in data:
        if isinstance(part, tuple):
            out.append([part[0], part[1]])
        elif isinstance(part, bytes):
            if out and not _NEW_RECORD.match(part):
                out[-1][0] += b" " + part                 # what follows the literal: ")" or more items
            else:
                out.append([part, None])
    return [(head, body) for head, body in out]


def _batches(scan: ImapScan, most: int, most_bytes: int) -> Iterator[list[int]]:
    batch: list[int] = []
    size = 0
    for uid, n in zip(scan.uids, scan.sizes):
        if batch and (len(batch) >= most or size + n > most_bytes):
            yield batch
            batch, size = [], 0
        batch.append(uid)
        size += n
    if batch:
        yield batch


def _int(pattern: re.Pattern[bytes], text: bytes) -> int | None:
    m = pattern.search(text)
    return int(m.group(1)) if m else None


def _check(typ: str, data: list, doing: str) -> None:
    if typ != "OK":
        raise MailServerError(f"the IMAP server refused {doing}: {_text(data)}")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: list) -> str:
    return " ".join(d.decode("utf-8", "replace") if isinstance(d, bytes) else str(d) for d in data if d)


def _reason(exc: BaseException) -> str:
    """imaplib carries the server's words as bytes: show them as text."""
    if len(exc.args) == 1 and isinstance(exc.args[0], bytes):
        return exc.args[0].decode("utf-8", "replace")
    return str(exc) or type(exc).__name__


def _untrusted(where: str, exc: ssl.SSLCertVerificationError) -> str:
    return (f"the TLS certificate of {where} is not trusted ({exc.verify_message or exc}): if this is the contest's "
            "own server with its own certificate, give that certificate with --ca-file or OMR_MAIL_CA_FILE")


_LIST = re.compile(r'^\((?P<flags>[^)]*)\) (?:NIL|"(?:[^"\\]|\\.)*") (?P<name>.*)$')


def _list_names(conn: imaplib.IMAP4) -> str:
    try:
        typ, data = conn.list()
    except (imaplib.IMAP4.error, OSError):
        return "(cannot list them)"
    names = []
    for line in data:
        m = _LIST.match(line.decode("utf-8", "replace")) if isinstance(line, bytes) else None
        if m and "\\noselect" not in m.group("flags").lower():
            name = m.group("name")
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
            names.append(decode_mailbox_name(name))
    return ", ".join(sorted(names)[:30]) or "(none)"


def _shutdown(conn: imaplib.IMAP4) -> None:
    try:
        conn.shutdown()
    except (OSError, AttributeError):
        pass
    try:
        conn.sock.close()
    except (OSError, AttributeError):
        pass
