"""Schema version 11: handwritten entries typed in by judges — ``transcriptions`` (one per handwritten
submission: its state, collecting unit, the fields two entries disagree on, the final values and the answers page
made from them) and ``transcription_entries`` (each judge's typed values: slots 1 and 2 independent, 3 deciding).

Revision ID: v11
Revises: v10
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v11"
down_revision = "v10"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "transcriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("unit", sa.Text),
        sa.Column("unit_key", sa.Text),
        sa.Column("differences", JSON),
        sa.Column("final", JSON),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="SET NULL")),
        sa.Column("participant", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        if_not_exists=True,
    )
    op.create_index("ix_transcriptions_state", "transcriptions", ["state", "id"], if_not_exists=True)
    op.create_table(
        "transcription_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("transcription_id", sa.Integer, sa.ForeignKey("transcriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("entered", JSON),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("submitted_at", TS),
        sa.UniqueConstraint("transcription_id", "slot", name="uq_transcription_entries_slot"),
        sa.UniqueConstraint("transcription_id", "judge_id", name="uq_transcription_entries_judge"),
        sa.CheckConstraint("slot BETWEEN 1 AND 3", name="ck_transcription_entries_slot"),
        if_not_exists=True,
    )
    op.create_index("ix_transcription_entries_judge", "transcription_entries", ["judge_id", "state"],
                    if_not_exists=True)
    version = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(version.update().values(version=11, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
