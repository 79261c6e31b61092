"""Real mail servers for the tests, on loopback, started and stopped by the tests themselves.

``DovecotServer``: Debian's Dovecot (``dovecot-imapd``) in the foreground with a throwaway configuration in a
temp folder: IMAP with STARTTLS and IMAPS on free ports of 127.0.0.1, a throwaway self-signed certificate
(``openssl``), Maildir mail under the same folder. As root, the master runs as root and
the mail processes as the ``dovecot`` user (Dovecot never reads mail as UID 0).

Logins go through a static passdb: any user name with the server's one (UTF-8) password.

``SmtpServer``: ``aiosmtpd`` on 127.0.0.1 offering STARTTLS (and AUTH PLAIN/LOGIN over TLS), keeping every
message it receives for the test to read.

A missing Dovecot or openssl FAILS the test with what to install (never a skip): ``apt-get install
dovecot-imapd`` (``make test`` does it).
"""
from __future__ import annotations

import asyncio
import imaplib
import grp
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

def dovecot_binary() -> Path:
    return Path(os.environ.get("OMR_DOVECOT", "/usr/sbin/dovecot"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A throwaway self-signed certificate for 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    if not shutil.which("openssl"):
        pytest.fail("the `openssl` program is needed to make the test servers' certificate: apt-get install openssl",
                    pytrace=False)
    cert, key = folder / "cert.pem", folder / "key.pem"
    res = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                          "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                          "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                         capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        pytest.fail(f"openssl could not make a test certificate: {res.stderr[-1000:]}", pytrace=False)
    return cert, key


def client_context(ca_file: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file))


def _ids(name: str) -> tuple[int, int] | None:
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid


_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = omr-test-{tag}
listen = 127.0.0.1
protocols = imap
log_path = {root}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = 0
ssl = {ssl}
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain login
auth_failure_delay = 0
disable_plaintext_auth = {no_plaintext}
mail_location = maildir:{root}/mail/%u
shutdown_clients = yes
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={mail_uid_exact} gid={mail_gid} home={root}/mail/%u
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
"""


@dataclass
class DovecotServer:
    """One Dovecot instance; ``start()``/``stop()`` may be called again (the mail stays in the folder)."""
    tls: bool = True
    binary: Path = field(default_factory=dovecot_binary)
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="omr-dovecot-")))
    port: int = field(default_factory=free_port)          # IMAP, STARTTLS offered when tls
    tls_port: int = field(default_factory=free_port)      # IMAPS
    process: subprocess.Popen | None = None
    password: str = field(default_factory=lambda: f"mật-khẩu-{uuid.uuid4().hex[:8]}")   # UTF-8 on purpose
    users: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.binary.is_file():
            shutil.rmtree(self.root, ignore_errors=True)
            pytest.fail(f"Dovecot is not installed ({self.binary} missing): apt-get install dovecot-imapd "
                        "(`make test` installs it), or set OMR_DOVECOT to the dovecot binary", pytrace=False)
        os.chmod(self.root, 0o755)                        # the mail processes (another user as root) reach it
        if os.geteuid() == 0:
            ids = _ids("dovecot") or _ids("nobody")
            if ids is None:
                pytest.fail("tests run as root but there is neither a `dovecot` nor a `nobody` user to read mail "
                            "as", pytrace=False)
            self.mail_uid, self.mail_gid = ids
            self.internal_user = pwd.getpwuid(ids[0]).pw_name
            self.login_user = "dovenull" if _ids("dovenull") else self.internal_user
        else:
            self.mail_uid, self.mail_gid = os.getuid(), os.getgid()
            self.internal_user = self.login_user = pwd.getpwuid(os.getuid()).pw_name
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", self.mail_uid, self.mail_gid)
        self.ca_file, _key = make_certificate(self.root)
        (self.root / "dovecot.conf").write_text(_CONFIG.format(
            root=self.root, tag=uuid.uuid4().hex[:8], internal_user=self.internal_user,
            internal_group=grp.getgrgid(self.mail_gid).gr_name, login_user=self.login_user,
            mail_uid=min(self.mail_uid, 500) or 1, ssl="yes" if self.tls else "no",
            no_plaintext="yes" if self.tls else "no", port=self.port, tls_port=self.tls_port,
            password=self.password, mail_uid_exact=self.mail_uid, mail_gid=self.mail_gid), encoding="utf-8")

    # --- users and mail ---------------------------------------------------------------------------------
    def add_user(self, name: str | None = None) -> tuple[str, str]:
        """A new mailbox user (name, password): every user name logs in with the server's one password (a
        static passdb), each with its own Maildir, created at the first login."""
        name = name or f"unit{len(self.users) + 1}-{uuid.uuid4().hex[:6]}@example.org"
        self.users.append(name)
        return name, self.password

    def url(self, user: str, mailbox: str = "INBOX", *, implicit_tls: bool = True) -> str:
        if implicit_tls:
            return f"imaps://{user}@127.0.0.1:{self.tls_port}/{mailbox}"
        return f"imap://{user}@127.0.0.1:{self.port}/{mailbox}"

    def client(self, user: str) -> imaplib.IMAP4:
        """A logged-in imaplib connection for the test's own APPEND, CREATE, FETCH FLAGS…"""
        if self.tls:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL("127.0.0.1", self.tls_port,
                                                   ssl_context=client_context(self.ca_file), timeout=30)
        else:
            conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.authenticate("PLAIN", lambda _: b"\0" + user.encode() + b"\0" + self.password.encode())
        return conn

    def append(self, user: str, message: bytes, *, when: datetime, mailbox: str = "INBOX",
               flags: str = "") -> int:
        """Deliver ``message`` with INTERNALDATE ``when``; returns its UID."""
        conn = self.client(user)
        try:
            typ, data = conn.append(f'"{mailbox}"', f"({flags})" if flags else None,
                                    imaplib.Time2Internaldate(when), message)
            assert typ == "OK", data
            return int(data[0].split(b"]")[0].split()[-1])    # [APPENDUID <validity> <uid>]
        finally:
            conn.logout()

    def deliver(self, user: str, message: bytes, *, when: datetime, name: str | None = None) -> Path:
        """Put ``message`` straight into the user's INBOX Maildir (as a delivery agent does; the file's mtime is
        its INTERNALDATE): much faster than APPEND for thousands of messages. Dovecot gives it a UID when the
        mailbox is next opened."""
        inbox = self.root / "mail" / user
        for sub in ("", "cur", "new", "tmp"):
            (inbox / sub).mkdir(exist_ok=True)
            os.chown(inbox / sub, self.mail_uid, self.mail_gid)
        path = inbox / "new" / (name or f"{int(when.timestamp())}.M{uuid.uuid4().hex}P1.omr-test")
        path.write_bytes(message)
        os.chown(path, self.mail_uid, self.mail_gid)
        os.utime(path, (when.timestamp(), when.timestamp()))
        return path

    def flags(self, user: str, mailbox: str = "INBOX") -> dict[int, set[str]]:
        conn = self.client(user)
        try:
            conn.select(f'"{mailbox}"', readonly=True)
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            out: dict[int, set[str]] = {}
            for line in data:
                if isinstance(line, bytes):
                    text = line.decode()
                    uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
                    out[uid] = set(text.split("FLAGS (")[1].split(")")[0].split())
            return out
        finally:
            conn.logout()

    # --- process --------------------------------------------------------------------------------------
    def start(self) -> DovecotServer:
        log = self.root / "dovecot.log"
        self.process = subprocess.Popen([str(self.binary), "-F", "-c", str(self.root / "dovecot.conf")],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read().decode(errors="replace") if self.process.stdout else ""
                tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                self.process = None
                pytest.fail(f"Dovecot did not start: {out[-2000:]}\n{tail}", pytrace=False)
            if _listening(self.tls_port if self.tls else self.port):
                return self
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"Dovecot did not listen on 127.0.0.1:{self.port} within 30 s", pytrace=False)

    def stop(self) -> None:
        """Stop the master and every process it started (its own process group)."""
        proc, self.process = self.process, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
        if proc.stdout:
            proc.stdout.close()
        deadline = time.monotonic() + 10                  # the listeners go with the master; wait until they do
        while time.monotonic() < deadline and (_listening(self.port) or _listening(self.tls_port)):
            time.sleep(0.05)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- SMTP ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it."""
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool                     # the session was encrypted (STARTTLS or SMTPS)
    user: str | None              # the AUTH user, if any


class SmtpServer:
    """``aiosmtpd`` on 127.0.0.1: STARTTLS offered when ``starttls``, implicit TLS when ``implicit_tls``; AUTH
    accepted for ``users`` over TLS only. ``messages`` is what it received, in order."""

    def __init__(self, folder: Path, *, starttls: bool = True, implicit_tls: bool = False,
                 users: dict[str, str] | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import SMTP, AuthResult

        self.messages: list[Received] = []
        self.users = dict(users or {})
        self.ca_file, key = make_certificate(folder)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(str(self.ca_file), str(key))
        self.port = free_port()
        self._lock = threading.Lock()
        self.refuse: set[str] = set()             # recipients to answer 550

        server = self

        class Handler:
            async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):  # noqa: ANN001
                if address in server.refuse:
                    return "550 5.1.1 no such user here"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, srv, session, envelope):  # noqa: ANN001
                user = session.auth_data.login.decode() if session.authenticated and session.auth_data else None
                with server._lock:
                    server.messages.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos),
                                                    envelope.original_content or b"",
                                                    implicit_tls or session.ssl is not None, user))
                return "250 Message accepted"

        def authenticator(srv, session, envelope, mechanism, auth_data):  # noqa: ANN001
            ok = server.users.get(auth_data.login.decode()) == auth_data.password.decode()
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        kwargs: dict = {"authenticator": authenticator, "auth_require_tls": True} if self.users else {}
        if starttls and not implicit_tls:
            kwargs.update(tls_context=tls, require_starttls=False)
        self.implicit_tls = implicit_tls

        open_connections: set = set()
        self._open = open_connections

        class Tracking(SMTP):
            def connection_made(self, transport):  # noqa: ANN001
                open_connections.add(transport)
                super().connection_made(transport)

        class Tracked(Controller):
            def factory(self):  # noqa: ANN202
                return Tracking(self.handler, **self.SMTP_kwargs)

        def controller() -> Controller:            # a new one (and a new event loop) for each start
            return Tracked(Handler(), hostname="127.0.0.1", port=self.port,
                              ssl_context=tls if implicit_tls else None,
                              server_hostname="127.0.0.1" if implicit_tls else None, decode_data=False, **kwargs)
        self._make = controller
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"{'smtps' if self.implicit_tls else 'smtp'}://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        self._controller = self._make()
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection; ``start()`` again listens on the same port."""
        controller, self._controller = self._controller, None
        if controller is None:
            return

        async def drop() -> None:                   # the asyncio server leaves accepted connections open
            for transport in list(self._open):
                transport.abort()
            self._open.clear()
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(drop(), controller.loop).result(timeout=10)
        controller.stop()


__all__ = ["DovecotServer", "Received", "SmtpServer", "client_context", "free_port"]
