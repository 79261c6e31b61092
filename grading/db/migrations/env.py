"""Alembic's environment for the results store.

``grading.db.schema`` runs the revisions on the connection the store opened (``config.attributes["connection"]``),
inside its transaction: nothing here begins or commits. Run by hand (``alembic -c alembic.ini …`` with
``sqlalchemy.url`` set, e.g. to write a new revision with ``--autogenerate``), it opens its own connection.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from grading.db.tables import metadata


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite alters most columns only by copying the table (Alembic's batch mode)
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the results store's migrations run on a live database (no --sql mode)")
run_migrations_online()
