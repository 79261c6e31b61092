"""Schema version 12: ``transcription_notes`` — a judge's "not a handwritten entry" on a transcription he was
given (its kind, his words, the flags it made for the organisers). He saw the pages, so he is kept from typing it
again and from scoring its essay, as a judge who typed it is.

Revision ID: v12
Revises: v11
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v12"
down_revision = "v11"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transcription_notes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transcription_id", sa.Integer, sa.ForeignKey("transcriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("flags", JSON),
        sa.Column("at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_transcription_notes_judge", "transcription_notes", ["judge_id", "transcription_id"],
                    if_not_exists=True)
    version = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(version.update().values(version=12, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
