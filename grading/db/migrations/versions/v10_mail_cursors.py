"""Schema version 10: ``mail_cursors`` (per IMAP mailbox, the UIDVALIDITY and the last UID stored: a re-run
fetches only new mail) and ``messages.receipt_sending_at`` (set before a receipt is sent: with no
``receipt_sent_at`` the receipt is uncertain after a crash, and is not sent again without ``--force``).

Revision ID: v10
Revises: v9
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "v10"
down_revision = "v9"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_cursors",
        sa.Column("mailbox", sa.Text, primary_key=True),
        sa.Column("uidvalidity", sa.BigInteger, nullable=False),
        sa.Column("last_uid", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        if_not_exists=True,
    )
    if "receipt_sending_at" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("messages")}:
        op.add_column("messages", sa.Column("receipt_sending_at", TS))
    version = sa.table("schema_version", sa.column("version", sa.Integer), sa.column("updated_at", TS))
    op.execute(version.update().values(version=10, updated_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    raise NotImplementedError("a results store is never taken back to an older version; restore a copy instead")
