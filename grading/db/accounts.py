"""The web app's accounts and sessions (tables ``judges`` and ``web_sessions``): rows in, rows out.

Hashing passwords and session tokens, and the rules for logins and passwords, are ``grading.judges``'s: this
module stores and finds what it is given (a password's hash, a session token's hash) and never sees a secret."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .engine import Database as Store
from .tables import judges, web_sessions


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    unit: str
    role: str                # judge | admin
    must_change: bool
    password_hash: str
    full_name: str | None = None        # shown instead of the login when set
    disabled_at: datetime | None = None   # set while the account is disabled
    last_login_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRow:
    account: Account
    csrf_token: str
    expires_at: datetime     # as the database returns it (SQLite: without its time zone, which is UTC)


def _account(row: Any) -> Account:
    return Account(id=row.id, name=row.name, unit=row.unit, role=row.role, must_change=bool(row.must_change),
                   password_hash=row.password_hash, full_name=row.full_name, disabled_at=row.disabled_at,
                   last_login_at=row.last_login_at)


def add_account(store: Store, *, name: str, unit: str, role: str, password_hash: str, now: datetime,
                full_name: str | None = None) -> bool:
    """Create an account that must change its password at the first login; ``False`` (nothing written) when
    the name is taken."""
    with store.write_tx("add a judge") as conn:
        if conn.execute(sa.select(judges.c.id).where(judges.c.name == name)).first() is not None:
            return False
        conn.execute(sa.insert(judges).values(name=name, unit=unit, role=role, password_hash=password_hash,
                                              must_change=True, created_at=now, full_name=full_name))
    return True


def accounts(store: Store) -> list[Account]:
    """Every account, by name."""
    with store.read_tx("list judges") as conn:
        return [_account(r) for r in conn.execute(sa.select(judges).order_by(judges.c.name))]


def account_named(store: Store, name: str) -> Account | None:
    with store.read_tx("check a password") as conn:
        row = conn.execute(sa.select(judges).where(judges.c.name == name)).first()
    return None if row is None else _account(row)


def set_password_hash(store: Store, judge_id: int, password_hash: str) -> None:
    """A new password hash, chosen by its owner (no change required any more)."""
    with store.write_tx("change a password") as conn:
        conn.execute(sa.update(judges).where(judges.c.id == judge_id).values(password_hash=password_hash,
                                                                              must_change=False))


def reset_password_hash(store: Store, judge_id: int, password_hash: str) -> int:
    """A new one-time password hash set by an organiser: to be changed at the next login, and every session of
    the account ends in the same transaction; returns how many sessions ended."""
    with store.write_tx("reset a password") as conn:
        conn.execute(sa.update(judges).where(judges.c.id == judge_id).values(password_hash=password_hash,
                                                                              must_change=True))
        return conn.execute(sa.delete(web_sessions).where(web_sessions.c.judge_id == judge_id)).rowcount or 0


def set_disabled(store: Store, judge_id: int, at: datetime | None) -> int:
    """Disable the account (``at``: since when; an account already disabled keeps its time) and end every
    session of it in the same transaction, or enable it again (``at`` None). Returns how many sessions ended."""
    with store.write_tx("disable a judge" if at else "enable a judge") as conn:
        if at is None:
            conn.execute(sa.update(judges).where(judges.c.id == judge_id).values(disabled_at=None))
            return 0
        conn.execute(sa.update(judges).where(judges.c.id == judge_id, judges.c.disabled_at.is_(None))
                     .values(disabled_at=at))
        return conn.execute(sa.delete(web_sessions).where(web_sessions.c.judge_id == judge_id)).rowcount or 0


def delete_sessions(store: Store, judge_id: int, *, keep_token_hash: str | None = None) -> int:
    """End every session of the judge but the one whose token hashes to ``keep_token_hash``; how many ended."""
    q = sa.delete(web_sessions).where(web_sessions.c.judge_id == judge_id)
    if keep_token_hash:
        q = q.where(web_sessions.c.token_hash != keep_token_hash)
    with store.write_tx("close a judge's other sessions") as conn:
        return conn.execute(q).rowcount or 0


def add_session(store: Store, *, token_hash: str, judge_id: int, csrf_token: str, now: datetime,
                expires_at: datetime) -> None:
    """Store a new session, dropping the sessions expired before ``now`` and noting the account's last login in
    the same transaction."""
    with store.write_tx("open a session") as conn:
        conn.execute(sa.delete(web_sessions).where(web_sessions.c.expires_at < now))
        conn.execute(sa.update(judges).where(judges.c.id == judge_id).values(last_login_at=now))
        conn.execute(sa.insert(web_sessions).values(token_hash=token_hash, judge_id=judge_id, csrf_token=csrf_token,
                                                    created_at=now, expires_at=expires_at))


def session_by_token_hash(store: Store, token_hash: str) -> SessionRow | None:
    """The session whose token hashes to ``token_hash``, with its account (expired or not), or ``None``."""
    with store.read_tx("check a session") as conn:
        row = conn.execute(sa.select(web_sessions.c.csrf_token, web_sessions.c.expires_at, judges)
                           .join(judges, judges.c.id == web_sessions.c.judge_id)
                           .where(web_sessions.c.token_hash == token_hash)).first()
    return None if row is None else SessionRow(_account(row), row.csrf_token, row.expires_at)


def delete_session(store: Store, token_hash: str) -> None:
    with store.write_tx("close a session") as conn:
        conn.execute(sa.delete(web_sessions).where(web_sessions.c.token_hash == token_hash))
