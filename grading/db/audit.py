"""The audit log: who did what, when, with the value before and after."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from .engine import Database as Store
from .tables import audit


def record(store: Store, *, who: str, action: str, target: str, before: Any = None, after: Any = None,
           at: datetime | None = None) -> None:
    """Write one audit row in its own transaction (``at``: now, UTC, unless given)."""
    with store.write_tx(f"audit {action}") as conn:
        conn.execute(audit.insert().values(at=at or datetime.now(timezone.utc), who=who, action=action, target=target,
                                           before=before, after=after))


def entries(store: Store, *, who: str | None = None, action: str | None = None, target: str | None = None,
            limit: int | None = None) -> list[dict[str, Any]]:
    """Audit rows, oldest first: all of them, or one person's, one action's, or those whose target starts with
    ``target`` (``"flag:12"``); ``limit`` keeps the newest."""
    q = sa.select(audit)
    if who:
        q = q.where(audit.c.who == who)
    if action:
        q = q.where(audit.c.action == action)
    if target:
        q = q.where(audit.c.target.startswith(target, autoescape=True))
    q = q.order_by(audit.c.id.desc())
    if limit:
        q = q.limit(limit)
    with store.read_tx("read the audit log") as conn:
        return [dict(r._mapping) for r in reversed(conn.execute(q).all())]
