"""Schema version 9: entries by e-mail — ``messages`` (one row per message: its state, reason, collecting unit and
receipt), ``message_raw`` (every message's exact bytes by SHA-256), ``entrants`` (participants made from entries),
``entries`` and ``entry_files`` (an entry's files, each the content hash of the submission it becomes).

Revision ID: v9
Revises: v8
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v9"
down_revision = "v8"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    _messages()
    _entries()
    version = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(version.update().values(version=9, updated_at=datetime.now(timezone.utc)))


def _messages() -> None:
    op.create_table(
        "messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hash", sa.String(64), nullable=False, unique=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_key", sa.Text, nullable=False),
        sa.Column("received_at", TS),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(32)),
        sa.Column("reason", sa.Text),
        sa.Column("problems", JSON),
        sa.Column("unit", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("sender", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("receipt_due", sa.Boolean, nullable=False),
        sa.Column("receipt_to", sa.Text),
        sa.Column("receipt_subject", sa.Text),
        sa.Column("receipt_body", sa.Text),
        sa.Column("receipt_sent_at", TS),
        sa.Column("ingested_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_index("ix_messages_unit_state", "messages", ["unit", "state"], if_not_exists=True)
    op.create_table(
        "message_raw",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        if_not_exists=True,
    )


def _entries() -> None:
    op.create_table(
        "entrants",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("person_key", sa.Text, nullable=False, unique=True),
        sa.Column("name", sa.Text),
        sa.Column("date_of_birth", sa.String(10)),
        sa.Column("phone", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("category", sa.String(16)),
        sa.Column("school", sa.Text),
        sa.Column("class_name", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(16), nullable=False, unique=True),
        sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entrant_id", sa.String(16), sa.ForeignKey("entrants.id")),
        sa.Column("person_key", sa.Text),
        sa.Column("unit", sa.Text),
        sa.Column("entrant_unit", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("flags", JSON, nullable=False),
        sa.Column("identity", JSON),
        sa.Column("received_at", TS),
        sa.Column("graded_at", TS),
        sa.Column("accepted_by", sa.Text),
        sa.Column("accepted_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("message_id", "seq", name="uq_entries_message_seq"),
        if_not_exists=True,
    )
    op.create_index("ix_entries_person", "entries", ["person_key"], if_not_exists=True)
    op.create_index("ix_entries_unit_state", "entries", ["unit", "state"], if_not_exists=True)
    op.create_table(
        "entry_files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("entry_id", "seq", name="uq_entry_files_seq"),
        if_not_exists=True,
    )
    op.create_index("ix_entry_files_hash", "entry_files", ["content_hash"], if_not_exists=True)


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
