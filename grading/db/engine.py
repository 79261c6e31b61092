"""Talking to the database: URLs, engines, transactions, and database failures as ``DatabaseError`` (exit 7).

One code path for SQLite and PostgreSQL (SQLAlchemy 2 Core). ``normalise_url`` accepts ``sqlite:///path``, a plain
file path (taken as SQLite), ``postgresql://…`` / ``postgres://…`` (rewritten to the psycopg 3 driver) and
``postgresql+psycopg://…``.

SQLite: writes take the write lock at ``BEGIN IMMEDIATE`` (two writers queue instead of failing with "database is
locked"), reads begin DEFERRED, WAL lets readers run beside a writer. A store opened *read-only* is opened with
SQLite's ``mode=ro`` (nothing is ever written, not even the WAL's index when the folder cannot be written), or on
PostgreSQL with ``default_transaction_read_only``.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine, URL
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from omr.errors import ExitCode, OmrError

if TYPE_CHECKING:
    from ..keys import KeySet

CHUNK = 500                 # ids per IN (...) list


class DatabaseError(OmrError):
    """The results store cannot be opened, created or written."""

    exit_code = ExitCode.DATABASE


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def chunks(ids: Sequence[Any]) -> Iterator[list[Any]]:
    """``ids`` in lists of at most ``CHUNK`` (for ``IN (...)``)."""
    ids = list(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def dialect_insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT (both support ``on_conflict_do_nothing`` and RETURNING)."""
    return (pg_dialect.insert(table) if conn.dialect.name == "postgresql" else sqlite_dialect.insert(table))


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` → ``postgresql+psycopg://``; a plain path → ``sqlite:///path``."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    if "://" not in url and url not in ("", "sqlite:"):
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def default_url(contest_dir: str | Path) -> str:
    """``sqlite:///<contest>/out/results.sqlite``."""
    return f"sqlite:///{Path(contest_dir) / 'out' / 'results.sqlite'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite store's URL (``None`` for another database, or SQLite in memory)."""
    parsed = sa.engine.make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def explain(exc: BaseException) -> str:
    """The first line of what the database (or its driver) said."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------------
# Engines
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Opened:
    engine: Engine
    shown: str              # the URL with its password hidden: safe for messages and logs


def make_engine(url: str, *, read_only: bool = False) -> Opened:
    """An engine for ``url`` (normalised first). ``read_only``: a SQLite file must exist and is opened read-only.
    Raises ``DatabaseError``."""
    url = normalise_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError:
        raise DatabaseError(f"{url!r} is not a database URL; use sqlite:///path/results.sqlite or "
                            "postgresql://user@host/dbname") from None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseError(f"unsupported database {shown}; use sqlite:///path or postgresql://user@host/db")
    try:
        if backend == "postgresql":
            engine = _postgresql(parsed, read_only=read_only)
        else:
            engine = _sqlite(parsed, shown, read_only=read_only)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"no driver for {shown}: {exc}; install it with pip install 'psycopg[binary]'") \
            from None
    return Opened(engine, shown)


def _postgresql(parsed: URL, *, read_only: bool) -> Engine:
    connect_args: dict[str, Any] = {"connect_timeout": 10, "application_name": "omr-grader"}
    if read_only:
        connect_args["options"] = "-c default_transaction_read_only=on"
    return sa.create_engine(parsed, connect_args=connect_args, pool_pre_ping=True)


def _sqlite(parsed: URL, shown: str, *, read_only: bool) -> Engine:
    db = parsed.database or ""
    on_disk = bool(db) and db != ":memory:" and not db.startswith("file:")
    if read_only and on_disk:
        if not Path(db).expanduser().is_file():
            raise DatabaseError(f"no results store at {db}; check --db (or grade first)")
        engine = sa.create_engine("sqlite://", creator=_read_only_connector(str(Path(db).expanduser())),
                                  poolclass=sa.pool.QueuePool)
        _sqlite_transactions(engine, read_only=True)
        return engine
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 60, "check_same_thread": False}}
    if on_disk:
        try:
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder for {shown}: {exc}; choose a writable "
                                "--db path") from None
    else:
        kwargs["poolclass"] = sa.pool.StaticPool
    engine = sa.create_engine(parsed, **kwargs)
    _sqlite_transactions(engine, read_only=read_only)
    return engine


def _read_only_connector(path: str) -> Any:
    """Connections to the SQLite file ``path`` in ``mode=ro``. A WAL store needs its ``-shm`` index, which SQLite
    makes beside the file: in a folder that cannot be written, and with no ``-wal`` file (the last writer closed
    cleanly, everything is in the main file), the file is opened ``immutable`` instead."""
    uri = f"file:{quote(os.fsencode(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(uri, uri=True, timeout=60, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return conn
        except sqlite3.OperationalError:
            conn.close()
            if Path(path + "-wal").exists():
                raise
        return sqlite3.connect(uri + "&immutable=1", uri=True, timeout=60, check_same_thread=False)

    return connect


def _sqlite_transactions(engine: Engine, *, read_only: bool) -> None:
    """SQLAlchemy emits BEGIN itself: IMMEDIATE for writes (take the write lock first, so two writers queue
    instead of failing with 'database is locked'), DEFERRED for reads. WAL lets readers run beside a writer."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        # SQLite's lower() folds ASCII only: fold() (below) calls Python's casefold for Vietnamese names
        dbapi_conn.create_function("omr_fold", 1, lambda t: t.casefold() if isinstance(t, str) else t,
                                   deterministic=True)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        if not read_only:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        read = read_only or conn.get_execution_options().get("omr_read_only", False)
        conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


class fold(FunctionElement):
    """A text column in lower case, Vietnamese letters included, on either backend (``lower()`` on PostgreSQL, whose
    UTF-8 locale folds them; a Python ``casefold`` registered as ``omr_fold`` on SQLite)."""
    type = sa.Text()
    inherit_cache = True


@compiles(fold)
def _fold_default(element: fold, compiler: Any, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(fold, "sqlite")
def _fold_sqlite(element: fold, compiler: Any, **kw: Any) -> str:
    return f"omr_fold({compiler.process(element.clauses, **kw)})"


# ---------------------------------------------------------------------------------------------------
# Transactions
# ---------------------------------------------------------------------------------------------------
class Database:
    """An open results store: its engine and transactions (``grading.store.Store`` adds the repositories)."""

    def __init__(self, engine: Engine, shown_url: str, *, read_only: bool = False):
        self.engine = engine
        self.url = shown_url                     # password hidden: safe for messages and logs
        self.read_only = read_only
        self.key_cache: dict[str, KeySet] = {}   # parsed key sets by digest (content-addressed: never stale)
        self.committed_keysets: set[str] = set()  # digests known to be in the keysets table

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, action: str, *, read: bool = False) -> Iterator[Connection]:
        """One transaction; database failures become ``DatabaseError`` saying what failed and where."""
        try:
            with self.engine.connect() as conn:
                if read:
                    conn.execution_options(omr_read_only=True)
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            hint = ("is the server running and the URL right?" if isinstance(exc, sa.exc.OperationalError)
                    else "the database may be damaged or changed by another program")
            raise DatabaseError(f"cannot {action} in {self.url}: {explain(exc)}; {hint}") from exc

    @contextmanager
    def write_tx(self, action: str) -> Iterator[Connection]:
        """A read-write transaction for modules that own their tables (``grading.judges``: accounts, sessions)."""
        with self._tx(action) as conn:
            yield conn

    @contextmanager
    def read_tx(self, action: str) -> Iterator[Connection]:
        """A read-only transaction for reports (status, export) that query the tables directly; failures become
        ``DatabaseError`` like every other store call."""
        with self._tx(action, read=True) as conn:
            yield conn
