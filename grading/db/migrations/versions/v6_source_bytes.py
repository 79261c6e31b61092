"""Schema version 6: ``submissions.source_raw``, a file name's exact bytes when they are not UTF-8.

Revision ID: v6
Revises: v5

Also makes the indexes that programs of version 5 added to older stores without a new version number (the flag
queue, the status counts, the decisions per judge): a version 5 store may or may not have them.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v6"
down_revision = "v5"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
LATE_INDEXES = (
    ("ix_pages_progress", "pages", ["submission_id", "status", "participant", "page_no"]),
    ("ix_flags_state_id", "flags", ["state", "id"]),
    ("ix_scores_page_status", "scores", ["page_id", "status"]),
    ("ix_audit_action_who", "audit", ["action", "who", "at"]),
)


def upgrade() -> None:
    _add_column("submissions", sa.Column("source_raw", sa.LargeBinary))
    for name, table, columns in LATE_INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)
    _set_version(6)


def _add_column(table: str, column: sa.Column) -> None:
    """``ALTER TABLE … ADD COLUMN`` unless the column is there (SQLite has no ``ADD COLUMN IF NOT EXISTS``)."""
    if column.name not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
        op.add_column(table, column)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
