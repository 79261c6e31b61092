"""Schema version 2: essays (pages and boxes to read), the v2 essay_tasks, near-duplicate pairs, full-text search.

Revision ID: v2
Revises: v1

The v2 ``essay_tasks`` (one row per essay, never used) is made here as version 2 had it; revision v5 replaces it.
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "v2"
down_revision = "v1"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS essays_fts USING fts5(text, text_plain, content='essays', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_ai AFTER INSERT ON essays BEGIN "
    "INSERT INTO essays_fts(rowid, text, text_plain) VALUES (new.id, new.text, new.text_plain); END",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_ad AFTER DELETE ON essays BEGIN "
    "INSERT INTO essays_fts(essays_fts, rowid, text, text_plain) VALUES ('delete', old.id, old.text, old.text_plain);"
    " END",
    "CREATE TRIGGER IF NOT EXISTS essays_fts_au AFTER UPDATE OF text, text_plain ON essays BEGIN "
    "INSERT INTO essays_fts(essays_fts, rowid, text, text_plain) VALUES ('delete', old.id, old.text, old.text_plain);"
    " INSERT INTO essays_fts(rowid, text, text_plain) VALUES (new.id, new.text, new.text_plain); END",
)
PG_SEARCH = (
    "ALTER TABLE essays ADD COLUMN IF NOT EXISTS tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, coalesce(text, '')), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, coalesce(text_plain, '')), 'B')) STORED",
    "CREATE INDEX IF NOT EXISTS ix_essays_tsv ON essays USING GIN (tsv)",
)


def upgrade() -> None:
    _essays()
    op.create_table(
        "essay_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("essay_id", sa.Integer, sa.ForeignKey("essays.id", ondelete="CASCADE"), nullable=False, unique=True),
        sa.Column("anon_code", sa.String(16), nullable=False),
        sa.Column("question", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        if_not_exists=True,
    )
    op.create_table(
        "duplicate_pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("essay_a", sa.Integer, sa.ForeignKey("essays.id", ondelete="CASCADE"), nullable=False),
        sa.Column("essay_b", sa.Integer, sa.ForeignKey("essays.id", ondelete="CASCADE"), nullable=False),
        sa.Column("similarity", sa.Float, nullable=False),
        sa.Column("containment", sa.Float, nullable=False),
        sa.Column("passages", JSON, nullable=False),
        sa.Column("found_at", TS, nullable=False),
        sa.UniqueConstraint("essay_a", "essay_b", name="uq_duplicate_pairs"),
        sa.CheckConstraint("essay_a < essay_b", name="ck_duplicate_pairs_order"),
        if_not_exists=True,
    )
    for ddl in (PG_SEARCH if op.get_bind().dialect.name == "postgresql" else SQLITE_SEARCH):
        op.execute(ddl)
    _set_version(2)


def _essays() -> None:
    op.create_table(
        "essays",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("region_id", sa.Text),
        sa.Column("owner_page_id", sa.Integer, sa.ForeignKey("pages.id", ondelete="SET NULL")),
        sa.Column("participant", sa.String(64)),
        sa.Column("anon_code", sa.String(16), nullable=False, unique=True),
        sa.Column("ocr_state", sa.String(8), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("text_plain", sa.Text),
        sa.Column("mean_conf", sa.Float),
        sa.Column("reliable", sa.Boolean),
        sa.Column("engine", sa.Text),
        sa.Column("source", sa.String(16)),
        sa.Column("warnings", JSON),
        sa.Column("seconds", sa.Float),
        sa.Column("ocr_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("page_id", "region_id", name="uq_essays_page_region"),
        if_not_exists=True,
    )
    op.create_index("ux_essays_whole_page", "essays", ["page_id"], unique=True, if_not_exists=True,
                    sqlite_where=sa.text("kind = 'page'"), postgresql_where=sa.text("kind = 'page'"))
    op.create_index("ix_essays_state", "essays", ["ocr_state"], if_not_exists=True)
    op.create_index("ix_essays_participant", "essays", ["participant"], if_not_exists=True)
    op.create_index("ix_essays_owner", "essays", ["owner_page_id"], if_not_exists=True)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
