"""Schema version 5: essay judging — one task per participant and question, assignments, the roster.

Revision ID: v5
Revises: v4

The v2 ``essay_tasks`` (one row per essay, never used: essay id, a copy of its code, its region, state always
``open`` — nothing the essays do not say) gives way to the judging tasks; its rows are counted by state and
dropped. ``essays.task_id`` is added and every essay is put in the task of its participant and question by the
program's own grouping, ``grading.db.tasks.sync_tasks``: it runs here on the version 5 shape, and reads and writes
only tables and columns of version 5 or older. One ``migrate_v5`` audit row says what was done (the schema
version the store was found at and the one it is upgraded to).
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.dialects import postgresql

from grading.db.tasks import sync_tasks

revision = "v5"
down_revision = "v4"
branch_labels = None
depends_on = None

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
TS = sa.DateTime(timezone=True)
AUDIT = sa.table("audit", sa.column("at", TS), sa.column("who", sa.Text), sa.column("action", sa.String),
                 sa.column("target", sa.Text), sa.column("before", JSON), sa.column("after", JSON))


def upgrade() -> None:
    conn = op.get_bind()
    old_tasks = _drop_v2_tasks(conn)
    _judging_tables()
    if "task_id" not in {c["name"] for c in sa.inspect(conn).get_columns("essays")}:
        op.add_column("essays", sa.Column("task_id", sa.Integer))
    op.create_index("ix_essays_task", "essays", ["task_id"], if_not_exists=True)
    now = datetime.now(timezone.utc)
    grouped = sync_tasks(conn, now)
    attributes = context.config.attributes
    conn.execute(AUDIT.insert().values(
        at=now, who="system", action="migrate_v5", target="essay_tasks",
        before={"schema": attributes.get("found_version", 4),
                "essay_tasks_v2": {str(k): int(v) for k, v in old_tasks.items()}},
        after={"schema": attributes.get("target_version", 5), "essays_grouped": grouped}))
    version = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(version.update().values(version=5, updated_at=now))


def _drop_v2_tasks(conn: sa.Connection) -> dict[str, int]:
    """The v2 tasks' count by state, and the table gone (nothing when the store has no v2 tasks table)."""
    insp = sa.inspect(conn)
    if not insp.has_table("essay_tasks") or "essay_id" not in {c["name"] for c in insp.get_columns("essay_tasks")}:
        return {}
    old = dict(conn.execute(sa.text("SELECT state, count(*) FROM essay_tasks GROUP BY state")).all())
    op.drop_table("essay_tasks")
    return old


def _judging_tables() -> None:
    """The judging tables, with the column names ``sync_tasks`` (which runs next) writes: ``judges_needed`` and
    ``judge_slot``, which version 5 to 7 called ``rounds`` and ``round`` (v8 renames them in stores made then)."""
    op.create_table(
        "essay_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_key", sa.Text, nullable=False, unique=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("participant", sa.String(64)),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id", ondelete="SET NULL")),
        sa.Column("anon_code", sa.String(16), nullable=False, unique=True),
        sa.Column("unit", sa.Text),
        sa.Column("unit_key", sa.Text),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("judges_needed", sa.Integer, nullable=False),
        sa.Column("final_score", sa.Text),
        sa.Column("final_rule", sa.String(16)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.CheckConstraint("judges_needed IN (2, 3)", name="ck_essay_tasks_rounds"),
        if_not_exists=True,
    )
    op.create_index("ix_essay_tasks_state", "essay_tasks", ["state", "id"], if_not_exists=True)
    op.create_index("ix_essay_tasks_participant", "essay_tasks", ["participant"], if_not_exists=True)
    op.create_table(
        "essay_assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("essay_tasks.id", ondelete="CASCADE"), nullable=False),
        sa.Column("judge_slot", sa.Integer, nullable=False),
        sa.Column("judge_id", sa.Integer, sa.ForeignKey("judges.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("assigned_by", sa.Text, nullable=False),
        sa.Column("points", JSON),
        sa.Column("total", sa.Text),
        sa.Column("scored_at", TS),
        sa.UniqueConstraint("task_id", "judge_slot", name="uq_essay_assignments_round"),
        sa.UniqueConstraint("task_id", "judge_id", name="uq_essay_assignments_judge"),
        sa.CheckConstraint("judge_slot BETWEEN 1 AND 3", name="ck_essay_assignments_round"),
        if_not_exists=True,
    )
    op.create_index("ix_essay_assignments_judge", "essay_assignments", ["judge_id", "state"], if_not_exists=True)
    op.create_table(
        "participants",
        sa.Column("participant", sa.String(64), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit", sa.Text),
        sa.Column("updated_at", TS, nullable=False),
        if_not_exists=True,
    )


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
