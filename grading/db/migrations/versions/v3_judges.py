"""Schema version 3: the judges' web app — accounts (scrypt password hashes) and sessions (token hashes only).

Revision ID: v3
Revises: v2
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v3"
down_revision = "v2"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "judges",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("must_change", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id", ondelete="CASCADE"), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_web_sessions_judge", "web_sessions", ["judge_id"], if_not_exists=True)
    _set_version(3)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
