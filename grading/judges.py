"""Judges' accounts and web sessions (their rows: ``grading.db.accounts``).

Passwords: ``hashlib.scrypt`` with a random 16-byte salt, stored with its parameters as
``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so that the cost can be raised later without breaking old hashes.
A new account gets a one-time password (``secrets.token_urlsafe``) that is shown once and must be changed at
the first login. Sessions: the browser holds a random token; the store keeps only its SHA-256, with the
session's CSRF token and expiry.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from omr.errors import BadArguments

from .db import accounts as A
from .store import Store

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
SESSION_HOURS = 12
MIN_PASSWORD = 10
MAX_NAME = 64              # characters of a login, after ``normalise_name``


class Role(enum.Enum):
    JUDGE = "judge"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Judge:
    id: int
    name: str
    unit: str
    role: Role
    must_change: bool


@dataclass(frozen=True, slots=True)
class Session:
    judge: Judge
    csrf_token: str
    expires_at: datetime


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(16) if salt is None else salt
    h = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(h)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, want = stored.split("$")
        if algo != "scrypt":
            return False
        want_b = base64.b64decode(want)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want_b), maxmem=256 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want_b)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _judge(a: A.Account) -> Judge:
    return Judge(id=a.id, name=a.name, unit=a.unit, role=Role(a.role), must_change=a.must_change)


def normalise_name(name: str) -> str:
    """A login as accounts are created, looked up and throttled under: surrounding spaces off, case kept
    (``J1`` and ``j1`` are two accounts)."""
    return name.strip()


def add_judge(store: Store, name: str, *, unit: str, role: Role = Role.JUDGE) -> str:
    """Create an account; returns its one-time password (only its hash is stored)."""
    name, unit = normalise_name(name), unit.strip()
    if not name or any(c.isspace() for c in name) or len(name) > MAX_NAME:
        raise BadArguments(f"{name!r} is not a login: use one word without spaces (at most {MAX_NAME} characters)")
    if not unit:
        raise BadArguments("give the judge's unit (--unit)")
    password = secrets.token_urlsafe(12)
    if not A.add_account(store, name=name, unit=unit, role=role.value, password_hash=hash_password(password),
                         now=_now()):
        raise BadArguments(f"there is already a judge named {name!r}; choose another login")
    return password


def list_judges(store: Store) -> list[Judge]:
    return [_judge(a) for a in A.accounts(store)]


def authenticate(store: Store, name: str, password: str) -> Judge | None:
    """The judge when the password is right, else ``None`` (the same work either way). A name longer than any
    login can be is refused before the store is asked."""
    name = normalise_name(name)
    if len(name) > MAX_NAME:
        return None
    row = A.account_named(store, name)
    if row is None:
        verify_password(password, hash_password("x"))     # spend the same time: no account probing by timing
        return None
    return _judge(row) if verify_password(password, row.password_hash) else None


def password_problem(password: str) -> str | None:
    """Why ``password`` cannot be one (English, for the CLI), or ``None``: at least ``MIN_PASSWORD`` characters
    that are not spaces."""
    if len(password.strip()) < MIN_PASSWORD or sum(not c.isspace() for c in password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters that are not spaces"
    return None


def set_password(store: Store, judge_id: int, password: str) -> None:
    problem = password_problem(password)
    if problem:
        raise BadArguments(problem)
    A.set_password_hash(store, judge_id, hash_password(password))


def close_other_sessions(store: Store, judge_id: int, keep_token: str | None) -> int:
    """End every session of the judge but the one holding ``keep_token``; returns how many were ended."""
    return A.delete_sessions(store, judge_id, keep_token_hash=_token_hash(keep_token) if keep_token else None)


def open_session(store: Store, judge: Judge) -> tuple[str, str]:
    """A new session: returns (cookie token, CSRF token); the store keeps the token's hash only."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    A.add_session(store, token_hash=_token_hash(token), judge_id=judge.id, csrf_token=csrf, now=now,
                  expires_at=now + timedelta(hours=SESSION_HOURS))
    return token, csrf


def session_for(store: Store, token: str | None) -> Session | None:
    if not token:
        return None
    row = A.session_by_token_hash(store, _token_hash(token))
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc)
    if expires < _now():
        return None
    return Session(judge=_judge(row.account), csrf_token=row.csrf_token, expires_at=expires)


def close_session(store: Store, token: str | None) -> None:
    if token:
        A.delete_session(store, _token_hash(token))
