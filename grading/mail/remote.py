"""What the IMAP reader and the SMTP sender share: their errors (exit code 12), the TLS context, the password.

A password never comes from a URL or the command line (both end up in shell histories and process lists): it
comes from an environment variable or from a file given by path.
"""
from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path

from omr.errors import BadArguments, ExitCode, OmrError

CA_FILE_ENV = "OMR_MAIL_CA_FILE"     # a PEM file of extra certificates to trust (a test server's own)


class MailServerError(OmrError):
    """A mail server cannot be used for the whole run; the message says which server and what to do."""

    exit_code = ExitCode.MAILBOX


class ServerUnreachable(MailServerError):
    """No connection: a wrong host or port, the server down, a firewall, or a certificate not trusted."""


class LoginFailed(MailServerError):
    """The server refused the user name and password."""


class MailboxMissing(MailServerError):
    """The server has no mailbox (folder) of that name for this user."""


class ConnectionLost(MailServerError):
    """The server went away in the middle of the run; what was already taken is kept."""


class TlsUnavailable(MailServerError):
    """A plain ``imap://`` or ``smtp://`` server that does not offer STARTTLS: a password would travel in clear."""


def tls_context(ca_file: str | Path | None = None, *, env: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The system's trusted certificates plus ``ca_file`` (else the file named by ``OMR_MAIL_CA_FILE``), with
    host names checked: for a contest's own server with a self-signed certificate, and for the tests."""
    env = os.environ if env is None else env
    extra = ca_file or env.get(CA_FILE_ENV) or None
    ctx = ssl.create_default_context()
    if extra:
        try:
            ctx.load_verify_locations(cafile=str(extra))
        except (OSError, ssl.SSLError) as exc:
            raise BadArguments(f"cannot read the certificate file {extra}: {exc}") from exc
    return ctx


def read_password(env_var: str, password_file: str | Path | None = None, *,
                  env: Mapping[str, str] | None = None, required: bool = True) -> str | None:
    """The password from ``password_file`` (its first line) when given, else from ``env_var``. ``None`` when
    neither holds one and ``required`` is false; a clear error when it is required."""
    env = os.environ if env is None else env
    if password_file is not None:
        try:
            text = Path(password_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BadArguments(f"cannot read the password file {password_file}: {exc}") from exc
        line = text.splitlines()[0] if text.strip() else ""
        if not line:
            raise BadArguments(f"the password file {password_file} is empty")
        return line
    if env.get(env_var):
        return env[env_var]
    if required:
        raise BadArguments(f"no password: set the environment variable {env_var} or give --password-file FILE "
                           "(a password is never taken from the command line or the URL)")
    return None


def split_host_port(netloc: str, default_port: int, scheme: str, text: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` → (host, port); a clear error for a bad port."""
    host, port = netloc, default_port
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), text)
    elif ":" in netloc:
        host, _, p = netloc.rpartition(":")
        port = _port(p, text)
    if not host:
        raise BadArguments(f"no host in the {scheme} URL {text!r}")
    return host, port


def _port(p: str, text: str) -> int:
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise BadArguments(f"bad port {p!r} in {text!r}")
    return int(p)


def refuse_password_in_url(userinfo: str, scheme: str, env_var: str) -> None:
    if ":" in userinfo:
        raise BadArguments(f"a password in the {scheme} URL is refused (it would show in shell histories and "
                           f"process lists): write the URL as {scheme}://USER@HOST/… and put the password in the "
                           f"environment variable {env_var} or in a file given with --password-file")
