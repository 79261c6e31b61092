"""Judges' accounts and web sessions (their rows: ``grading.db.accounts``).

Passwords: ``hashlib.scrypt`` with a random 16-byte salt, stored with its parameters as
``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so that the cost can be raised later without breaking old hashes.
A new account gets a one-time password (``secrets.token_urlsafe``) that is shown once and must be changed at
the first login. Sessions: the browser holds a random token; the store keeps only its SHA-256, with the
session's CSRF token and expiry.

An organiser can reset a password (a new one-time password, every session ends), disable an account (no login,
every session ends at once, its unscored essays go back to the pool) and enable it again; each of these, and
creating an account, writes an audit row (``judge_add``, ``judge_reset``, ``judge_disable``, ``judge_enable``).
A disabled account is told so at the login only after its right password, so that logins cannot be probed.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from omr.errors import BadArguments

from .db import accounts as A
from .db import audit
from .essays import ScoringError, my_assignments, reassign
from .store import Store

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2 ** 14, 8, 1, 32
SESSION_HOURS = 12
MIN_PASSWORD = 10
MAX_NAME = 64              # characters of a login, after ``normalise_name``
MAX_FULL_NAME = 120        # characters of a full name


class Role(enum.Enum):
    JUDGE = "judge"
    ADMIN = "admin"


class AccountState(enum.Enum):
    ACTIVE = "active"
    DISABLED = "disabled"
    MUST_CHANGE = "must_change_password"     # the one-time password is still to be changed


@dataclass(frozen=True, slots=True)
class Judge:
    id: int
    name: str
    unit: str
    role: Role
    must_change: bool
    full_name: str | None = None
    disabled_at: datetime | None = None      # UTC; set while the account is disabled
    last_login_at: datetime | None = None    # UTC

    @property
    def display_name(self) -> str:
        """What people see: the full name, else the login."""
        return self.full_name or self.name

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def state(self) -> AccountState:
        if self.disabled:
            return AccountState.DISABLED
        return AccountState.MUST_CHANGE if self.must_change else AccountState.ACTIVE


@dataclass(frozen=True, slots=True)
class Disabled:
    """What ``disable_judge`` did."""
    was_disabled: bool       # the account was disabled already
    sessions_ended: int
    essays_released: int     # unscored essay assignments given back to the pool


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


def _utc(t: datetime | None) -> datetime | None:
    """A stored time as UTC (SQLite gives it back without its time zone, which is UTC)."""
    return t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc)


def _judge(a: A.Account) -> Judge:
    return Judge(id=a.id, name=a.name, unit=a.unit, role=Role(a.role), must_change=a.must_change,
                 full_name=a.full_name, disabled_at=_utc(a.disabled_at), last_login_at=_utc(a.last_login_at))


def normalise_name(name: str) -> str:
    """A login as accounts are created, looked up and throttled under: surrounding spaces off, case kept
    (``J1`` and ``j1`` are two accounts)."""
    return name.strip()


def clean_full_name(text: str | None) -> str | None:
    """A full name as stored: NFC, inner runs of spaces made one; ``None`` when empty. ``BadArguments`` when it
    is too long or holds control characters."""
    if text is None:
        return None
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if any(unicodedata.category(c).startswith("C") for c in text):
        raise BadArguments("a full name cannot hold control characters; type it again (--full-name)")
    if len(text) > MAX_FULL_NAME:
        raise BadArguments(f"a full name has at most {MAX_FULL_NAME} characters (--full-name)")
    return text or None


def add_judge(store: Store, name: str, *, unit: str, role: Role = Role.JUDGE, full_name: str | None = None,
              who: str | None = None) -> str:
    """Create an account; returns its one-time password (only its hash is stored). Audited (``judge_add``)
    when ``who`` is given."""
    name, unit, full_name = normalise_name(name), unit.strip(), clean_full_name(full_name)
    if not name or any(c.isspace() for c in name) or len(name) > MAX_NAME:
        raise BadArguments(f"{name!r} is not a login: use one word without spaces (at most {MAX_NAME} characters)")
    if not unit:
        raise BadArguments("give the judge's unit (--unit)")
    password = secrets.token_urlsafe(12)
    if not A.add_account(store, name=name, unit=unit, role=role.value, password_hash=hash_password(password),
                         now=_now(), full_name=full_name):
        raise BadArguments(f"there is already a judge named {name!r}; choose another login")
    if who is not None:
        audit.record(store, who=who, action="judge_add", target=f"judge:{name}",
                     after={"unit": unit, "role": role.value, "full_name": full_name})
    return password


def list_judges(store: Store) -> list[Judge]:
    """Every account, by login (disabled ones included: ``Judge.disabled``)."""
    return [_judge(a) for a in A.accounts(store)]


def judge_named(store: Store, name: str) -> Judge:
    """The account ``name``; ``BadArguments`` (exit 2) naming ``omr judges list`` when there is none."""
    row = A.account_named(store, normalise_name(name))
    if row is None:
        raise BadArguments(f"there is no judge named {normalise_name(name)!r}; see the logins with "
                           "`omr judges list --contest DIR`")
    return _judge(row)


def reset_password(store: Store, name: str, *, who: str) -> str:
    """A new one-time password for ``name`` (returned, only its hash stored), to be changed at the next login;
    every session of the account ends. Audited (``judge_reset``)."""
    judge = judge_named(store, name)
    password = secrets.token_urlsafe(12)
    ended = A.reset_password_hash(store, judge.id, hash_password(password))
    audit.record(store, who=who, action="judge_reset", target=f"judge:{judge.name}",
                 before={"must_change": judge.must_change}, after={"must_change": True, "sessions_ended": ended})
    return password


def disable_judge(store: Store, name: str, *, who: str) -> Disabled:
    """Disable ``name``: no login, every session ends at once, and the essays it holds unscored go back to the
    pool (``grading.essays.reassign``, each audited ``essay_release``). Run again, it releases whatever the
    account was given since. Audited (``judge_disable``)."""
    judge = judge_named(store, name)
    ended = A.set_disabled(store, judge.id, _now())
    released = release_essays(store, judge.id, who=who)
    audit.record(store, who=who, action="judge_disable", target=f"judge:{judge.name}",
                 before={"disabled": judge.disabled},
                 after={"disabled": True, "sessions_ended": ended, "essays_released": released})
    return Disabled(judge.disabled, ended, released)


def release_essays(store: Store, judge_id: int, *, who: str) -> int:
    """Give the judge's unscored essay assignments back to the pool; how many were. One scored or released by
    someone else meanwhile is passed over."""
    released = 0
    for a in my_assignments(store, judge_id, scored_limit=0)["open"]:
        try:
            reassign(store, a["id"], None, who=who)
        except ScoringError:
            continue
        released += 1
    return released


def enable_judge(store: Store, name: str, *, who: str) -> bool:
    """Let ``name`` log in again (its password unchanged); ``False`` when it was not disabled. Audited
    (``judge_enable``)."""
    judge = judge_named(store, name)
    A.set_disabled(store, judge.id, None)
    audit.record(store, who=who, action="judge_enable", target=f"judge:{judge.name}",
                 before={"disabled": judge.disabled}, after={"disabled": False})
    return judge.disabled


def authenticate(store: Store, name: str, password: str) -> Judge | None:
    """The judge when the password is right, else ``None`` (the same work either way). A name longer than any
    login can be is refused before the store is asked. A disabled account's judge is returned too (its
    ``disabled`` is true): only the right password learns that the account is disabled."""
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
    if expires < _now() or row.account.disabled_at is not None:
        return None
    return Session(judge=_judge(row.account), csrf_token=row.csrf_token, expires_at=expires)


def close_session(store: Store, token: str | None) -> None:
    if token:
        A.delete_session(store, _token_hash(token))
