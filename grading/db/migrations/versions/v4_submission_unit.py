"""Schema version 4: ``submissions.unit``, the unit that collected a file (``omr grade --unit``).

Revision ID: v4
Revises: v3
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v4"
down_revision = "v3"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    _add_column("submissions", sa.Column("unit", sa.Text))
    _set_version(4)


def _add_column(table: str, column: sa.Column) -> None:
    """``ALTER TABLE … ADD COLUMN`` unless the column is there (SQLite has no ``ADD COLUMN IF NOT EXISTS``)."""
    if column.name not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
        op.add_column(table, column)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
