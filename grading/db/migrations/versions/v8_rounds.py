"""Schema version 8: contest rounds. ``essay_tasks.rounds`` becomes ``judges_needed`` and
``essay_assignments.round`` becomes ``judge_slot`` (a contest round is something else); ``essay_tasks`` gains
``contest_round`` and ``essays_of`` (a round's own judging of a task's essays); ``participants`` gains
``date_of_birth``, ``school``, ``class_name`` and ``category``; new tables ``contest_rounds``, ``round_entries``,
``committee_flags`` and ``awards`` (a frozen copy of what this revision makes).

Revision ID: v8
Revises: v7
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v8"
down_revision = "v7"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True).with_variant(sa.dialects.postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    _rename("essay_tasks", "rounds", "judges_needed")
    _rename("essay_assignments", "round", "judge_slot")
    _add_column("essay_tasks", sa.Column("contest_round", sa.Text))
    _add_column("essay_tasks", sa.Column("essays_of", sa.Integer))
    op.create_index("ix_essay_tasks_essays_of", "essay_tasks", ["essays_of"], if_not_exists=True)
    for column in (sa.Column("date_of_birth", sa.Date), sa.Column("school", sa.Text),
                   sa.Column("class_name", sa.Text), sa.Column("category", sa.Text)):
        _add_column("participants", column)
    op.create_table(
        "contest_rounds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opened_by", sa.Text, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.Text),
        sa.Column("entries_declared", sa.Integer),
        sa.UniqueConstraint("name", "unit", name="uq_contest_rounds_name_unit"),
        if_not_exists=True,
    )
    op.create_table(
        "round_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("round_id", sa.Integer, sa.ForeignKey("contest_rounds.id", ondelete="CASCADE"), nullable=False),
        sa.Column("participant", sa.String(64), nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("mc_points", sa.Text, nullable=False),
        sa.Column("essay_score", sa.Text),
        sa.Column("score", sa.Text),
        sa.Column("score_float", sa.Float),
        sa.Column("rank", sa.Integer),
        sa.Column("advanced", sa.Boolean),
        sa.UniqueConstraint("round_id", "participant", name="uq_round_entries"),
        if_not_exists=True,
    )
    op.create_index("ix_round_entries_participant", "round_entries", ["participant"], if_not_exists=True)
    op.create_table(
        "committee_flags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("members", JSON, nullable=False),
        sa.Column("places", sa.Integer, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("decision", JSON),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("kind", "subject", name="uq_committee_flags_subject"),
        if_not_exists=True,
    )
    op.create_table(
        "awards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("band", sa.Text, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("winner", sa.Text, nullable=False),
        sa.Column("unit", sa.Text, nullable=False),
        sa.Column("total", sa.Text, nullable=False),
        sa.Column("awarded_at", TS, nullable=False),
        sa.UniqueConstraint("kind", "winner", name="uq_awards_winner"),
        if_not_exists=True,
    )
    _set_version(8)


def _columns(table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}


def _rename(table: str, old: str, new: str) -> None:
    """``ALTER TABLE … RENAME COLUMN`` (SQLite ≥ 3.25 and PostgreSQL rewrite the constraints that name it)."""
    if old in _columns(table) and new not in _columns(table):
        op.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO {new}')


def _add_column(table: str, column: sa.Column) -> None:
    if column.name not in _columns(table):
        op.add_column(table, column)


def _set_version(version: int) -> None:
    table = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(table.update().values(version=version, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
