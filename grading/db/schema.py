"""Opening a store at the right schema version: a new store is made at the current version, an older one is
upgraded in place by the Alembic revisions of ``grading/db/migrations`` (one per schema version), a store written
by a newer program is refused.

Two records say where a store is: the ``schema_version`` table (1 … ``SCHEMA_VERSION``: every version of this
program wrote it, other tools read it) and Alembic's ``alembic_version`` (revision ``v<N>`` makes version N).
``schema_version`` is the authority: a store without ``alembic_version`` (written before the migrations were
Alembic's), or whose revision disagrees with it (a store taken back to an older shape by hand), is stamped at
``v<schema_version>`` and upgraded from there; every revision sets ``schema_version`` in the same transaction.

Everything happens in ONE transaction on the store's own connection (Alembic's "sharing a connection" recipe:
``config.attributes["connection"]``): an upgrade is whole or not at all. On PostgreSQL an advisory lock held to
the end of that transaction serialises processes opening the same new or old store at once (SQLite's
``BEGIN IMMEDIATE`` does the same); the second one finds the work done.

Alembic's ``op`` and ``context`` are process-wide proxies, so one process runs one Alembic command at a time
(``_ALEMBIC``, taken only while the store's own transaction already holds the database's lock).

A store opened read-only is never created, stamped nor upgraded: it must exist at the current version.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from .engine import Database, DatabaseError, make_engine, utcnow
from .tables import PG_SEARCH, SCHEMA_VERSION, SQLITE_SEARCH, TABLES, metadata, schema_version

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
HEAD = f"v{SCHEMA_VERSION}"
REVISIONS = frozenset(f"v{n}" for n in range(1, SCHEMA_VERSION + 1))
_PG_LOCK_KEY = 0x6F6D7231   # advisory lock serialising schema creation and upgrades ("omr1")
_ALEMBIC = threading.Lock()
NEEDS_UPGRADE = ("this store needs an upgrade: run a write command such as `omr grade` or `omr rescore` with write "
                 "access")

D = TypeVar("D", bound=Database)


def open_database(cls: type[D], url: str, *, read_only: bool = False) -> D:
    """Connect, then create, upgrade or check the schema (``read_only``: only check). Raises ``DatabaseError``."""
    opened = make_engine(url, read_only=read_only)
    db = cls(opened.engine, opened.shown, read_only=read_only)
    try:
        ensure_schema(db)
    except BaseException:
        opened.engine.dispose()
        raise
    return db


def ensure_schema(db: Database) -> None:
    """Bring the store to the current schema (see above); a store opened read-only is only checked."""
    if db.read_only:
        with db.read_tx("open the results store") as conn:
            found = _found_version(conn, db.url)
            _refuse_newer(db.url, found, _revisions(conn))
            if found is None:
                raise DatabaseError(f"no results store at {_where(db.url)}; check --db (or grade first)")
            if found < SCHEMA_VERSION:
                raise DatabaseError(f"{db.url} has schema version {found} (this program uses {SCHEMA_VERSION}); "
                                    + NEEDS_UPGRADE)
        return
    with db.write_tx("create the results tables") as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY)))
        found = _found_version(conn, db.url)
        revisions = _revisions(conn)
        _refuse_newer(db.url, found, revisions)
        if found is None:
            _create(conn)
        elif found < SCHEMA_VERSION or revisions != (HEAD,):
            _upgrade(conn, found, revisions)


def _where(url: str) -> str:
    parsed = sa.engine.make_url(url)
    return (parsed.database or url) if parsed.get_backend_name() == "sqlite" else url


def _found_version(conn: Connection, url: str) -> int | None:
    """The ``schema_version`` of the store (``None``: an empty database); a database with our tables but no
    ``schema_version`` is someone else's."""
    insp = sa.inspect(conn)
    if insp.has_table("schema_version"):
        found = conn.execute(sa.select(schema_version.c.version)).scalar()
    else:
        ours = [t for t in TABLES if insp.has_table(t)]
        if ours:
            raise DatabaseError(f"{url} has tables {', '.join(ours)} but no schema_version: it is "
                                "not an omr results database; pass another --db")
        return None
    if found is not None and found < 1:
        raise DatabaseError(f"{url} has schema version {found} and there is no migration to "
                            f"{SCHEMA_VERSION}; re-run into a new --db")
    return found


def _revisions(conn: Connection) -> tuple[str, ...]:
    """The Alembic revision(s) the store is stamped at (none before the migrations were Alembic's)."""
    return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def _refuse_newer(url: str, found: int | None, revisions: tuple[str, ...]) -> None:
    unknown = [r for r in revisions if r not in REVISIONS]
    if (found is not None and found > SCHEMA_VERSION) or unknown:
        what = f"schema version {found}" if not unknown else f"schema version {found}, revision {unknown[0]}"
        raise DatabaseError(
            f"{url} was written by a newer omr-grader ({what}; this program knows "
            f"up to {SCHEMA_VERSION}); upgrade omr-grader (pip install -U omr-grader) or pass another --db")


def alembic_config(conn: Connection, **attributes: object) -> Config:
    """Alembic's configuration, built here (no alembic.ini): the revisions shipped in the package, run on
    ``conn``; ``attributes`` reach the revisions (``found_version``, ``target_version``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes.update(connection=conn, target_version=SCHEMA_VERSION, **attributes)
    return cfg


def _create(conn: Connection) -> None:
    """A new store: the current tables at once (faster than replaying every revision), stamped at the head."""
    metadata.create_all(conn)
    for ddl in (PG_SEARCH if conn.dialect.name == "postgresql" else SQLITE_SEARCH):
        conn.exec_driver_sql(ddl)
    conn.execute(sa.insert(schema_version).values(id=1, version=SCHEMA_VERSION, updated_at=utcnow()))
    with _ALEMBIC:
        command.stamp(alembic_config(conn), HEAD, purge=True)


def _upgrade(conn: Connection, found: int, revisions: tuple[str, ...]) -> None:
    cfg = alembic_config(conn, found_version=found)
    with _ALEMBIC:
        if revisions != (f"v{found}",):
            command.stamp(cfg, f"v{found}", purge=True)
        command.upgrade(cfg, HEAD)
