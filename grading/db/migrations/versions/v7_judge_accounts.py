"""Schema version 7: ``judges.full_name`` (shown instead of the login), ``judges.disabled_at`` (set while the
account is disabled: no login, no session) and ``judges.last_login_at``.

Revision ID: v7
Revises: v6
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v7"
down_revision = "v6"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    _add_column("judges", sa.Column("full_name", sa.Text))
    _add_column("judges", sa.Column("disabled_at", TS))
    _add_column("judges", sa.Column("last_login_at", TS))
    _set_version(7)


def _add_column(table: str, column: sa.Column) -> None:
    """``ALTER TABLE … ADD COLUMN`` unless the column is there (SQLite has no ``ADD COLUMN IF NOT EXISTS``)."""
    if column.name not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
        op.add_column(table, column)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
