"""Schema version 1: submissions, pages, flags, resolutions, scores, key sets, runs, audit.

Revision ID: v1
Revises: (none)

Stores made by this program start at the head at once (``grading.db.schema``); this revision exists so that the
chain starts somewhere, and so that replaying every revision on an empty database makes the current shape (a
test checks it). The tables are written out here as version 1 had them, never taken from ``grading.db.tables``.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v1"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    _bookkeeping()
    _submissions_and_pages()
    _decisions_and_scores()
    version = op.create_table(
        "schema_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),   # always 1
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.bulk_insert(version, [{"id": 1, "version": 1, "updated_at": datetime.now(timezone.utc)}])


def _bookkeeping() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS),
        sa.Column("args", JSON),
        sa.Column("counts", JSON),
        if_not_exists=True,
    )
    op.create_table(
        "keysets",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("contest", sa.Text, nullable=False),
        sa.Column("layout", sa.Text, nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("before", JSON),
        sa.Column("after", JSON),
        if_not_exists=True,
    )


def _submissions_and_pages() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("n_pages", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("first_seen", TS, nullable=False),
        sa.Column("last_run", sa.Integer, sa.ForeignKey("runs.id")),
        if_not_exists=True,
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("page_no", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("layout", sa.Text),
        sa.Column("participant", sa.String(64)),
        sa.Column("version", sa.String(16)),
        sa.Column("reading", JSON, nullable=False),
        sa.Column("read_at", TS, nullable=False),
        sa.UniqueConstraint("submission_id", "page_no", name="uq_pages_submission_page"),
        if_not_exists=True,
    )
    op.create_index("ix_pages_participant", "pages", ["participant"], if_not_exists=True)


def _decisions_and_scores() -> None:
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("key", sa.String(32)),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("fills", JSON),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("resolution", JSON),
        sa.Column("resolved_by", sa.Text),
        sa.Column("resolved_at", TS),
        if_not_exists=True,
    )
    op.create_index("ix_flags_page_state", "flags", ["page_id", "state"], if_not_exists=True)
    op.create_table(
        "resolutions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("flag_id", sa.Integer, sa.ForeignKey("flags.id")),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("key", sa.String(32)),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("who", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_resolutions_page", "resolutions", ["page_id"], if_not_exists=True)
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("participant", sa.String(64)),
        sa.Column("version", sa.String(16)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("total_float", sa.Float, nullable=False),
        sa.Column("max_total", sa.Text, nullable=False),
        sa.Column("max_float", sa.Float, nullable=False),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("sections", JSON, nullable=False),
        sa.Column("needs_review", JSON, nullable=False),
        sa.Column("key_digest", sa.String(64), sa.ForeignKey("keysets.digest"), nullable=False),
        sa.Column("computed_at", TS, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
